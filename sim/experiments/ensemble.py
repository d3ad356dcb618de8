"""Ensembles: one scenario over many seeds, in parallel processes.

Run i draws every random stream from ``SeedSequence(root, spawn_key=(i,))`` (the i-th child of
the root seed), never from a worker or the order of completion, so an ensemble is the same
whatever the number of workers. Results are gathered in run order.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager

import pandas as pd

from sim.experiments.runner import Plan, Result
from sim.inputs.scenario import with_overrides
from sim.model import threads
from sim.model.model import MultivectorModel

SINGLE_THREADED = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    threads.VARIABLE: "1",
}
"""Each worker uses one core: several threaded workers on two cores would oversubscribe."""


def run_replicate(
    plan: Plan, index: int, drawn: dict[str, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame], list[str]]:
    """Run replicate ``index`` of a plan (with ``drawn``, its row of the posterior): its
    tables (time series, groups, channels), its person-level snapshots at the plan's
    snapshot dates, each with a ``run`` column, and the warnings about events its powers'
    capacity cut (:meth:`MultivectorModel.cut_events`)."""
    spec = with_overrides(plan.spec, drawn, "posterior") if drawn else plan.spec
    model = MultivectorModel(spec, plan.profile, until=plan.until, replicate=index)
    snapshots = {}
    for date in plan.snapshots:  # sorted, within the run
        model.run_to(date)
        snapshots[date] = model.persons()
        snapshots[date].insert(0, "run", index)
    model.run_to()
    tables = (model.timeseries(), model.groups(), model.channels())
    runs = (*(table.assign(run=index) for table in tables), snapshots, model.cut_events())
    return runs  # type: ignore[return-value]


def run_ensemble(
    plan: Plan,
    reps: int,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """``reps`` replicates of a plan on ``workers`` processes (default: every core).

    With one worker, the runs happen in this process (no pool).
    """
    # each task carries its own row of the posterior, not every run's
    slim = dataclasses.replace(plan, draws=None)
    rows = plan.draws.values if plan.draws else [None] * reps
    ordered = run_tasks(
        run_replicate, [(slim, index, rows[index]) for index in range(reps)], workers, progress
    )
    timeseries, groups, channels = (
        pd.concat([run[k] for run in ordered], ignore_index=True) for k in range(3)
    )
    snapshots = {  # every run's persons, the index (``person``) kept
        date: pd.concat([run[3][date] for run in ordered]) for date in plan.snapshots
    }
    return Result(
        spec=plan.spec,
        timeseries=timeseries,
        groups=groups,
        channels=channels,
        snapshots=snapshots,
        seed=plan.spec.run.seed,
        replicates=list(range(reps)),
        warnings=ordered[0][4],  # the powers' capacity is the same in every run
    )


def run_tasks[T](
    function: Callable[..., T],
    arguments: list[tuple],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[T]:
    """``function(*args)`` for every tuple of arguments, on ``workers`` processes (default:
    every core; one worker runs them here), results in the order of ``arguments``."""
    workers = min(len(arguments), workers or os.cpu_count() or 1)
    done: dict[int, T] = {}
    if workers <= 1:
        for index, args in enumerate(arguments):
            done[index] = function(*args)
            if progress:
                progress(len(done), len(arguments))
    else:
        with process_pool(workers) as pool:
            futures = {pool.submit(function, *args): i for i, args in enumerate(arguments)}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if progress:
                    progress(len(done), len(arguments))
    return [done[index] for index in range(len(arguments))]


@contextmanager
def process_pool(workers: int, **options):
    """A pool of ``workers`` spawned processes, one thread each (no fork of a threaded
    parent; several threaded workers on two cores would oversubscribe them)."""
    context = multiprocessing.get_context("spawn")
    with (
        single_threaded(),
        ProcessPoolExecutor(workers, mp_context=context, **options) as pool,
    ):
        yield pool


def single_threaded():
    """Child processes started inside this block use one thread each."""
    return _environment(SINGLE_THREADED)


@contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for child processes, restoring them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
