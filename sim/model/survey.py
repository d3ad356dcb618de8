"""Survey instruments: what a person with a given attraction answers to a poll's question.

Attraction is the model's latent attitude in [0, 1]; a poll never sees it. Each instrument
maps it to the answers a questionnaire offers, with a probabilistic response model: a person
whose attitude sits near a cut-off answers either way (the logistic answer function of
random-utility models, McFadden 1974), so the model reports the expected share of each
answer, with no random draw. Reasons and sources: docs/ODD.md, "Survey instruments".

Every function takes numpy arrays and returns shares; none reads the model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

CHANGE_ANSWERS = ("worse", "unchanged", "better")
"""The answers to "has your attitude toward <power> changed?" (between two dates)."""


def answer_yes(latent: Array, cut: float, spread: float) -> Array:
    """Chance of answering yes when the latent attitude is ``latent``: a logistic in
    (latent - cut) / spread (a hard cut-off as ``spread`` tends to 0)."""
    if spread <= 1e-9:  # no answer noise to speak of: a hard cut-off
        return (np.asarray(latent) > cut).astype(np.float64)
    z = np.clip((np.asarray(latent, np.float64) - cut) / spread, -60.0, 60.0)
    return 1.0 / (1.0 + np.exp(-z))


def favourable(attraction: Array, cut: float, spread: float) -> Array:
    """Chance of a "favourable" view of a power (very or somewhat favourable)."""
    return answer_yes(attraction, cut, spread)


def approval(attraction: Array, cut: float, spread: float) -> Array:
    """Chance of approving of a power's leadership: a higher bar than a favourable view of
    the country (Gallup's approval shares sit below favourable shares)."""
    return answer_yes(attraction, cut, spread)


def three_way(difference: Array, tolerance: float, spread: float) -> Array:
    """Chances of (negative, neither, positive) answers to a difference: negative when it is
    below ``-tolerance``, positive above ``tolerance``, neither in between. Shape (..., 3);
    the three sum to 1."""
    negative = answer_yes(-np.asarray(difference), tolerance, spread)
    positive = answer_yes(difference, tolerance, spread)
    both = negative + positive
    excess = np.maximum(both - 1.0, 0.0)  # only when tolerance < spread: split the overlap
    negative, positive = negative - excess / 2, positive - excess / 2
    return np.stack([negative, 1.0 - negative - positive, positive], axis=-1)


def change(before: Array, after: Array, tolerance: float, spread: float) -> Array:
    """Chances of answering worse / unchanged / better (:data:`CHANGE_ANSWERS`) when the
    attitude moved from ``before`` to ``after``: a respondent notices a change once it
    exceeds ``tolerance``."""
    return three_way(np.asarray(after) - np.asarray(before), tolerance, spread)


def sympathy(side: Array, other: Array, tolerance: float, spread: float) -> Array:
    """Chances of siding with ``other`` / neither / ``side`` in a conflict between two powers:
    with the one preferred by more than ``tolerance``, else neither."""
    return three_way(np.asarray(side) - np.asarray(other), tolerance, spread)
