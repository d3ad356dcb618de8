"""Parameter sweeps: a design over any parameters, run in parallel, streamed to Parquet parts.

The flow of ``multivector sweep FILE --out DIR``:

1. The sweep file is read and checked (:func:`spec.load`) before anything runs: parameter
   paths, ranges, the design's size for its method, the outcomes.
2. The design (one row per point) is drawn (:func:`spec.design`) and written with a copy of
   the sweep file and a manifest before the first run is dispatched (:mod:`.store`).
3. Runs (point x replication) go to a backend (:mod:`.backends`). Run ``r`` of point ``p``
   draws its randomness from ``SeedSequence(design.seed, spawn_key=(p, r))`` (or ``(r,)``
   with common random numbers), never from a worker or the order of completion, so results
   are identical whichever backend, worker count or shard produced them (:mod:`.runs`).
4. Finished runs are buffered and written in parts (``results/part-*.parquet``), each
   atomically; a run that raises leaves ``failures/run-<id>.json`` with its traceback.
   ``--resume`` skips every run already in a part or a failure record (:mod:`.execute`).

The names below are the sweep's public face; the modules hold the rest.
"""

from sim.experiments.sweep.execute import SweepPlan, execute, parse_shard, plan
from sim.experiments.sweep.runs import Job, simulate
from sim.experiments.sweep.spec import Outcome, Sweep, SweepFile, Task, design, load, stored, tasks
from sim.experiments.sweep.store import (
    duplicated_runs,
    failures,
    is_sweep_folder,
    results,
    series,
)

__all__ = [
    "Job",
    "Outcome",
    "Sweep",
    "SweepFile",
    "SweepPlan",
    "Task",
    "design",
    "duplicated_runs",
    "execute",
    "failures",
    "is_sweep_folder",
    "load",
    "parse_shard",
    "plan",
    "results",
    "series",
    "simulate",
    "stored",
    "tasks",
]
