"""Sweep files: what to vary, how (the design), what to record; read and checked before
anything runs, and the design drawn from them."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, model_validator

from sim.experiments.draws import Draws
from sim.inputs.errors import Problem, ScenarioError, shorten
from sim.inputs.limits import (
    MAX_LEVELS,
    MAX_NAME_CHARS,
    MAX_OUTCOMES,
    MAX_PARAMETERS,
    MAX_PATH_CHARS,
    MAX_RUNS,
    MAX_SEED,
    MAX_TEXT_CHARS,
    MAX_VALUES,
)
from sim.inputs.problems import dotted, locate, message_for, unknown_key
from sim.inputs.schema import (
    FEWEST_PERSONS,
    Month,
    RunSettings,
    Strict,
    bounds,
    month_index,
    resolve,
    role,
)
from sim.model import columns

METHODS = ("grid", "lhs", "sobol", "morris")
MINIMUM = {"grid": 1, "lhs": 2, "sobol": 8, "morris": 2}
"""Smallest ``samples`` each method accepts: below it the method has nothing to compare
(Sobol' indices need at least a few base samples, Morris at least two trajectories)."""

STATISTICS = ("mean", "min", "max", "last", "first")
MOST_PERSONS = int(bounds(RunSettings.model_fields["population"])[1])


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

    values: Annotated[list[float | bool], Field(min_length=1, max_length=MAX_VALUES)]


class Design(Strict):
    method: Literal[METHODS]
    samples: int = Field(
        1, ge=1, le=MAX_RUNS, description="lhs points; sobol base samples; morris trajectories"
    )
    levels: int = Field(
        4, ge=2, le=MAX_LEVELS, description="grid points per range; morris grid levels"
    )
    replications: int = Field(1, ge=1, le=MAX_RUNS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
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

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=MAX_NAME_CHARS)
    measure: str = Field(max_length=MAX_NAME_CHARS)
    power: str | None = None
    at: Month | None = None
    period: tuple[Month, Month] | None = None
    statistic: Literal[STATISTICS] = "mean"

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
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=MAX_NAME_CHARS)
    description: str = Field("", max_length=MAX_TEXT_CHARS)
    scenario: str = Field(min_length=1, max_length=MAX_PATH_CHARS)
    population: int | None = Field(None, ge=FEWEST_PERSONS, le=MOST_PERSONS)
    until: Month | None = None
    parameters: Annotated[
        dict[Annotated[str, Field(max_length=MAX_PATH_CHARS)], Varied],
        Field(min_length=1, max_length=MAX_PARAMETERS),
    ]
    design: Design
    outcomes: Annotated[list[Outcome], Field(min_length=1, max_length=MAX_OUTCOMES)]
    timeseries: Annotated[list[str], Field(max_length=MAX_OUTCOMES)] = []
    posterior: str | None = Field(None, min_length=1, max_length=MAX_PATH_CHARS)

    @model_validator(mode="after")
    def _not_too_many_runs(self) -> SweepFile:
        points = design_points(self)
        runs = points * self.design.replications
        if runs > MAX_RUNS:
            raise ValueError(
                f"the design makes {_count(runs)} runs ({_count(points)} points x "
                f"{self.design.replications} replications); at most {MAX_RUNS:,}: fewer "
                "levels, samples, parameters or replications"
            )
        return self


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**12 else f"about 10^{len(str(n)) - 1}"


def design_points(spec: SweepFile) -> int:
    """Points of a sweep's design, counted without drawing it (docs/sweeps.md, Designs)."""
    d, count = spec.design, len(spec.parameters)
    if d.method == "grid":
        points = 1
        for v in spec.parameters.values():
            points *= d.levels if isinstance(v, Range) else len(v.values)
        return points
    return d.samples * {"lhs": 1, "sobol": count + 2, "morris": count + 1}[d.method]


