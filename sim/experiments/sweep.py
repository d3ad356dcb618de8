"""Parameter sweeps: a design over any parameters, run in parallel, streamed to Parquet parts.

The flow of ``multivector sweep FILE --out DIR``:

1. The sweep file is read and checked (:func:`load`) before anything runs: parameter paths,
   ranges, the design's size for its method, the outcomes.
2. The design (one row per point) is drawn (:func:`design`) and written with a copy of the
   sweep file and a manifest before the first run is dispatched.
3. Runs (point x replication) go to a backend (:mod:`sim.experiments.backends`). Run ``r`` of point
   ``p`` draws its randomness from ``SeedSequence(design.seed, spawn_key=(p, r))`` (or ``(r,)``
   with common random numbers), never from a worker or the order of completion, so results
   are identical whichever backend, worker count or shard produced them.
4. Finished runs are buffered and written in parts (``results/part-*.parquet``), each
   atomically; a run that raises leaves ``failures/run-<id>.json`` with its traceback.
   ``--resume`` skips every run already in a part or a failure record.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import time
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, model_validator

from sim.inputs.errors import COMMAND_LINE, Problem, ScenarioError, refuse
from sim.inputs.problems import dotted, locate, message_for
from sim.inputs.schema import Month, Strict, month_index, resolve

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
    population: int | None = Field(None, ge=100)
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


# --- reading and checking ------------------------------------------------------------------


def measures() -> tuple[list[str], list[str]]:
    """Measures an outcome may name: per power, and of the state."""
    from sim.model.measures import PER_POWER, PER_STATE

    return [f.__name__ for f in PER_POWER], [
        f.__name__ for f in PER_STATE if f.__name__ != "dominant_power"
    ]


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
    per_power, of_state = measures()
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


# --- one run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """What every run of a sweep shares (sent once per task; small and picklable)."""

    scenario: str
    population: int | None
    until: str | None
    seed: int
    common_random_numbers: bool
    outcomes: tuple[Outcome, ...]
    timeseries: tuple[str, ...]

    @classmethod
    def of(cls, sweep: Sweep) -> Job:
        s = sweep.spec
        return cls(
            str(sweep.scenario_path),
            s.population,
            s.until,
            s.design.seed,
            s.design.common_random_numbers,
            tuple(s.outcomes),
            tuple(s.timeseries),
        )


def simulate(job: Job, task: Task) -> dict:
    """Run one task. Returns its result row (and whole series if asked), or, if the run
    raised, a failure record with the traceback: a sweep goes on past a failed run."""
    try:
        return {"ok": True, **_simulate(job, task)}
    except Exception as err:  # any failure of a run is recorded, not raised
        return _failure(task, err)
    finally:
        release()


def release() -> None:
    """Free the finished run's model now. A Mesa model and its agents refer to each other,
    so only the cycle collector frees them, at a time of its choosing: a worker then held
    two or three models at once now and then, and its peak memory crept up over a long
    sweep. Collecting after each run keeps it flat; freezing what survives (imports, caches)
    keeps the next collection from scanning it again, so this costs nothing measurable."""
    gc.collect()
    gc.freeze()


def _failure(task: Task, err: Exception) -> dict:
    return {
        "ok": False,
        "run": task.run,
        "point": task.point,
        "replication": task.replication,
        "parameters": dict(task.values),
        "error": type(err).__name__,
        "message": str(err),
        "traceback": traceback.format_exc(),
    }


def _simulate(job: Job, task: Task) -> dict:
    from sim.inputs.scenario import load_with_profile
    from sim.model.model import MultivectorModel

    overrides = dict(task.values)
    if job.population is not None:
        overrides["run.population"] = job.population
    spec, profile, _ = load_with_profile(job.scenario, overrides)
    key = (task.replication,) if job.common_random_numbers else (task.point, task.replication)
    model = MultivectorModel(
        spec, profile, until=job.until, seed=job.seed, replicate=key, tables=False
    )
    model.run_to()
    ts = model.timeseries()
    row: dict[str, Any] = {"run": task.run, "point": task.point, "replication": task.replication}
    row |= dict(task.values)
    for outcome in job.outcomes:
        row[outcome.name] = outcome_value(ts, outcome)
    series = None
    if job.timeseries:
        series = ts[["date", "power", *job.timeseries]].assign(run=task.run)
    return {"row": row, "series": series}


def outcome_value(ts: pd.DataFrame, outcome: Outcome) -> float:
    """An outcome from a run's monthly table."""
    if outcome.power is not None:
        ts = ts[ts["power"] == outcome.power]
    else:
        ts = ts.drop_duplicates("date")
    if outcome.at is not None:
        return float(ts.loc[ts["date"] == outcome.at, outcome.measure].iloc[0])
    first, last = outcome.period  # type: ignore[misc]
    values = ts.loc[(ts["date"] >= first) & (ts["date"] <= last), outcome.measure]
    if outcome.statistic in ("last", "first"):
        return float(values.iloc[-1 if outcome.statistic == "last" else 0])
    return float(getattr(values, outcome.statistic)())


