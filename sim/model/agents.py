"""Mesa agents: the powers, the middle state (which holds the population), its officials.

Agents wire the rules of :mod:`sim.model.rules` to the model's live parameters; every equation is
there, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.inputs.schema import CHANNELS, DIMENSIONS, ShockEvent
from sim.model import measures, rules
from sim.model.population import Population

if TYPE_CHECKING:
    from sim.model.model import MultivectorModel


class Power(mesa.Agent):
    """A great or regional power; its parameters live in ``model.params.powers[name]``."""

    model: MultivectorModel

    def __init__(self, model: MultivectorModel, name: str, index: int):
        super().__init__(model)
        self.name = name
        self.index = index
        self.unit_signal = np.zeros(len(CHANNELS))  # signal per unit of effort
        self.signal = np.zeros(len(CHANNELS))
        self.alignment_at_last_review: float | None = None

    @property
    def params(self):
        return self.model.params.powers[self.name]

    @property
    def effort(self) -> np.ndarray:
        return np.array([getattr(self.params.effort, c) for c in CHANNELS])

    @effort.setter
    def effort(self, values: np.ndarray) -> None:
        for channel, value in zip(CHANNELS, values, strict=True):
            setattr(self.params.effort, channel, float(value))

    def free_channels(self) -> np.ndarray:
        """Channels the power may change itself: all but those a scenario ramp holds now."""
        held = self.model.events.held(self.model.month)
        return np.array([f"powers.{self.name}.effort.{c}" not in held for c in CHANNELS])

    def fit_capacity(self, effort: np.ndarray) -> np.ndarray:
        """Scale effort down to capacity, taking it from the free channels first."""
        capacity, free = self.params.capacity, self.free_channels()
        if effort.sum() <= capacity:
            return effort
        room = capacity - effort[~free].sum()
        if room <= 0 or not free.any():  # held channels alone exceed capacity
            return effort * capacity / effort.sum()
        fitted = effort.copy()
        fitted[free] *= room / effort[free].sum()
        return fitted

    def emit(self) -> None:
        """Signal per channel: efficiency x effort x presence x (1 - screening)."""
        effort = self.fit_capacity(self.effort)  # a capacity cut takes effect at once
        self.effort = effort
        presence = np.array([getattr(self.params.presence, c) for c in CHANNELS])
        screening = self.model.state.screening()[self.index]
        self.unit_signal = self.params.efficiency * presence * (1.0 - screening)
        self.signal = self.unit_signal * effort

    def adapt(self) -> None:
        """Yearly: move effort toward channels that pay; raise it after losing alignment.

        Only free channels move: a channel a scenario ramp holds is the scenario's statement.
        """
        settings, free = self.model.params.adaptation, self.free_channels()
        gain = self.model.state.marginal_gains()[self.index] * self.unit_signal
        effort = self.effort
        effort[free] = rules.reallocate(effort[free], gain[free], settings.shift)
        share = float(self.model.state.alignment[self.index])
        previous = self.alignment_at_last_review
        if previous is not None and share < previous:
            effort[free] *= 1.0 + settings.growth
        self.alignment_at_last_review = share
        self.effort = self.fit_capacity(effort)


class Official(mesa.Agent):
    """A middle-level official who writes a report recommending an alignment (study §5.5)."""

    model: MultivectorModel

    def __init__(self, model: MultivectorModel, bias: np.ndarray):
        super().__init__(model)
        self.bias = bias
        self.report = np.full(bias.shape, 1.0 / bias.size)

    @staticmethod
    def write_reports(officials: list[Official]) -> None:
        """Each official scores each power, then balances: w = argmax u.w - lambda |w|^2.

        Scores are the state's shared assessment plus the official's bias and monthly noise;
        computed for all officials at once (one projection per row).
        """
        model = officials[0].model
        params = model.params
        biases = np.array([o.bias for o in officials])
        noise = model.streams["officials"].normal(0.0, params.officials.noise, biases.shape)
        scores = model.state.assessment[None, :] + biases + noise
        if params.mechanisms.balancing:
            reports = rules.balanced_report(scores, params.state.balance_strength)
        else:
            reports = rules.bandwagon_report(scores)
        for official, report in zip(officials, reports, strict=True):
            official.report = report


class MiddleState(mesa.Agent):
    """The middle state: its population, its alignment policy and its counter-measures."""

    model: MultivectorModel

    def __init__(self, model: MultivectorModel, name: str, population: Population):
        super().__init__(model)
        self.name = name
        self.population = population
        n_powers = len(model.params.powers)
        self.alignment = np.full(n_powers, 1.0 / n_powers)
        self.counter = np.zeros(n_powers)  # counter-measures against each power
        self.counter_promotion = 0.0
        self.assessment = np.zeros(n_powers)
        self.gated = np.array([model.profile.language_gated[c] for c in CHANNELS])
        self._cache: dict[str, tuple[bytes, np.ndarray]] = {}
        self._gains: tuple[int | None, np.ndarray] = (None, np.empty(0))

    # --- what the state sees and controls --------------------------------------------------

    def screening(self) -> np.ndarray:
        """Screening of each power's channels (P, C): screenability x (lever + counter)."""
        state = self.model.params.state
        reach = np.array([getattr(state.screenability, c) for c in CHANNELS])
        return np.clip(reach[None, :] * (state.screening + self.counter[:, None]), 0.0, 1.0)

    def promotion(self) -> float:
        return min(1.0, self.model.params.identity.promotion + self.counter_promotion)

    def _per_power(self, name: str) -> np.ndarray:
        return np.array([getattr(p, name) for p in self.model.params.powers.values()])

    def _affinity_and_access(self) -> tuple[np.ndarray, np.ndarray]:
        """Affinity and language access, recomputed only when messages or languages change."""
        pop, powers = self.population, self.model.params.powers.values()
        messages = np.array([[getattr(p.message, d) for d in DIMENSIONS] for p in powers])
        languages = self.model.profile.languages
        availability = np.array(
            [[p.languages.get(lang, 0.0) for lang in languages] for p in powers]
        )
        f = self._cached(
            "affinity",
            messages,
            lambda: rules.affinity(pop.culture, messages).astype(np.float32),
        )
        access = self._cached(
            "access",
            availability,
            lambda: rules.language_access(pop.speaks, availability).astype(np.float32),
        )
        return f, access

    def _cached(self, name: str, key: np.ndarray, compute) -> np.ndarray:
        """Recompute ``name`` only when the parameters it depends on (``key``) changed."""
        stamp = key.tobytes()
        if name not in self._cache or self._cache[name][0] != stamp:
            self._cache[name] = (stamp, compute())
        return self._cache[name][1]

    def rates(self) -> rules.Rates:
        """This month's scalar parameters of the attraction update, switches applied."""
        params, mech = self.model.params, self.model.params.mechanisms
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

    def attitudes(self, rows: slice = slice(None)):
        """Affinity, stereotype, baseline, receptivity and language access (N, P) each, for
        the persons in ``rows`` (callers go chunk by chunk to bound memory)."""
        pop, rates = self.population, self.rates()
        f, access = (x[rows] for x in self._affinity_and_access())
        identity = pop.identity[rows, None]
        means = self._per_power("stereotype") * self.model.params.mechanisms.stereotypes
        elite_factor = np.where(pop.elite[rows], rates.elite_stereotype, 1.0)[:, None]
        s = rules.stereotype(pop.susceptibility[rows], means, identity, elite_factor)
        base = rules.cultural_baseline(
            f, s, self._per_power("prestige"), pop.personal[rows], pop.ties[rows], rates.ties_bonus
        )
        rec = rules.receptivity(f, s, identity, rates.resistance)
        return f, s, base, rec, access

    def signals(self) -> np.ndarray:
        return np.array([p.signal for p in self.model.power_agents])

    def marginal_gains(self) -> np.ndarray:
        """Per power and channel (P, C): mean over persons of engagement x access x
        receptivity x (1 - a), the gain one more unit of signal would bring this month."""
        if self._gains[0] != self.model.month:
            pop, powers = self.population, len(self.model.powers)
            total = np.zeros((powers, self.gated.size))
            for rows in _chunks(pop.size):
                _, _, _, rec, access = self.attitudes(rows)
                room = rec * (1.0 - pop.attraction[rows])
                for p in range(powers):
                    reach = np.where(self.gated, access[:, p, None], 1.0) * pop.engagement[rows]
                    total[p] += room[:, p] @ reach
            self._gains = (self.model.month, total / pop.size)
        return self._gains[1]

    # --- the month's steps -----------------------------------------------------------------

    def initialise_attraction(self) -> None:
        """Start every person at the equilibrium of the start month's expected forces:
        a* = (alpha D + delta a0) / (alpha D + delta + expected backlash)."""
        params, pop = self.model.params, self.population
        signals = self.signals()
        pop.attraction = np.empty((pop.size, len(self.model.powers)))
        for rows in _chunks(pop.size):
            _, _, base, rec, access = self.attitudes(rows)
            pressure = rules.drive(pop.engagement[rows], signals, access, self.gated) * rec
            gain = params.persuasion.rate * pressure
            loss = params.persuasion.relaxation + self._expected_backlash(rows)
            pop.attraction[rows] = np.clip(
                (gain + params.persuasion.relaxation * base) / np.maximum(gain + loss, 1e-12), 0, 1
            )

    def _expected_backlash(self, rows: slice) -> np.ndarray:
        params = self.model.params
        if not params.mechanisms.backlash:
            return np.zeros(len(params.powers))
        rate = self._per_power("hostility") / 12.0
        return (
            params.backlash.strength
            * params.backlash.reach
            * rate[None, :]
            * (self.population.identity[rows, None])
        )

    def update_population(self) -> None:
        """Step 3 of DESIGN.md §2: persuasion, backlash, relaxation, social influence."""
        params, pop = self.model.params, self.population
        mech = params.mechanisms
        f, access = self._affinity_and_access()
        exposure = pop.engagement
        if mech.stochastic_exposure:
            exposure = self.model.streams["exposure"].random(exposure.shape, dtype=np.float32)
            exposure[...] = exposure < pop.engagement  # 1 where engaged this month, else 0
        net = pop.network
        pop.attraction = rules.monthly_attraction(
            pop.attraction,
            pop.identity,
            f,
            pop.susceptibility,
            pop.elite,
            self._per_power("stereotype") * mech.stereotypes,
            self._per_power("prestige"),
            pop.personal,
            pop.ties,
            rules.drive(exposure, self.signals(), access, self.gated),
            self._hits(),
            net.indptr,
            net.indices,
            self.rates(),
        )
        if mech.identity:
            ident = params.identity
            gain = ident.response * self.promotion() * (1.0 - pop.identity)
            loss = ident.decay * (pop.identity - pop.identity_baseline)
            pop.identity = np.clip(pop.identity + gain - loss, 0.0, 1.0)

    def _hits(self) -> np.ndarray:
        """Hostile incidents each person heard of this month (N, P)."""
        params, n = self.model.params, self.population.size
        rate = self._per_power("hostility") / 12.0
        reach = params.backlash.reach
        if not params.mechanisms.stochastic_exposure:
            return np.broadcast_to(rate * reach, (n, rate.size))
        incidents = self.model.streams["incidents"].poisson(rate)
        if not incidents.any():
            return np.broadcast_to(0.0, (n, rate.size))  # no memory for a quiet month
        hits = np.zeros((n, rate.size), np.float32)
        for p in np.flatnonzero(incidents):
            hits[:, p] = self.model.streams["incidents"].binomial(incidents[p], reach, n)
        return hits

    def assess(self) -> None:
        """The part of every official's score that all officials share (DESIGN.md appendix)."""
        params, pop = self.model.params, self.population
        w = params.officials
        powers = list(params.powers.values())
        public = measures.column_mean(pop.attraction)
        elite = measures.column_mean(pop.attraction, pop.elite) if pop.elite.any() else public
        advocacy = measures.column_mean(pop.attraction, pop.ngo) if pop.ngo.any() else public
        grants_screened = self.screening()[:, CHANNELS.index("grants")]
        self.assessment = (
            w.offer_weight * np.array([p.offers for p in powers])
            + w.leverage_weight * np.array([p.leverage for p in powers])
            + w.public_weight * (public - public.mean())
            + w.elite_weight * (elite - elite.mean())
            + w.advocacy_weight * (advocacy - advocacy.mean()) * (1.0 - grants_screened)
        )

    def set_policy(self, reports: np.ndarray, *, move: bool = True) -> None:
        """Step 5: alignment moves toward the mean report; counter-measures answer dominance."""
        params = self.model.params
        target = reports.mean(axis=0)
        speed = params.state.policy_speed if move else 1.0
        self.alignment = (1.0 - speed) * self.alignment + speed * target
        if not (params.mechanisms.counter_measures and move):
            return
        rise, fall = params.state.counter_rate, params.state.counter_decay
        dominant = self.alignment > params.state.dominance_threshold
        self.counter = np.clip(np.where(dominant, self.counter + rise, self.counter - fall), 0, 1)
        step = rise if dominant.any() else -fall
        self.counter_promotion = min(1.0, max(0.0, self.counter_promotion + step))

    def shock(self, event: ShockEvent) -> None:
        """A one-off change of chosen persons' attraction to a power."""
        pop = self.population
        chosen = np.ones(pop.size, bool)
        for dim in ("ethnicity", "language", "age", "area", "region"):
            values = getattr(event.groups, dim)
            if values:
                codes = [pop.labels[dim].index(v) for v in values]
                chosen &= np.isin(pop.codes(dim), codes)
        if event.groups.elite is not None:
            chosen &= pop.elite == event.groups.elite
        chosen &= self.model.streams["shocks"].random(pop.size) < event.reach
        p = list(self.model.params.powers).index(event.power)
        pop.attraction[chosen, p] = np.clip(pop.attraction[chosen, p] + event.delta, 0.0, 1.0)


CHUNK = 8192
"""Persons per chunk where whole-population temporaries would cost memory per person."""


def _chunks(n: int):
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))