@dataclass
class Sweep:
    """A checked sweep: its file's contents, where it came from, and its base scenario."""

    spec: SweepFile
    path: Path
    text: str
    scenario_path: Path
    draws: Draws | None = None  # replication r's parameters, from the posterior, if any

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
            add(loc or ("design",), message)
        raise ScenarioError(problems) from None
    check_scenario_path(spec.scenario, path)
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
        points = [values.low, values.high] if isinstance(values, Range) else _extremes(values)
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
    drawn = None
    if spec.posterior is not None and not problems:
        try:
            drawn = _posterior(spec, path, base)
        except ScenarioError as err:
            add(("posterior",), "; ".join(str(p) for p in err.problems))
    if problems:
        raise ScenarioError(problems)
    return Sweep(spec, path, source.text, scenario_path, drawn)


def _posterior(spec: SweepFile, path: Path, base) -> Draws:
    """Replication r's row of the sweep's posterior (a path relative to the sweep file, or
    a shipped posterior's name when no such file is there): the same row for replication r
    of every point, drawn by the design's seed; the swept parameters keep the design's
    values."""
    from sim.experiments import draws

    name = spec.posterior or ""
    if Path(name).is_absolute() or name.startswith("~"):
        raise ScenarioError([Problem(str(path), "posterior", "give a path relative to this file")])
    fixed = set(spec.parameters)
    return draws.load(
        draws.resolve(name, path.parent), base, spec.design.replications, spec.design.seed, fixed
    )


def stored(folder: str | Path) -> Sweep:
    """The sweep a results folder holds, read from its copy of the sweep file (not checked
    against its scenario again: the folder may have moved since it ran)."""
    from sim.inputs.errors import refuse
    from sim.inputs.reading import parse_text, read_text

    folder = Path(folder)
    text = read_text(folder / "sweep.toml")
    data = parse_text(text, folder / "sweep.toml")
    try:
        manifest = json.loads(read_text(folder / "manifest.json"))
        scenario = Path(manifest["scenario"]["path"])
        spec = SweepFile.model_validate(data)
    except (ValueError, KeyError, TypeError) as err:  # JSON, pydantic or a missing entry
        message = f"not a sweep folder multivector wrote: {shorten(str(err))}"
        raise refuse(folder, "", message) from None
    return Sweep(spec, folder / "sweep.toml", text, scenario)


def _unknown(loc: tuple) -> str:
    tables: dict[tuple, type[BaseModel]] = {
        (): SweepFile,
        ("design",): Design,
        ("outcomes",): Outcome,
    }
    parent = tuple(p for p in loc[:-1] if not isinstance(p, int))
    if parent[:1] == ("parameters",):
        return unknown_key(loc[-1], ["low", "high", "values"])
    model = tables.get(parent)
    return unknown_key(loc[-1], list(model.model_fields) if model else [])


def _extremes(choice: Choice) -> list[float | bool]:
    """The values of a list worth loading the scenario with, in the list's order: each
    switch value, and the smallest and largest number (the bounds of a parameter are a
    range: if both ends pass, every number between does)."""
    numbers = [v for v in choice.values if not isinstance(v, bool)]
    keep = {min(numbers), max(numbers)} if numbers else set()
    out: list[float | bool] = []
    for v in choice.values:
        chosen = v in keep if not isinstance(v, bool) else True
        if chosen and not any(v is w or (type(v) is type(w) and v == w) for w in out):
            out.append(v)
    return out


def check_scenario_path(name: str, sweep_path: Path) -> None:
    """A sweep's scenario is a shipped name or a path relative to the sweep file, not an
    absolute path."""
    from sim.inputs.errors import refuse

    if Path(name).is_absolute() or name.startswith("~"):
        raise refuse(
            sweep_path,
            "scenario",
            f"{shorten(name)!r} is an absolute path; give a shipped scenario's name or a path "
            "relative to this file",
        )


def _scenario_path(name: str, sweep_path: Path, find) -> Path:
    """A scenario named in a sweep file: a path relative to the file, or a shipped name."""
    check_scenario_path(name, sweep_path)
    beside = sweep_path.parent / name
    try:
        found = beside.is_file()
    except (OSError, ValueError):
        found = False
    return beside if found else find(name)


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
