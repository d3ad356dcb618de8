"""Running a sweep: a design over any parameters, run in parallel, streamed to Parquet parts.

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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from sim.experiments.sweep.runs import Job
from sim.experiments.sweep.spec import Sweep, Task, load, tasks
from sim.experiments.sweep.store import (
    Lock,
    Parts,
    check_folder,
    done_runs,
    is_sweep_folder,
    prepare,
    recover,
)
from sim.inputs.errors import COMMAND_LINE, refuse


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
class SweepPlan:
    """A checked sweep ready to run: its folder prepared, its runs listed."""

    sweep: Sweep
    out: Path
    backend: str
    scheduler: str | None
    shard: tuple[int, int]
    points: pd.DataFrame
    tasks: list[Task]
    todo: list[Task]
    lock: Lock | None = None
    notes: tuple[str, ...] = ()
    """Parts set aside in ``quarantine/`` before the runs, one sentence each."""
    stamped: dict | None = None

    def release(self) -> None:
        """Let another process write this sweep folder (done by :func:`execute`)."""
        if self.lock is not None:
            self.lock.release()


def plan(
    file: str | Path,
    out: Path,
    backend: str = "local",
    scheduler: str | None = None,
    shard: str | None = None,
    resume: bool = False,
    started: datetime | None = None,
) -> SweepPlan:
    """Check everything, write the design and manifest, and list the runs still to do.

    Raises ScenarioError (nothing run, nothing written) for a bad file or option.
    """
    from sim.experiments.provenance import WriteFailed, check_writable, environment, reason, stamp
    from sim.experiments.sweep.backends import BACKENDS, check_scheduler

    if backend not in BACKENDS:
        raise refuse(
            COMMAND_LINE, "--backend", f"unknown value {backend!r}; allowed: {', '.join(BACKENDS)}"
        )
    if scheduler is not None and backend != "dask":
        raise refuse(COMMAND_LINE, "--scheduler", "needs --backend dask")
    part = parse_shard(shard)
    sweep = load(file)
    if scheduler is not None:
        check_scheduler(scheduler)
    out = Path(out)
    check_writable(out)
    if out.exists() and not out.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{out} is a file, not a folder")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WriteFailed(out, reason(err)) from None
    lock = Lock(out, part)
    try:
        lock.acquire()
        check_folder(out, resume, part)
        manifest = {
            **environment(started or datetime.now(UTC)),
            "sweep": {"name": sweep.spec.name, "path": str(file), "sha256": sweep.digest()},
            "scenario": _scenario(sweep),
            "seed": sweep.spec.design.seed,
            "posterior": None if sweep.draws is None else sweep.draws.provenance(),
            "parameters": sweep.roles(),
            "seeding": SEEDING,
        }
        points = prepare(sweep, out, resume or is_sweep_folder(out), manifest)
        notes = recover(out, {lock.label})
        every = tasks(sweep, points, part)
        done = done_runs(out)
    except BaseException:
        lock.release()
        if not is_sweep_folder(out):  # refused: leave no lock file in a folder not a sweep
            lock.discard()
        if created:
            _remove_empty(out)
        raise
    todo = [task for task in every if task.run not in done]
    stamped = stamp(manifest)
    return SweepPlan(
        sweep, out, backend, scheduler, part, points, every, todo, lock, tuple(notes), stamped
    )


def _scenario(sweep: Sweep) -> dict:
    """The base scenario: its name, path, and every file it comes from with its SHA-256."""
    from sim.inputs.scenario import load_with_profile, scenario_hash

    spec, _, resolved = load_with_profile(sweep.scenario_path)
    return {
        "name": spec.name,
        "path": str(sweep.scenario_path.resolve()),
        "files": [{"path": str(s.path), "sha256": scenario_hash(s.path)} for s in resolved.chain],
    }


def _remove_empty(folder: Path) -> None:
    """Undo creating a sweep folder that was refused: only its lock files were written."""
    try:
        for entry in folder.iterdir():
            if not Lock.is_lock_file(entry.name):
                return
        for entry in folder.iterdir():
            entry.unlink()
        folder.rmdir()
    except OSError:
        pass


SEEDING = (
    "run r of point p draws from numpy SeedSequence(design.seed, spawn_key=(p, r)); "
    "with common_random_numbers, spawn_key=(r,)"
)


def execute(
    plan: SweepPlan,
    workers: int,
    batch: int = 20,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, int]:
    """Run the plan's remaining runs on its backend, writing parts as they finish.

    What finished is written even when the sweep is interrupted (Ctrl-C). Returns the counts
    of runs done and failed.
    """
    from sim.experiments.sweep import backends

    parts = Parts(plan.out, f"{plan.shard[0]}of{plan.shard[1]}", batch, plan.stamped)
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
        try:
            parts.flush()
        finally:
            plan.release()
    return counts