# --- the results folder --------------------------------------------------------------------

RESULTS, SERIES, FAILURES = "results", "series", "failures"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see all of it or nothing: a temporary file in the same
    folder, flushed to disk, then renamed over the target."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


class Parts:
    """Buffers finished runs and writes them in atomic Parquet parts."""

    def __init__(self, folder: Path, label: str, batch: int):
        self.folder, self.label, self.batch = folder, label, batch
        self.rows: list[dict] = []
        self.series: list[pd.DataFrame] = []
        for sub in (RESULTS, SERIES, FAILURES):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def add(self, result: dict) -> None:
        if not result["ok"]:
            record = {k: v for k, v in result.items() if k != "ok"}
            name = f"run-{result['run']:07d}.json"
            write_atomic(self.folder / FAILURES / name, json.dumps(record, indent=2).encode())
            return
        self.rows.append(result["row"])
        if result["series"] is not None:
            self.series.append(result["series"])
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        runs = [r["run"] for r in self.rows]
        name = f"part-{self.label}-{min(runs):07d}-{max(runs):07d}-{time.time_ns()}.parquet"
        if self.series:  # the series first: a run counts as done once its row is written
            frame = pd.concat(self.series, ignore_index=True)
            write_atomic(self.folder / SERIES / name, parquet_bytes(frame))
        frame = pd.DataFrame(self.rows).sort_values("run")
        write_atomic(self.folder / RESULTS / name, parquet_bytes(frame))
        self.rows, self.series = [], []


def done_runs(folder: Path) -> set[int]:
    """Runs already recorded in ``folder``: in a results part or a failure record."""
    done: set[int] = set()
    for part in sorted((folder / RESULTS).glob("part-*.parquet")):
        done |= set(pq.read_table(part, columns=["run"]).column("run").to_pylist())
    for record in (folder / FAILURES).glob("run-*.json"):
        done.add(int(record.stem.removeprefix("run-")))
    return done


