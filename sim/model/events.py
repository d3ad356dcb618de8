"""Dated scenario events applied to the model's live parameters (step 1 of the schedule), and
what became of them: an event on a power's effort or capacity can be cut by the power's
capacity in the same month (docs/scenarios.md, "When an event is cut")."""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.inputs.schema import (
    CHANNELS,
    Leaf,
    RampEvent,
    ShockEvent,
    month_index,
    month_name,
)

WATCHED = re.compile(r"^powers\.(?P<power>[^.]+)\.(?:effort\.(?P<channel>\w+)|capacity)$")
"""Paths whose events the power's capacity can cut: its effort in a channel, its capacity."""


@functools.cache  # the same few paths, every month
def watched(path: str) -> tuple[str, str | None] | None:
    """A :data:`WATCHED` path's power and channel (None for its capacity); None for a path
    the power's capacity does not cut."""
    found = WATCHED.match(path)
    return None if found is None else (found["power"], found["channel"])


TOOK_EFFECT = 0.9
"""Below this share of the change it asked for, an event is reported as cut."""


@dataclass
class EventEffect:
    """How much of one event's change took effect, measured after the powers' emission: for
    an effort, in the month it was (last) applied, the effort the power kept against the
    change asked for; for a capacity, from then on, the largest change of the power's total
    effort (in the capacity's direction) against the change of capacity."""

    number: int
    label: str
    path: str
    month: int
    before: float
    requested: float
    effective: float = float("nan")
    effort_before: float = float("nan")  # for a capacity: the power's total effort then
    ends: int = -1  # the event's last month (a ramp's until; the date of any other)

    @property
    def share(self) -> float:
        asked = self.requested - self.before
        return 1.0 if abs(asked) < 1e-12 else (self.effective - self.before) / asked

    @property
    def capacity(self) -> bool:
        return self.path.endswith(".capacity")

    @property
    def cut(self) -> bool:
        """An effort event is cut when less than :data:`TOOK_EFFECT` of it got through; a
        capacity event when it moved the power's total effort by less than a tenth of its
        own change (a capacity is a bound: a raise need not be spent, but one that frees
        nothing, or a cut that does not bind, changes nothing), judged once its ramp has
        ended: a cut still on its way down may bind later."""
        if self.capacity:
            return self.month >= self.ends and self.share < 1 - TOOK_EFFECT
        return self.share < TOOK_EFFECT

    def message(self) -> str:
        """The warning a user reads."""
        name = f"{self.label!r} ({self.path})" if self.label else self.path
        when = month_name(self.month)
        took = 100 * max(self.share, 0.0) + 0.0
        if self.capacity:
            return (
                f"event {name} moves the capacity from {self.before:.3g} to "
                f"{self.requested:.3g} by {when}, but the power's total effort moved by "
                f"{took:.0f} % of that at most: the capacity does not bind, so the event "
                "changes (almost) nothing; a capacity bounds effort, it does not add to it"
            )
        return (
            f"event {name} asks for {self.requested:.3g} by {when} (from {self.before:.3g}); "
            f"the power's capacity let {self.effective:.3g} through, {took:.0f} % of the "
            "change: raise its capacity too"
        )


if TYPE_CHECKING:
    from sim.model.model import MultivectorModel


