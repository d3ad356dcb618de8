"""Dated scenario events applied to the model's live parameters (step 1 of the schedule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.inputs.schema import RampEvent, ShockEvent, get_value, month_index, set_value

if TYPE_CHECKING:
    from sim.model.model import MultivectorModel


@dataclass
class EventSchedule:
    """The scenario's events, keyed by month; ramps remember their starting value."""

    events: list
    _ramp_start: dict[int, float] = field(default_factory=dict)
    _held: tuple[int, frozenset[str]] = (-1, frozenset())

    def apply_due(self, model: MultivectorModel, month: int) -> None:
        """Apply every event due in ``month`` (a :func:`sim.inputs.schema.month_index`)."""
        for number, event in enumerate(self.events):
            begins = month_index(event.date)
            if isinstance(event, RampEvent):
                ends = month_index(event.until)
                if begins <= month <= ends:
                    self._ramp(model, number, event, begins, ends, month)
            elif begins == month:
                _apply_once(model, event)

    def held(self, month: int) -> frozenset[str]:
        """Parameter paths that a ramp holds on its line in ``month`` (kept for the month:
        every power asks at every emission)."""
        if self._held[0] != month:
            paths = frozenset(
                event.path
                for event in self.events
                if isinstance(event, RampEvent)
                and month_index(event.date) <= month <= month_index(event.until)
            )
            self._held = (month, paths)
        return self._held[1]

    def _ramp(self, model, number, event, begins, ends, month) -> None:
        if month == begins:
            self._ramp_start[number] = float(get_value(model.params, event.path))
        start = self._ramp_start[number]
        fraction = (month - begins) / (ends - begins)
        set_value(model.params, event.path, start + fraction * (event.value - start))


def _apply_once(model: MultivectorModel, event) -> None:
    if isinstance(event, ShockEvent):
        model.shock(event)
    elif event.action == "set":
        set_value(model.params, event.path, event.value)
    elif event.action == "scale":
        set_value(model.params, event.path, get_value(model.params, event.path) * event.value)
    elif event.action == "add":
        set_value(model.params, event.path, get_value(model.params, event.path) + event.value)