def results(folder: str | Path) -> pd.DataFrame:
    """Every finished run of a sweep, one row each, parameters and outcomes as columns,
    in run order. (``pd.read_parquet(folder / "results")`` gives the same rows unsorted.)"""
    parts = sorted((Path(folder) / RESULTS).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values("run", ignore_index=True)


def series(folder: str | Path) -> pd.DataFrame:
    """Whole time series of the runs, if the sweep recorded them (long format)."""
    parts = sorted((Path(folder) / SERIES).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values(["run", "date", "power"], ignore_index=True)


def failures(folder: str | Path) -> pd.DataFrame:
    """The failure records of a sweep, one row per failed run."""
    records = [json.loads(p.read_text()) for p in sorted((Path(folder) / FAILURES).glob("*.json"))]
    return pd.DataFrame(records)


WRITTEN_FIRST = ("sweep.toml", "design.parquet", "manifest.json")


def is_sweep_folder(folder: Path) -> bool:
    return all((folder / name).is_file() for name in WRITTEN_FIRST)


def prepare(sweep: Sweep, folder: Path, resume: bool, manifest: dict) -> pd.DataFrame:
    """Write the design, a copy of the sweep file and the manifest before any run; on
    ``resume``, check the folder holds this very sweep and read its design back."""
    points = design(sweep)
    if resume:
        if not is_sweep_folder(folder):
            raise refuse(COMMAND_LINE, "--resume", f"{folder} holds no sweep to resume")
        stored = (folder / "sweep.toml").read_text()
        if stored != sweep.text:
            raise refuse(
                COMMAND_LINE,
                "--resume",
                f"{folder} holds another sweep (its sweep.toml differs from {sweep.path})",
            )
        saved = pd.read_parquet(folder / "design.parquet")
        if not saved.equals(points):
            raise refuse(COMMAND_LINE, "--resume", f"{folder}: design.parquet was changed")
        return points
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "sweep.toml", sweep.text.encode())
    write_atomic(folder / "design.parquet", parquet_bytes(points))
    write_atomic(folder / "design.csv", points.to_csv(index=False).encode())
    write_atomic(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return points


def check_folder(folder: Path, resume: bool, shard: tuple[int, int]) -> None:
    """Refuse to start a sweep in a folder that already holds files, unless resuming (or
    adding another shard of the same sweep, which :func:`prepare` then checks)."""
    if folder.exists() and not folder.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{folder} is a file, not a folder")
    if resume or not (folder.is_dir() and any(folder.iterdir())):
        return
    if is_sweep_folder(folder) and shard[1] > 1:
        return
    raise refuse(
        "command line",
        "--out",
        f"{folder} already holds files; add --resume to continue a sweep there, "
        "or choose a new folder",
    )


def parse_shard(text: str | None) -> tuple[int, int]:
    if text is None:
        return (0, 1)
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise refuse(COMMAND_LINE, "--shard", f"{text!r} is not of the form i/N") from None
    if count < 1 or not 0 <= index < count:
        raise refuse(COMMAND_LINE, "--shard", f"{text}: need 0 <= i < N")
    return index, count


# --- a whole sweep -------------------------------------------------------------------------


@dataclass
class Plan:
    """A checked sweep ready to run: its folder prepared, its runs listed."""

    sweep: Sweep
    out: Path
    backend: str
    scheduler: str | None
    shard: tuple[int, int]
    points: pd.DataFrame
    tasks: list[Task]
    todo: list[Task]


def plan(
    file: str | Path,
    out: Path,
    backend: str = "local",
    scheduler: str | None = None,
    shard: str | None = None,
    resume: bool = False,
    started: datetime | None = None,
) -> Plan:
    """Check everything, write the design and manifest, and list the runs still to do.

    Raises ScenarioError (nothing run, nothing written) for a bad file or option.
    """
    from sim.experiments.backends import BACKENDS
    from sim.results.writing import environment

    if backend not in BACKENDS:
        raise refuse(
            COMMAND_LINE, "--backend", f"unknown value {backend!r}; allowed: {', '.join(BACKENDS)}"
        )
    if scheduler is not None and backend != "dask":
        raise refuse(COMMAND_LINE, "--scheduler", "needs --backend dask")
    part = parse_shard(shard)
    sweep = load(file)
    check_folder(out, resume, part)
    manifest = {
        **environment(started or datetime.now(UTC)),
        "sweep": {"path": str(file), "sha256": sweep.digest()},
        "scenario": {"path": str(sweep.scenario_path.resolve())},
        "seeding": SEEDING,
    }
    points = prepare(sweep, out, resume or is_sweep_folder(out), manifest)
    every = tasks(sweep, points, part)
    done = done_runs(out)
    todo = [task for task in every if task.run not in done]
    return Plan(sweep, out, backend, scheduler, part, points, every, todo)


SEEDING = (
    "run r of point p draws from numpy SeedSequence(design.seed, spawn_key=(p, r)); "
    "with common_random_numbers, spawn_key=(r,)"
)


def execute(
    plan: Plan,
    workers: int,
    batch: int = 20,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, int]:
    """Run the plan's remaining runs on its backend, writing parts as they finish.

    What finished is written even when the sweep is interrupted (Ctrl-C). Returns the counts
    of runs done and failed.
    """
    from sim.experiments import backends

    parts = Parts(plan.out, f"{plan.shard[0]}of{plan.shard[1]}", batch)
    counts = {"done": 0, "failed": 0}

    def record(result: dict) -> None:
        parts.add(result)
        counts["done" if result["ok"] else "failed"] += 1
        if progress:
            progress(counts)

    job = Job.of(plan.sweep)
    try:
        if plan.backend == "dask":
            backends.run_dask(job, plan.todo, workers, record, plan.scheduler)
        else:
            backends.run_local(job, plan.todo, workers, record)
    finally:
        parts.flush()
    return counts
