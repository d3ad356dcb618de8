"""Mesa agents: the powers, the middle state (which holds the population), its officials.

Agents wire the rules of :mod:`sim.rules` to the model's live parameters; every equation is
there, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import rules
from sim.population import Population
from sim.schema import CHANNELS, DIMENSIONS, ShockEvent

if TYPE_CHECKING:
    from sim.model import MultivectorModel


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

    def emit(self) -> None:
        """Signal per channel: efficiency x effort x presence x (1 - screening)."""
        effort = self.effort
        if effort.sum() > self.params.capacity:  # a capacity cut takes effect at once
            effort *= self.params.capacity / effort.sum()
            self.effort = effort
        presence = np.array([getattr(self.params.presence, c) for c in CHANNELS])
        screening = self.model.state.screening()[self.index]
        self.unit_signal = self.params.efficiency * presence * (1.0 - screening)
        self.signal = self.unit_signal * effort

    def adapt(self) -> None:
        """Yearly: move effort toward channels that pay; raise it after losing alignment."""
        settings = self.model.params.adaptation
        gain = self.model.state.marginal_gain(self.index) * self.unit_signal
        effort = rules.reallocate(self.effort, gain, settings.shift)
        share = float(self.model.state.alignment[self.index])
        previous = self.alignment_at_last_review
        if previous is not None and share < previous:
            effort *= 1.0 + settings.growth
        self.alignment_at_last_review = share
        total = effort.sum()
        if total > self.params.capacity:
            effort *= self.params.capacity / total
        self.effort = effort


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
        self.neighbourhood = rules.Neighbourhood.of(population.network)
        self._cache: dict[str, tuple[bytes, np.ndarray]] = {}

    # --- what the state sees and controls --------------------------------------------------

    def screening(self) -> np.ndarray:
        """Screening of each power's channels (P, C): screenability x (lever + counter)."""
        state = self.model.params.state
        reach = np.array([getattr(state.screenability, c) for c in CHANNELS])
        return np.clip(reach[None, :] * (state.screening + self.counter[:, None]), 0.0, 1.0)

    def promotion(self) -> float:
        return min(1.0, self.model.params.identity.promotion + self.counter_promotion)

    def _power_arrays(self):
        powers = list(self.model.params.powers.values())
        messages = np.array([[getattr(p.message, d) for d in DIMENSIONS] for p in powers])
        languages = self.model.profile.languages
        availability = np.array(
            [[p.languages.get(lang, 0.0) for lang in languages] for p in powers]
        )
        return powers, messages, availability

    def attitudes(self):
        """Affinity, stereotype, baseline and language access for the current parameters."""
        params, pop = self.model.params, self.population
        powers, messages, availability = self._power_arrays()
        f = self._cached("affinity", messages, lambda: rules.affinity(pop.culture, messages))
        if params.mechanisms.stereotypes:
            means = np.array([p.stereotype for p in powers])
            s = rules.stereotypes(
                pop.susceptibility,
                means,
                pop.identity,
                pop.elite,
                params.population.elite_stereotype,
            )
        else:
            s = np.zeros_like(f)
        prestige = np.array([p.prestige for p in powers])
        base = rules.cultural_baseline(
            f, s, prestige, pop.personal, pop.ties, params.persuasion.ties_bonus
        )
        access = self._cached(
            "access", availability, lambda: rules.language_access(pop.speaks, availability)
        )
        return f, s, base, access

    def _cached(self, name: str, key: np.ndarray, compute) -> np.ndarray:
        """Recompute ``name`` only when the parameters it depends on (``key``) changed."""
        stamp = key.tobytes()
        if name not in self._cache or self._cache[name][0] != stamp:
            self._cache[name] = (stamp, compute())
        return self._cache[name][1]

    def pressure(self, f, s, access, exposure) -> np.ndarray:
        """Persuasive pressure (N, P): drive x receptivity."""
        params, pop = self.model.params, self.population
        signals = np.array([p.signal for p in self.model.power_agents])
        resistance = params.persuasion.identity_resistance if params.mechanisms.identity else 0.0
        return rules.drive(exposure, signals, access, self.gated) * rules.receptivity(
            f, s, pop.identity, resistance
        )

    def marginal_gain(self, index: int) -> np.ndarray:
        """Mean over persons of engagement x access x receptivity x (1 - a), per channel."""
        pop = self.population
        f, s, _, access = self.attitudes()
        params = self.model.params
        resistance = params.persuasion.identity_resistance if params.mechanisms.identity else 0.0
        room = rules.receptivity(f, s, pop.identity, resistance)[:, index] * (
            1.0 - pop.attraction[:, index]
        )
        reach = np.where(self.gated[None, :], access[:, index, None], 1.0) * pop.engagement
        return (reach * room[:, None]).mean(axis=0)

    # --- the month's steps -----------------------------------------------------------------

    def initialise_attraction(self) -> None:
        """Start every person at the equilibrium of the start month's expected forces."""
        params, pop = self.model.params, self.population
        f, s, base, access = self.attitudes()
        gain = params.persuasion.rate * self.pressure(f, s, access, pop.engagement)
        loss = params.persuasion.relaxation + self._expected_backlash()
        pop.attraction = np.clip(
            (gain + params.persuasion.relaxation * base) / np.maximum(gain + loss, 1e-12), 0, 1
        )

    def _expected_backlash(self) -> np.ndarray:
        params = self.model.params
        if not params.mechanisms.backlash:
            return np.zeros(len(params.powers))
        rate = np.array([p.hostility for p in params.powers.values()]) / 12.0
        return (
            params.backlash.strength
            * params.backlash.reach
            * rate[None, :]
            * (self.population.identity[:, None])
        )

    def update_population(self) -> None:
        """Step 3 of DESIGN.md §2: persuasion, backlash, relaxation, social influence."""
        params, pop, mech = self.model.params, self.population, self.model.params.mechanisms
        f, s, base, access = self.attitudes()
        exposure = pop.engagement
        if mech.stochastic_exposure:
            rng = self.model.streams["exposure"]
            exposure = (rng.random(pop.engagement.shape) < pop.engagement).astype(np.float32)
        a = pop.attraction
        change = rules.persuasion(a, self.pressure(f, s, access, exposure), params.persuasion.rate)
        change -= rules.relaxation(a, base, params.persuasion.relaxation)
        if mech.backlash:
            change -= rules.backlash(a, self._hits(), pop.identity, params.backlash.strength)
        if mech.social_influence:
            change += rules.bounded_confidence(
                a, self.neighbourhood, params.social.confidence, params.social.rate
            )
        pop.attraction = np.clip(a + change, 0.0, 1.0)
        if mech.identity:
            ident = params.identity
            gain = ident.response * self.promotion() * (1.0 - pop.identity)
            loss = ident.decay * (pop.identity - pop.identity_baseline)
            pop.identity = np.clip(pop.identity + gain - loss, 0.0, 1.0)

    def _hits(self) -> np.ndarray:
        """Hostile incidents each person heard of this month (N, P)."""
        params, n = self.model.params, self.population.size
        rate = np.array([p.hostility for p in params.powers.values()]) / 12.0
        reach = params.backlash.reach
        if not params.mechanisms.stochastic_exposure:
            return np.broadcast_to(rate * reach, (n, rate.size))
        rng = self.model.streams["incidents"]
        incidents = rng.poisson(rate)
        hits = np.zeros((n, rate.size))
        for p in np.flatnonzero(incidents):
            hits[:, p] = rng.binomial(incidents[p], reach, n)
        return hits

    def assess(self) -> None:
        """The part of every official's score that all officials share (DESIGN.md appendix)."""
        params, pop = self.model.params, self.population
        w = params.officials
        powers = list(params.powers.values())
        public = pop.attraction.mean(axis=0)
        elite = _group_mean(pop.attraction, pop.elite, public)
        advocacy = _group_mean(pop.attraction, pop.ngo, public)
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


def _group_mean(values: np.ndarray, members: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    return values[members].mean(axis=0) if members.any() else fallback
