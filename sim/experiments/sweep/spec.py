"""Sweep files: what to vary, how (the design), what to record; read and checked before
anything runs, and the design drawn from them."""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, model_validator

from sim.inputs.errors import Problem, ScenarioError
from sim.inputs.problems import dotted, locate, message_for
from sim.inputs.schema import FEWEST_PERSONS, Month, Strict, month_index, resolve, role
from sim.model import columns

METHODS = ("grid", "lhs", "sobol", "morris")
MINIMUM = {"grid": 1, "lhs": 2, "sobol": 8, "morris": 2}
"""Smallest ``samples`` each method accepts: below it the method has nothing to compare
(Sobol' indices need at least a few base samples, Morris at least two trajectories)."""

STATISTICS = ("mean", "min", "max", "last", "first")


class Range(Strict):
    """A continuous range, sampled by the design."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"empty range: low {self.low} must be below high {self.high}")
        return self


class Choice(Strict):
    """A list of values (grid designs only)."""

    values: Annotated[list[float | bool], Field(min_length=1)]


class Design(Strict):
    method: Literal["grid", "lhs", "sobol", "morris"]
    samples: int = Field(1, ge=1, description="lhs points; sobol base samples; morris trajectories")
    levels: int = Field(4, ge=2, description="grid points per range; morris grid levels")
    replications: int = Field(1, ge=1)
    seed: int = Field(0, ge=0)
    common_random_numbers: bool = False

    @model_validator(mode="after")
    def _large_enough(self) -> Design:
        least = MINIMUM[self.method]
        if self.samples < least:
            raise ValueError(
                f"samples = {self.samples} is too small for {self.method}: at least {least}"
            )
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(
                f"samples = {self.samples}: Sobol' sequences need a power of two (8, 16, 32, ...)"
            )
        return self


class Outcome(Strict):
    """A named measure, at a month or summarised over a period."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    measure: str
    power: str | None = None
    at: Month | None = None
    period: tuple[Month, Month] | None = None
    statistic: Literal["mean", "min", "max", "last", "first"] = "mean"

    @model_validator(mode="after")
    def _when(self) -> Outcome:
        if (self.at is None) == (self.period is None):
            raise ValueError("give exactly one of 'at' (a month) or 'period' ([first, last])")
        if self.period and month_index(self.period[1]) < month_index(self.period[0]):
            raise ValueError(f"period {self.period[0]} to {self.period[1]} runs backwards")
        return self


def _range_or_list(value: Any) -> str:
    return "list" if isinstance(value, dict) and "values" in value else "range"


Varied = Annotated[
    Annotated[Range, Tag("range")] | Annotated[Choice, Tag("list")],
    Discriminator(_range_or_list),
]
"""A varied parameter: ``{ low, high }`` or ``{ values = [...] }``, told apart by its keys
(so that a mistake in one form is not also reported against the other)."""


