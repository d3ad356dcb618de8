"""The model's behavioural rules as plain numpy functions.

Each takes arrays and returns arrays; none reads a model. Shapes: N persons, P powers,
C channels, D cultural dimensions, L languages. Equations follow DESIGN.md's appendix; the
reasons and sources are in ``docs/ODD.md`` §7 (submodels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

Array = NDArray[np.floating]


def affinity(culture: Array, messages: Array) -> Array:
    """Cultural affinity f_ip = 1 - mean_d |x_id - m_pd|, in [0, 1].

    Args:
        culture: (N, D) persons' profiles in [0, 1].
        messages: (P, D) powers' messages in [0, 1].
    """
    return 1.0 - np.abs(culture[:, None, :] - messages[None, :, :]).mean(axis=2)


def stereotypes(
    susceptibility: Array,
    mean: Array,
    identity: Array,
    elite: NDArray[np.bool_],
    elite_factor: float,
) -> Array:
    """Stereotype s_ip = clip(s_p * sigma_ip * (0.5 + iota_i) * (e if elite), 0, 1).

    Stereotypes toward a power rise with national identity (the study's "fear of dominance",
    §5.3) and persist "among those who do not have an impact on national policy" (Burkhanov
    & Chen 2016, cited in §5.3): elites hold them at ``elite_factor`` of the public's level.
    ``susceptibility`` is a fixed personal factor with mean 1.
    """
    personal = (
        susceptibility * (0.5 + identity[:, None]) * np.where(elite, elite_factor, 1.0)[:, None]
    )
    return np.clip(mean[None, :] * personal, 0.0, 1.0)


def cultural_baseline(
    affinity: Array,
    stereotype: Array,
    prestige: Array,
    personal: Array,
    ties: Array,
    ties_bonus: float,
) -> Array:
    """The attraction a person relaxes to without signals: a0_ip in [0, 1].

    a0 = clip(f (1 - s) prestige_p + e_ip + ties_bonus * tie_ip): affinity scaled by the power's
    emitter strength, a personal deviation e_ip, and a raise for education ties (alumni keep
    the West from collapsing, P6).
    """
    raw = affinity * (1.0 - stereotype) * prestige[None, :] + personal + ties_bonus * ties
    return np.clip(raw, 0.0, 1.0)


def language_access(speaks: NDArray[np.bool_], availability: Array) -> Array:
    """Access acc_ip = max over languages l spoken by i of the power's availability in l.

    Args:
        speaks: (N, L) whether person i speaks language l.
        availability: (P, L) share of power p's content available in language l.
    """
    access = np.zeros((speaks.shape[0], availability.shape[0]))
    for lang in range(speaks.shape[1]):
        np.maximum(access, speaks[:, lang, None] * availability[None, :, lang], out=access)
    return access


def drive(exposure: Array, signal: Array, access: Array, gated: NDArray[np.bool_]) -> Array:
    """Signal reaching each person: sum_c E_ic S_pc (acc_ip if channel c is language-gated).

    Args:
        exposure: (N, C) engagement with each channel this month (0/1, or its chance).
        signal: (P, C) efficiency x effort x presence x (1 - screening).
        access: (N, P) language access to each power.
        gated: (C,) which channels need a shared language.
    """
    through_language = (exposure * gated) @ signal.T
    direct = (exposure * ~gated) @ signal.T
    return through_language * access + direct


def receptivity(affinity: Array, stereotype: Array, identity: Array, resistance: float) -> Array:
    """Receptivity f_ip (1 - s_ip)(1 - rho iota_i) (DESIGN.md §2, step 3)."""
    return affinity * (1.0 - stereotype) * (1.0 - resistance * identity[:, None])


def persuasion(attraction: Array, pressure: Array, rate: float) -> Array:
    """Gain alpha (1 - a) x pressure: saturates as attraction approaches 1."""
    return rate * (1.0 - attraction) * pressure


def backlash(attraction: Array, hits: Array, identity: Array, strength: float) -> Array:
    """Loss beta k_ip iota_i a_ip from hostile incidents a person heard of (study §5.2)."""
    return strength * hits * identity[:, None] * attraction


def relaxation(attraction: Array, baseline: Array, rate: float) -> Array:
    """Pull delta (a - a0) toward the cultural baseline."""
    return rate * (attraction - baseline)


@dataclass(frozen=True)
class Neighbourhood:
    """A network prepared for :func:`bounded_confidence`: built once, read every month."""

    indices: NDArray[np.intp]  # neighbour of each tie, ties grouped by person (CSR order)
    degree: NDArray[np.intp]  # ties per person
    segments: sparse.csr_array  # (N, ties) sums each person's ties

    @classmethod
    def of(cls, network: sparse.csr_array) -> Neighbourhood:
        n, ties = network.shape[0], network.indices.size
        segments = sparse.csr_array(
            (np.ones(ties), np.arange(ties), network.indptr), shape=(n, ties)
        )
        return cls(network.indices.astype(np.intp), np.diff(network.indptr), segments)


def bounded_confidence(
    attraction: Array, neighbourhood: Neighbourhood, confidence: float, rate: float
) -> Array:
    """Social influence: mu (mean of close neighbours' a - a_i), 0 where none is close.

    Neighbours j of i are close when |a_jp - a_ip| < epsilon, in the bounded-confidence
    tradition of Deffuant et al. (2000) and Hegselmann & Krause (2002). Synchronous: every
    person reads the same (last month's) attraction.
    """
    nb = neighbourhood
    diff = np.take(attraction, nb.indices, axis=0) - np.repeat(attraction, nb.degree, axis=0)
    close = np.abs(diff) < confidence
    count = nb.segments @ close.astype(attraction.dtype)
    total = nb.segments @ np.where(close, diff, 0.0)
    change = np.zeros_like(attraction)
    np.divide(total, count, out=change, where=count > 0)
    return rate * change


def project_to_simplex(values: Array) -> Array:
    """Euclidean projection of each row onto the probability simplex (exact, sort-based).

    Held, Wolfe & Crowder (1974); Duchi et al. (2008), algorithm 1.
    """
    v = np.atleast_2d(values)
    u = -np.sort(-v, axis=1)
    cumulative = np.cumsum(u, axis=1) - 1.0
    k = np.arange(1, v.shape[1] + 1)
    rho = np.count_nonzero(u - cumulative / k > 0, axis=1)
    theta = cumulative[np.arange(v.shape[0]), rho - 1] / rho
    out = np.maximum(v - theta[:, None], 0.0)
    return out.reshape(np.shape(values))


def balanced_report(scores: Array, balance_strength: float) -> Array:
    """The alignment w maximising scores . w - lambda sum w^2 on the simplex.

    Completing the square, it is the projection of scores / (2 lambda) onto the simplex:
    lambda -> 0 backs the best-scored power alone, a large lambda splits evenly.
    """
    return project_to_simplex(scores / (2.0 * balance_strength))


def bandwagon_report(scores: Array) -> Array:
    """The limit lambda -> 0 of :func:`balanced_report`: everything on the best score."""
    out = np.zeros_like(scores)
    np.put_along_axis(out, np.argmax(scores, axis=-1)[..., None], 1.0, axis=-1)
    return out


def effective_number(alignment: Array) -> float:
    """Effective number of vectors 1 / sum w^2 (Laakso & Taagepera 1979)."""
    return float(1.0 / np.sum(np.square(alignment)))


def reallocate(effort: Array, gain: Array, shift: float) -> Array:
    """Move a share of a power's effort toward channels in proportion to marginal gain.

    The total is kept; with no gain anywhere nothing moves.
    """
    total, spread = effort.sum(), gain.sum()
    if spread <= 0 or total <= 0:
        return effort.copy()
    return (1.0 - shift) * effort + shift * total * gain / spread