@dataclass
class EventSchedule:
    """The scenario's events, keyed by month; ramps remember their starting value."""

    events: list
    _ramp_start: dict[int, float] = field(default_factory=dict)
    _held_months: tuple[int, int, frozenset[str]] = (1, 0, frozenset())
    """The paths held (:meth:`held`) and the months, first and last, they are held in."""
    effects: dict[int, EventEffect] = field(default_factory=dict)
    _leaves: tuple[object, dict[str, Leaf]] = field(default_factory=lambda: (None, {}))
    """The parameters whose leaves are kept, and those leaves by path."""

    def __post_init__(self) -> None:
        # each event's first and last month (month indices), read once
        self._months = [
            (month_index(e.date), month_index(e.until) if isinstance(e, RampEvent) else None)
            for e in self.events
        ]

    def leaf(self, model: MultivectorModel, path: str) -> Leaf:
        """The model's parameter at ``path``, resolved once for its parameters."""
        params, leaves = self._leaves
        if params is not model.params:
            params, leaves = self._leaves = (model.params, {})
        if path not in leaves:
            leaves[path] = Leaf.at(params, path)
        return leaves[path]

    def apply_due(self, model: MultivectorModel, month: int) -> None:
        """Apply every event due in ``month`` (a :func:`sim.inputs.schema.month_index`)."""
        for number, event in enumerate(self.events):
            begins, ends = self._months[number]
            if isinstance(event, RampEvent):
                if begins <= month <= ends:
                    self._watch(model, number, event, month)
                    self._ramp(model, number, event, begins, ends, month)
            elif begins == month:
                self._watch(model, number, event, month)
                self._apply_once(model, event)
                self._asked(model, number, month)

    def _watch(self, model, number: int, event, month: int) -> None:
        """Before an event on a watched path is applied: where it starts from (a ramp keeps
        the start of its first month)."""
        found = watched(getattr(event, "path", ""))
        if found is None:
            return
        if isinstance(event, RampEvent) and number in self.effects:
            self.effects[number].month = month
            return
        before = float(self.leaf(model, event.path).get())
        ends = month_index(event.until) if isinstance(event, RampEvent) else month
        effect = EventEffect(number, event.label, event.path, month, before, before, ends=ends)
        power, channel = found
        if channel is None:
            effect.effort_before = _total_effort(model, power)
        self.effects[number] = effect

    def _asked(self, model, number: int, month: int, leaf: Leaf | None = None) -> None:
        """After an event on a watched path in ``month``: what it asked for (``leaf``: the
        event's path, if the caller has it)."""
        effect = self.effects.get(number)
        if effect is not None and effect.month == month:
            leaf = self.leaf(model, effect.path) if leaf is None else leaf
            effect.requested = float(leaf.get())

    def measure(self, model: MultivectorModel) -> None:
        """After the powers' emission (which fits effort to capacity): what took effect. An
        effort event is measured in the month it is (last) applied; a capacity event from
        then on, by the largest change of the power's total effort in its direction (a raise
        may make room for efforts that grow later)."""
        month = model.month
        for effect in self.effects.values():
            if month < effect.month:
                continue
            power, channel = watched(effect.path)
            if channel is not None:
                if effect.month == month:
                    effect.effective = float(self.leaf(model, effect.path).get())
                continue
            change = _total_effort(model, power) - effect.effort_before
            sign = 1.0 if effect.requested >= effect.before else -1.0
            if effect.effective != effect.effective:  # not measured yet
                effect.effective = effect.before
            best = max(sign * (effect.effective - effect.before), sign * change, 0.0)
            effect.effective = effect.before + sign * best

    def cut(self) -> list[EventEffect]:
        """The events of which less than :data:`TOOK_EFFECT` of the change took effect, in
        the scenario's order (each measured at its last application so far)."""
        measured = [e for _, e in sorted(self.effects.items()) if e.effective == e.effective]
        return [e for e in measured if e.cut]

    def held(self, month: int) -> frozenset[str]:
        """Parameter paths that a ramp holds on its line in ``month``: kept, the same set,
        for the months until a ramp starts or ends (every power asks at every emission)."""
        first, last, paths = self._held_months
        if first <= month <= last:
            return paths
        paths = frozenset(
            event.path
            for event, (begins, ends) in zip(self.events, self._months, strict=True)
            if isinstance(event, RampEvent) and begins <= month <= ends
        )
        first, last = -(2**62), 2**62  # narrowed to the months the same ramps hold
        for event, (begins, ends) in zip(self.events, self._months, strict=True):
            if not isinstance(event, RampEvent):
                continue
            if begins <= month <= ends:  # held: within its months
                first, last = max(first, begins), min(last, ends)
            elif ends < month:  # ended: after its last month
                first = max(first, ends + 1)
            else:  # not begun: before its first month
                last = min(last, begins - 1)
        self._held_months = (first, last, paths)
        return paths

    def stated(self, month: int) -> frozenset[str]:
        """Parameter paths an event of ``month`` sets, scales, adds to or ramps: what the
        scenario states for that month (the start keeps these channels as stated)."""
        return self.held(month) | frozenset(
            event.path
            for event in self.events
            if not isinstance(event, RampEvent)
            and getattr(event, "path", None)
            and month_index(event.date) == month
        )

    def _ramp(self, model, number, event, begins, ends, month) -> None:
        leaf = self.leaf(model, event.path)
        if month == begins:
            self._ramp_start[number] = float(leaf.get())
        start = self._ramp_start[number]
        fraction = (month - begins) / (ends - begins)
        leaf.set(start + fraction * (event.value - start))
        self._asked(model, number, month, leaf)

    def _apply_once(self, model: MultivectorModel, event) -> None:
        if isinstance(event, ShockEvent):
            model.shock(event)
            return
        leaf = self.leaf(model, event.path)
        if event.action == "set":
            leaf.set(event.value)
        elif event.action == "scale":
            leaf.set(leaf.get() * event.value)
        elif event.action == "add":
            leaf.set(leaf.get() + event.value)


def _total_effort(model: MultivectorModel, power: str) -> float:
    return float(sum(_per_channel(model.params.powers[power].effort)))


_per_channel = operator.attrgetter(*CHANNELS)