class SweepFile(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    scenario: str
    population: int | None = Field(None, ge=FEWEST_PERSONS)
    until: Month | None = None
    parameters: Annotated[dict[str, Varied], Field(min_length=1)]
    design: Design
    outcomes: Annotated[list[Outcome], Field(min_length=1)]
    timeseries: list[str] = []


@dataclass
class Sweep:
    """A checked sweep: its file's contents, where it came from, and its base scenario."""

    spec: SweepFile
    path: Path
    text: str
    scenario_path: Path

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def problem(self) -> dict:
        """The SALib problem: parameter names and bounds."""
        ranges = self.spec.parameters.values()
        return {
            "num_vars": len(self.names),
            "names": self.names,
            "bounds": [[r.low, r.high] for r in ranges],  # type: ignore[union-attr]
        }

    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def roles(self) -> dict[str, str]:
        """Each swept parameter's role in the schema: a ``lever`` of the state, an
        ``uncertainty`` about the world, or a ``setting`` (EMA Workbench's distinction)."""
        from sim.inputs.scenario import load_scenario

        base = load_scenario(self.scenario_path)
        return {name: role(base, name) for name in self.names}


# --- reading and checking ------------------------------------------------------------------


def load(path: str | Path) -> Sweep:
    """Read and check a sweep file; a ScenarioError lists every problem with file, line and
    key. Nothing runs here."""
    from sim.inputs.scenario import find_scenario, load_with_profile, read_toml

    path = Path(path)
    source = read_toml(path)
    problems: list[Problem] = []

    def add(loc: tuple, message: str) -> None:
        problems.append(Problem(str(path), dotted(loc), message, locate(source.text, loc)))

    try:
        spec = SweepFile.model_validate(source.data)
    except ValidationError as err:
        for e in err.errors():
            loc = tuple(e["loc"])
            if len(loc) > 2 and loc[0] == "parameters" and loc[2] in ("range", "list"):
                loc = loc[:2] + loc[3:]  # drop the union member pydantic names
            if e["type"] == "extra_forbidden":
                message = _unknown(loc)
            elif e["type"] == "too_short" and loc == ("parameters",):
                message = "give at least one parameter to vary"
            else:
                message = message_for(e, ())
            add(loc, message)
        raise ScenarioError(problems) from None
    try:
        scenario_path = _scenario_path(spec.scenario, path, find_scenario)
        base, _, _ = load_with_profile(scenario_path)
    except ScenarioError as err:
        raise ScenarioError(
            [Problem(str(path), "scenario", f"base scenario refused: {p}") for p in err.problems]
        ) from None
    powers = list(base.powers)
    start, end = base.run.start, spec.until or base.run.end
    if spec.until and not month_index(start) <= month_index(spec.until) <= month_index(
        base.run.end
    ):
        add(("until",), f"{spec.until} must fall within {start} to {base.run.end}")
    for name, values in spec.parameters.items():
        loc = ("parameters", name)
        try:
            resolve(base, name)
        except KeyError as err:
            add(loc, f"unknown parameter path: {err.args[0]}")
            continue
        if name.startswith(("run.start", "run.end", "run.profile", "run.seed")):
            add(loc, "run.start, run.end, run.profile and run.seed cannot be swept")
            continue
        if isinstance(values, Choice) and spec.design.method != "grid":
            add(
                loc,
                f"a list of values needs method = 'grid'; {spec.design.method} samples "
                "ranges: give low and high",
            )
        points = [values.low, values.high] if isinstance(values, Range) else values.values
        for value in points:
            try:
                load_with_profile(scenario_path, {name: value})
            except ScenarioError as err:
                add(loc, f"value {value!r} refused: {err.problems[0].message}")
                break
    per_power, of_state = list(columns.PER_POWER), list(columns.NUMERIC_OF_STATE)
    for k, outcome in enumerate(spec.outcomes):
        loc = ("outcomes", k)
        if outcome.measure not in per_power + of_state:
            add(
                (*loc, "measure"),
                f"unknown outcome measure {outcome.measure!r}; allowed: "
                f"{', '.join(per_power + of_state)}",
            )
        elif outcome.measure in per_power and outcome.power not in powers:
            add(
                (*loc, "power"),
                f"{outcome.measure} is measured per power: give power = one of "
                f"{', '.join(powers)}" + (f" (got {outcome.power!r})" if outcome.power else ""),
            )
        elif outcome.measure in of_state and outcome.power is not None:
            add((*loc, "power"), f"{outcome.measure} is the state's: remove power")
        for month in [outcome.at] if outcome.at else list(outcome.period or ()):
            if not month_index(start) <= month_index(month) <= month_index(end):
                add(loc, f"month {month} must fall within the run, {start} to {end}")
    names = [o.name for o in spec.outcomes]
    for name in {n for n in names if names.count(n) > 1}:
        add(("outcomes",), f"outcome name {name!r} is used twice")
    for k, measure in enumerate(spec.timeseries):
        if measure not in per_power + of_state:
            add(
                ("timeseries", k),
                f"unknown measure {measure!r}; allowed: {', '.join(per_power + of_state)}",
            )
    if problems:
        raise ScenarioError(problems)
    return Sweep(spec, path, source.text, scenario_path)


def stored(folder: str | Path) -> Sweep:
    """The sweep a results folder holds, read from its copy of the sweep file (not checked
    against its scenario again: the folder may have moved since it ran)."""
    folder = Path(folder)
    text = (folder / "sweep.toml").read_text()
    manifest = json.loads((folder / "manifest.json").read_text())
    spec = SweepFile.model_validate(tomllib.loads(text))
    scenario = Path(manifest["scenario"]["path"])
    return Sweep(spec, folder / "sweep.toml", text, scenario)


def _unknown(loc: tuple) -> str:
    tables: dict[tuple, type[BaseModel]] = {
        (): SweepFile,
        ("design",): Design,
        ("outcomes",): Outcome,
    }
    parent = tuple(p for p in loc[:-1] if not isinstance(p, int))
    if parent[:1] == ("parameters",):
        return f"unknown key {loc[-1]!r}; allowed: low and high, or values"
    model = tables.get(parent)
    allowed = ", ".join(model.model_fields) if model else ""
    return f"unknown key {loc[-1]!r}; allowed: {allowed}"


def _scenario_path(name: str, sweep_path: Path, find) -> Path:
    """A scenario named in a sweep file: a path relative to the file, or a shipped name."""
    beside = sweep_path.parent / name
    return beside if beside.is_file() else find(name)


# --- the design ----------------------------------------------------------------------------


def design(sweep: Sweep) -> pd.DataFrame:
    """One row per design point: ``point`` and a column per parameter."""
    spec = sweep.spec
    d = spec.design
    if d.method == "grid":
        axes = [
            list(np.linspace(v.low, v.high, d.levels)) if isinstance(v, Range) else v.values
            for v in spec.parameters.values()
        ]
        rows = list(itertools.product(*axes))
        table = pd.DataFrame(rows, columns=sweep.names)
    else:
        from SALib.sample import latin, morris, sobol

        problem = sweep.problem
        if d.method == "lhs":
            x = latin.sample(problem, d.samples, seed=d.seed)
        elif d.method == "sobol":
            x = sobol.sample(problem, d.samples, calc_second_order=False, seed=d.seed)
        else:
            x = morris.sample(problem, d.samples, num_levels=d.levels, seed=d.seed)
        table = pd.DataFrame(x, columns=sweep.names)
    for name in sweep.names:  # integer parameters take integer values
        if _is_int(sweep, name):
            table[name] = table[name].round().astype(int)
    table.insert(0, "point", np.arange(len(table)))
    return table


def _is_int(sweep: Sweep, name: str) -> bool:
    from sim.inputs.scenario import load_scenario

    info = resolve(load_scenario(sweep.scenario_path), name)[2]
    return info is not None and info.annotation is int


@dataclass(frozen=True)
class Task:
    """One run of a sweep: everything a worker needs, picklable."""

    run: int
    point: int
    replication: int
    values: tuple[tuple[str, Any], ...]


def tasks(sweep: Sweep, points: pd.DataFrame, shard: tuple[int, int] = (0, 1)) -> list[Task]:
    """Every run (point x replication), or the runs of one shard: ``run % N == i``."""
    reps = sweep.spec.design.replications
    index, count = shard
    out = []
    for row in points.itertuples(index=False):
        values = tuple((name, _plain(row[k + 1])) for k, name in enumerate(sweep.names))
        for rep in range(reps):
            run = row.point * reps + rep
            if run % count == index:
                out.append(Task(run, row.point, rep, values))
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
