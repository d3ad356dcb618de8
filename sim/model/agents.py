"""Mesa agents: the powers, the middle state's policy, and its officials.

Agents wire the rules of :mod:`sim.model.rules` to the model's live parameters and their own
state; every equation is there, not here. The population is not an agent: it is arrays in
:class:`sim.model.public.Public`.
"""

from __future__ import annotations

import functools
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from sim.inputs.schema import CHANNELS
from sim.model import rules
from sim.model.deferred import mesa  # Mesa, its unused parts imported on first use

if TYPE_CHECKING:
    from sim.inputs.schema import PowerSettings
    from sim.model.model import MultivectorModel

_per_channel = attrgetter(*CHANNELS)
GRANTS = CHANNELS.index("grants")
_NO_FLOORS = np.empty(0)
_NO_FLOORS.flags.writeable = False  # as the floors kept (:func:`_security_floors`)


@functools.cache
def plain_assignment(table: type[BaseModel]) -> bool:
    """Whether pydantic sets a field of ``table`` (a class of channel table) by storing the
    value and marking it set: no validation on assignment, neither the class nor a field
    frozen. The emission's cut to capacity then writes a power's channels in one update (it
    writes several every month while a scenario's ramps push)."""
    config = table.model_config
    if config.get("validate_assignment") or config.get("frozen"):
        return False
    return not any(field.frozen for field in table.model_fields.values())


def per_channel(values) -> np.ndarray:
    """A parameter group with one field per channel (effort, presence, screenability) as an
    array in :data:`~sim.inputs.schema.CHANNELS` order (C,)."""
    return np.array(_per_channel(values), dtype=np.float64)


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
        self._free: tuple[frozenset[str] | None, np.ndarray] = (None, np.ones(0, bool))

    @property
    def settings(self) -> PowerSettings:
        """This power's live parameters (events and adaptation change them)."""
        return self.model.params.powers[self.name]

    @property
    def effort(self) -> np.ndarray:
        return per_channel(self.settings.effort)

    @effort.setter
    def effort(self, values: np.ndarray) -> None:
        effort = self.settings.effort
        changed = {  # a pydantic field is costly to set: only those that change
            channel: value
            for channel, old, value in zip(
                CHANNELS, _per_channel(effort), np.asarray(values, float).tolist(), strict=True
            )
            if value != old
        }
        if not changed:
            return
        if plain_assignment(type(effort)):  # what pydantic's setattr does, at once
            effort.__dict__.update(changed)
            effort.__pydantic_fields_set__.update(changed)
        else:
            for channel, value in changed.items():
                setattr(effort, channel, value)

    def free_channels(self, held: frozenset[str] | None = None) -> np.ndarray:
        """Channels the power may change itself: all but those a scenario ramp holds now
        (or but the paths ``held``)."""
        if held is None:
            held = self.model.events.held(self.model.month)
        if self._free[0] != held:  # the same paths month after month, mostly
            free = np.array([f"powers.{self.name}.effort.{c}" not in held for c in CHANNELS])
            self._free = (held, free)
        return self._free[1].copy()

    def emit(self, screening: np.ndarray | None = None) -> None:
        """Signal per channel: efficiency x effort x presence x (1 - screening) (every power
        at once: :func:`emit`).

        Args:
            screening: the state's screening of every power's channels (P, C), if the
                caller has it for the month (:meth:`MiddleState.screening`).
        """
        emit([self], screening)

    def adapt(self, gains: np.ndarray) -> None:
        """Yearly: move effort toward channels that pay; raise it after losing alignment.

        Args:
            gains: (P, C) what one more unit of signal is worth, per power and channel
                (:meth:`sim.model.model.MultivectorModel.channel_values`).

        Only free channels move: a channel a scenario ramp holds is the scenario's statement.
        """
        settings, free = self.model.params.adaptation, self.free_channels()
        gain = gains[self.index] * self.unit_signal
        effort = self.effort
        effort[free] = rules.reallocate(effort[free], gain[free], settings.shift)
        share = float(self.model.state.alignment[self.index])
        previous = self.alignment_at_last_review
        if previous is not None and share < previous:
            effort[free] *= 1.0 + settings.growth
        self.alignment_at_last_review = share
        self.effort = rules.fit_capacity(effort, self.settings.capacity, free)

    def start_at_rest(self, values: np.ndarray, alumni: np.ndarray) -> None:
        """Before the first month: split the effort of the channels no event of the first
        month states as the yearly reallocation would leave it (effort in proportion to each
        channel's gain, the total kept), so that the run does not open with a re-allocation
        from the scenario's split (docs/ODD.md §5, "The start").

        Args:
            values: (P, C) the channels' values without the alumni
                (:meth:`MultivectorModel.start_values`).
            alumni: (P,) the alumni's value per unit of education signal times the signal:
                the start's signal is the reference of the flows, so education's gain per
                unit of effort is its persuasion's plus alumni / effort, and the split is
                the root of a quadratic (:func:`sim.model.rules.rest_split`).
        """
        free = self.free_channels(self.model.events.stated(self.model.month))
        effort = self.effort
        gain = values[self.index] * self.unit_signal
        education = CHANNELS.index("education")
        extra = np.zeros_like(gain)
        if self.unit_signal[education] > 0:  # education that buys no signal makes no alumni
            extra[education] = alumni[self.index]
        effort[free] = rules.rest_split(effort[free], gain[free], extra[free])
        self.effort = rules.fit_capacity(effort, self.settings.capacity, free)


