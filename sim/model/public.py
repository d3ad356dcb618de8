"""The middle state's public: its persons (arrays) and the attitude terms derived from them.

The public is not a Mesa agent: it is N synthetic persons held as numpy arrays
(:class:`~sim.model.population.Persons`), with the terms of the attraction update that change
only when the powers' messages or languages change (affinity, language access) cached here.
Every equation is a rule of :mod:`sim.model.rules`; this class wires them to the arrays.
Shapes: N persons, P powers, C channels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.inputs.schema import DIMENSIONS, GROUP_DIMENSIONS, GroupFilter, Parameters
from sim.model import rules
from sim.model.population import Persons

CHUNK = 8192
"""Persons per chunk where whole-population temporaries would cost memory per person."""


def chunks(n: int):
    """Slices of at most :data:`CHUNK` persons covering ``range(n)``."""
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))


class Attitudes(NamedTuple):
    """The terms of the attraction update for some persons, (rows, P) each."""

    affinity: np.ndarray
    stereotype: np.ndarray
    baseline: np.ndarray
    receptivity: np.ndarray
    access: np.ndarray


class Public:
    """The persons of the middle state and their attitudes toward the powers.

    Args:
        persons: the synthetic persons.
        languages: the country profile's language codes (columns of ``persons.speaks``).
        gated: (C,) which channels need a shared language (the profile's ``language_gated``).
    """

    def __init__(self, persons: Persons, languages: list[str], gated: np.ndarray):
        self.persons = persons
        self.languages = languages
        self.gated = gated
        self._cache: dict[str, tuple[bytes, np.ndarray]] = {}

    @property
    def size(self) -> int:
        return self.persons.size

    # --- terms of the update --------------------------------------------------------------

    def affinity_and_access(self, params: Parameters) -> tuple[np.ndarray, np.ndarray]:
        """Affinity and language access (N, P), recomputed only when the powers' messages or
        languages changed since the last call."""
        persons, powers = self.persons, params.powers.values()
        messages = np.array([[getattr(p.message, d) for d in DIMENSIONS] for p in powers])
        availability = np.array(
            [[p.languages.get(lang, 0.0) for lang in self.languages] for p in powers]
        )
        f = self._cached(
            "affinity",
            messages,
            lambda: rules.affinity(persons.culture, messages).astype(np.float32),
        )
        access = self._cached(
            "access",
            availability,
            lambda: rules.language_access(persons.speaks, availability).astype(np.float32),
        )
        return f, access

    def _cached(self, name: str, key: np.ndarray, compute) -> np.ndarray:
        stamp = key.tobytes()
        if name not in self._cache or self._cache[name][0] != stamp:
            self._cache[name] = (stamp, compute())
        return self._cache[name][1]

    def attitudes(self, params: Parameters, rows: slice = slice(None)) -> Attitudes:
        """Affinity, stereotype, baseline, receptivity and language access of the persons in
        ``rows`` (callers go chunk by chunk to bound memory)."""
        persons, rates = self.persons, update_rates(params)
        f, access = (x[rows] for x in self.affinity_and_access(params))
        identity = persons.identity[rows, None]
        means = per_power(params, "stereotype") * params.mechanisms.stereotypes
        elite_factor = np.where(persons.elite[rows], rates.elite_stereotype, 1.0)[:, None]
        s = rules.stereotype(persons.susceptibility[rows], means, identity, elite_factor)
        base = rules.cultural_baseline(
            f,
            s,
            per_power(params, "prestige"),
            persons.personal[rows],
            persons.ties[rows],
            rates.ties_bonus,
        )
        rec = rules.receptivity(f, s, identity, rates.resistance)
        return Attitudes(f, s, base, rec, access)

    def marginal_gains(self, params: Parameters) -> np.ndarray:
        """Per power and channel (P, C): the mean over persons of what one more unit of
        signal would bring this month (:func:`sim.model.rules.marginal_gain`)."""
        persons = self.persons
        total = np.zeros((len(params.powers), self.gated.size))
        for rows in chunks(persons.size):
            terms = self.attitudes(params, rows)
            total += rules.marginal_gain(
                terms.receptivity,
                persons.attraction[rows],
                terms.access,
                persons.engagement[rows],
                self.gated,
            )
        return total / persons.size

    def heard_shares(self, params: Parameters, signals: np.ndarray) -> np.ndarray:
        """Share of each channel's foreign signal that comes from each power (P, C)."""
        _, access = self.affinity_and_access(params)
        return rules.heard_shares(access, self.persons.engagement, signals, self.gated)

    # --- the month's changes ----------------------------------------------------------------

    def settle(self, params: Parameters, signals: np.ndarray) -> None:
        """Start every person at the equilibrium of the start month's expected forces
        (:func:`sim.model.rules.equilibrium_attraction`)."""
        persons = self.persons
        persons.attraction = np.empty((persons.size, len(params.powers)))
        hostility = per_power(params, "hostility") / 12.0
        for rows in chunks(persons.size):
            terms = self.attitudes(params, rows)
            pressure = (
                rules.drive(persons.engagement[rows], signals, terms.access, self.gated)
                * terms.receptivity
            )
            if params.mechanisms.backlash:
                backlash = rules.expected_backlash(
                    persons.identity[rows],
                    hostility,
                    params.backlash.strength,
                    params.backlash.reach,
                )
            else:
                backlash = np.zeros(len(params.powers))
            persons.attraction[rows] = rules.equilibrium_attraction(
                pressure,
                terms.baseline,
                params.persuasion.rate,
                params.persuasion.relaxation,
                backlash,
            )

    def update(
        self,
        params: Parameters,
        signals: np.ndarray,
        promotion: float,
        exposure_rng: np.random.Generator,
        incidents_rng: np.random.Generator,
    ) -> None:
        """One month of attraction (persuasion, backlash, relaxation, social influence, in
        one compiled pass) and identity (step 3 of the schedule)."""
        persons, mech = self.persons, params.mechanisms
        f, access = self.affinity_and_access(params)
        exposure = persons.engagement
        if mech.stochastic_exposure:
            exposure = exposure_rng.random(exposure.shape, dtype=np.float32)
            exposure[...] = exposure < persons.engagement  # 1 where engaged this month
        network = persons.network
        persons.attraction = rules.monthly_attraction(
            persons.attraction,
            persons.identity,
            f,
            persons.susceptibility,
            persons.elite,
            per_power(params, "stereotype") * mech.stereotypes,
            per_power(params, "prestige"),
            persons.personal,
            persons.ties,
            rules.drive(exposure, signals, access, self.gated),
            self._hits(params, incidents_rng),
            network.indptr,
            network.indices,
            update_rates(params),
        )
        if mech.identity:
            persons.identity = rules.identity_update(
                persons.identity,
                persons.identity_baseline,
                promotion,
                params.identity.response,
                params.identity.decay,
            )

    def _hits(self, params: Parameters, rng: np.random.Generator) -> np.ndarray:
        """Hostile incidents each person heard of this month (N, P): Poisson counts per
        power, each heard with chance ``backlash.reach`` (expected values when exposure is
        not stochastic)."""
        n = self.persons.size
        rate = per_power(params, "hostility") / 12.0
        reach = params.backlash.reach
        if not params.mechanisms.stochastic_exposure:
            return np.broadcast_to(rate * reach, (n, rate.size))
        incidents = rng.poisson(rate)
        if not incidents.any():
            return np.broadcast_to(0.0, (n, rate.size))  # no memory for a quiet month
        hits = np.zeros((n, rate.size), np.float32)
        for p in np.flatnonzero(incidents):
            hits[:, p] = rng.binomial(incidents[p], reach, n)
        return hits

    def members(self, groups: GroupFilter) -> np.ndarray:
        """Flags of the persons a group filter selects (everyone for an empty filter)."""
        persons = self.persons
        chosen = np.ones(persons.size, bool)
        for dim in GROUP_DIMENSIONS:
            values = getattr(groups, dim)
            if values:
                codes = [persons.labels[dim].index(v) for v in values]
                chosen &= np.isin(persons.codes(dim), codes)
        if groups.elite is not None:
            chosen &= persons.elite == groups.elite
        return chosen

    def shock(self, power: int, delta: float, chosen: np.ndarray) -> None:
        """A one-off change of the chosen persons' attraction to one power."""
        attraction = self.persons.attraction
        attraction[chosen, power] = rules.shock(attraction[chosen, power], delta)


def per_power(params: Parameters, name: str) -> np.ndarray:
    """A scalar parameter of every power, in the scenario's order (P,)."""
    return np.array([getattr(p, name) for p in params.powers.values()])


def update_rates(params: Parameters) -> rules.Rates:
    """This month's scalar parameters of the attraction update, switches applied."""
    mech = params.mechanisms
    return rules.Rates(
        persuasion=params.persuasion.rate,
        relaxation=params.persuasion.relaxation,
        resistance=params.persuasion.identity_resistance if mech.identity else 0.0,
        elite_stereotype=params.population.elite_stereotype,
        ties_bonus=params.persuasion.ties_bonus,
        backlash=params.backlash.strength if mech.backlash else 0.0,
        social=params.social.rate if mech.social_influence else 0.0,
        confidence=params.social.confidence,
    )
