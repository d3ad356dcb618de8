"""One run of a sweep: what every run shares (:class:`Job`), running a task, its outcomes."""

from __future__ import annotations

import gc
import math
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.sweep.spec import Outcome, Sweep, Task

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
    drawn: tuple[dict[str, float], ...] = ()  # replication r's parameters from a posterior

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
            () if sweep.draws is None else sweep.draws.values,
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

    overrides = {**(job.drawn[task.replication] if job.drawn else {}), **dict(task.values)}
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
    if job.drawn:  # what the posterior gave this replication (the design's values win)
        row |= {k: v for k, v in job.drawn[task.replication].items() if k not in task.values}
    row |= dict(task.values)
    for outcome in job.outcomes:
        row[outcome.name] = outcome_value(ts, outcome)
        if not math.isfinite(row[outcome.name]):
            raise ValueError(f"outcome {outcome.name} is {row[outcome.name]}, not a number")
    series = None
    if job.timeseries:
        series = ts[["date", "power", *job.timeseries]].assign(run=task.run)
        numbers = series.select_dtypes("number").to_numpy(dtype=float)
        if not np.isfinite(numbers).all():
            raise ValueError("a recorded time series holds NaN or infinite values")
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