def efforts(powers: list[Power]) -> np.ndarray:
    """Every power's effort per channel (P, C), in one array (each row a power's ``effort``)."""
    return np.array([_per_channel(p.settings.effort) for p in powers], dtype=np.float64)


def emit(
    powers: list[Power], screening: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The powers' signals per channel, in one pass over them (:meth:`Power.emit`): effort
    fitted to capacity (a cut takes effect at once), then efficiency x presence x
    (1 - screening) per unit of effort, each power's row as :func:`sim.model.rules.unit_signal`
    computes it, in one compiled pass (:func:`sim.model.rules.emitted`: a month's few numpy
    operations on arrays this small cost more than their arithmetic). Each power's
    ``unit_signal`` and ``signal`` become rows of (P, C) arrays. Returns the powers' effort
    per channel as they emit it (P, C; :func:`efforts` now, to the bit) and the signals
    (P, C; the array of their ``signal`` rows), or None without powers.

    Args:
        powers: the powers, of one model.
        screening: the state's screening of every power's channels (P, C), if the caller
            has it for the month (:meth:`MiddleState.screening`).
    """
    if not powers:
        return None
    model = powers[0].model
    channels = len(CHANNELS)
    values = np.array(  # (P, 2C + 2): effort, presence, efficiency, capacity
        [
            (*_per_channel(s.effort), *_per_channel(s.presence), s.efficiency, s.capacity)
            for s in (p.settings for p in powers)
        ],
        dtype=np.float64,
    )
    if screening is None:
        screening = model.state.screening()
    rows = np.array([p.index for p in powers], dtype=np.int64)
    over, units, signals = rules.emitted(values, screening, rows, channels)
    for k in over:  # cut to capacity (monthly while ramps push), then the power's signals
        power = powers[k]
        fitted = rules.fit_capacity(values[k, :channels], values[k, -1], power.free_channels())
        power.effort = values[k, :channels] = fitted
        signals[k] = units[k] * fitted  # as emitted multiplies them, one product each
    for k, power in enumerate(powers):
        power.unit_signal, power.signal = units[k], signals[k]
    return values[:, :channels], signals


class Official(mesa.Agent):
    """A middle-level official who writes a report recommending an alignment (study §5.5).

    Officials act together (:meth:`write_reports`): every report is one row of a single
    simplex projection. An official's ``bias`` and ``report`` are row ``row``
    of the model's ``official_biases`` and ``official_reports`` (K, P), so that a month's
    reports are written, and read, as one array.
    """

    model: MultivectorModel

    def __init__(self, model: MultivectorModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def bias(self) -> np.ndarray:
        return self.model.official_biases[self.row]

    @property
    def report(self) -> np.ndarray:
        return self.model.official_reports[self.row]

    @staticmethod
    def write_reports(shared: np.ndarray, model: MultivectorModel) -> None:
        """Each official scores each power, then balances: w = argmax u.w - lambda |w|^2
        (without balancing: the logit chances of backing each power alone), keeping each
        power's security floor (:func:`sim.model.rules.security_floors`).

        Scores are the state's shared score plus the official's bias and monthly noise (from
        the model's ``officials`` stream). All reports are written at once, as the rows of
        ``model.official_reports``.
        """
        params = model.params
        biases = model.official_biases
        floors, rest = None, 1.0
        if params.mechanisms.security:
            floors, rest = _security_floors(model)
        if params.mechanisms.balancing:  # draws and reports in one compiled pass
            model.official_reports = rules.balanced_reports(
                model.handle("officials"),
                shared,
                biases,
                params.officials.noise,
                params.state.balance_strength,
                _NO_FLOORS if floors is None else floors,
                rest,
            )
            return
        # the chances of backing each power alone: the noise is in the logit, so the month's
        # draw (still made, so the stream stays aligned) is not added twice
        model.streams["officials"].normal(0.0, params.officials.noise, biases.shape)
        model.official_reports = rules.logit_report(
            shared[None, :] + biases, params.officials.noise, floors
        )


def _security_floors(model: MultivectorModel) -> tuple[np.ndarray, float]:
    """The state's security floors (:func:`sim.model.rules.security_floors`; read-only) and
    what they leave of the simplex (1 less their sum), kept while the powers' security ties
    and the floor hold."""
    params = model.params
    key = (tuple(p.security for p in params.powers.values()), params.state.security_floor)
    kept = getattr(model, "_security_floors", None)
    if kept is None or kept[0] != key:
        floors = rules.security_floors(np.array(key[0], np.float64), key[1])
        floors.flags.writeable = False
        kept = model._security_floors = (key, floors, 1.0 - float(floors.sum()))
    return kept[1], kept[2]


class MiddleState(mesa.Agent):
    """The middle state's policy: its alignment with each power and its counter-measures."""

    model: MultivectorModel

    def __init__(self, model: MultivectorModel, name: str):
        super().__init__(model)
        self.name = name
        n_powers = len(model.params.powers)
        self.alignment = np.full(n_powers, 1.0 / n_powers)
        self.counter = np.zeros(n_powers)  # counter-measures against each power
        self.counter_promotion = 0.0
        self.shared_score = np.zeros(n_powers)
        self._screening: tuple | None = None  # (what it depends on, screening)

    def screening(self) -> np.ndarray:
        """Screening of each power's channels (P, C; read-only), kept while the lever, the
        channels' screenability and the counter-measures hold (the powers' emission, the
        officials and the records all ask in a month)."""
        state = self.model.params.state
        key = (state.screening, _per_channel(state.screenability), self.counter.tobytes())
        kept = self._screening
        if kept is None or kept[0] != key:
            screening = rules.screening(np.array(key[1], np.float64), key[0], self.counter)
            screening.flags.writeable = False
            self._screening = kept = (key, screening)
        return kept[1]

    def promotion(self) -> float:
        """Identity promotion in force: the lever plus the counter-measures' share."""
        return rules.promotion(self.model.params.identity.promotion, self.counter_promotion)

    def assess(
        self,
        public: np.ndarray,
        elite: np.ndarray,
        advocacy: np.ndarray,
        screening: np.ndarray | None = None,
    ) -> None:
        """The part of every official's score that all officials share.

        Args:
            public, elite, advocacy: (P,) mean attraction of everyone, of the elites, and of
                persons linked to foreign-funded NGOs.
            screening: the state's screening (:meth:`screening`), if the caller has it.
        """
        params = self.model.params
        w = params.officials
        terms = np.array([(p.offers, p.leverage) for p in params.powers.values()], np.float64)
        self.shared_score = rules.shared_score(
            terms[:, 0],
            terms[:, 1],
            public,
            elite,
            advocacy,
            (self.screening() if screening is None else screening)[:, GRANTS],
            w.offer_weight,
            w.leverage_weight,
            w.public_weight,
            w.elite_weight,
            w.advocacy_weight,
        )

    def set_policy(self, reports: np.ndarray, *, move: bool = True) -> None:
        """Step 5: alignment moves toward the mean report; counter-measures answer dominance.

        With ``move=False`` (the first month) the policy starts at the mean report."""
        params = self.model.params
        state = params.state
        self.alignment, self.counter, self.counter_promotion = rules.next_policy(
            self.alignment,
            reports,
            state.policy_speed if move else 1.0,
            self.counter,
            float(self.counter_promotion),
            state.dominance_threshold,
            state.counter_rate,
            state.counter_decay,
            bool(params.mechanisms.counter_measures and move),
        )
