"""Carry a scenario through one run: validate everything first, then step, then hand back
tidy tables. No files are touched here (see :mod:`sim.results.writing`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.inputs.errors import COMMAND_LINE, refuse
from sim.inputs.profile import Profile
from sim.inputs.scenario import Resolved, load_with_profile, with_overrides
from sim.inputs.schema import ScenarioSpec, check_month, month_index

if TYPE_CHECKING:  # the model (mesa, numba) loads only when a run starts
    from sim.experiments.draws import Draws


@dataclass
class Plan:
    """A validated request for one run: nothing runs until every part has been checked."""

    spec: ScenarioSpec
    profile: Profile
    resolved: Resolved
    until: str
    snapshots: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    draws: Draws | None = None  # parameters drawn from a posterior, one row a run

    def spec_of(self, replicate: int) -> ScenarioSpec:
        """The scenario of run ``replicate``: with its row of the posterior, if any."""
        if self.draws is None:
            return self.spec
        return with_overrides(self.spec, self.draws.values[replicate], str(self.draws.path))

    @property
    def file(self) -> Path:
        return self.resolved.chain[0].path


@dataclass
class Result:
    """Tables from one run or an ensemble (tidy pandas data frames) and their seeds.

    An ensemble's tables have a ``run`` column (the replicate); ``replicates`` lists them.
    """

    spec: ScenarioSpec
    timeseries: pd.DataFrame
    groups: pd.DataFrame
    channels: pd.DataFrame
    snapshots: dict[str, pd.DataFrame]
    seed: int
    replicates: list[int] | None = None
    warnings: list[str] = field(default_factory=list)  # events the powers' capacity cut


def plan(
    scenario: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    until: str | None = None,
    snapshots: list[str] | None = None,
) -> Plan:
    """Load and check a scenario, a stop date and snapshot dates (ScenarioError if wrong)."""
    spec, profile, resolved = load_with_profile(scenario, overrides)
    start, end = spec.run.start, spec.run.end
    stop = until or end
    check_date("--until", stop, start, end, hint=" (set run.end to run longer)")
    for date in snapshots or []:
        check_date("--snapshot", date, start, stop)
    return Plan(spec, profile, resolved, stop, sorted(set(snapshots or [])), overrides or {})


def check_date(option: str, date: str, first: str, last: str, hint: str = "") -> None:
    try:
        check_month(date)
    except ValueError as err:
        raise refuse(COMMAND_LINE, option, str(err)) from None
    if not month_index(first) <= month_index(date) <= month_index(last):
        raise refuse(COMMAND_LINE, option, f"{date} must fall within {first} to {last}{hint}")


def execute(plan: Plan, progress: Callable[[int, int], None] | None = None) -> Result:
    """Build the model, run it to the plan's stop date, collect the tables."""
    from sim.model.model import MultivectorModel

    model = MultivectorModel(plan.spec, plan.profile, until=plan.until)
    total = month_index(plan.until) - model.month
    snapshots = {}
    if model.date in plan.snapshots:
        snapshots[model.date] = model.persons()
    for done in range(1, total + 1):
        model.step()
        if model.date in plan.snapshots:
            snapshots[model.date] = model.persons()
        if progress:
            progress(done, total)
    return Result(
        model.spec,
        model.timeseries(),
        model.groups(),
        model.channels(),
        snapshots,
        seed=model.params.run.seed,
        warnings=model.cut_events(),
    )
