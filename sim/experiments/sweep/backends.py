"""Where a sweep's runs execute: in this process, in local processes, or on Dask.

Every backend takes the same tasks and calls ``on_result`` with each finished one, in any
order; results do not depend on the order, since every run's seed comes from its task. Only a
bounded number of runs is in flight at once, so memory stays flat however long the sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait

from sim.experiments.ensemble import process_pool, single_threaded
from sim.experiments.sweep.runs import Job, simulate
from sim.experiments.sweep.spec import Task

BACKENDS = ("local", "dask")
IN_FLIGHT = 4
"""Runs queued per worker beyond the one it is running."""


def run_serial(job: Job, tasks: list[Task], on_result: Callable[[dict], None]) -> None:
    for task in tasks:
        on_result(simulate(job, task))


def run_local(job: Job, tasks: list[Task], workers: int, on_result: Callable[[dict], None]) -> None:
    """Local processes (spawned, one thread each)."""
    if workers == 1:
        run_serial(job, tasks, on_result)
        return
    queue = iter(tasks)
    with process_pool(workers) as pool:
        running = set()
        for task in queue:
            running.add(pool.submit(simulate, job, task))
            if len(running) >= workers * IN_FLIGHT:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    on_result(future.result())
        for future in wait(running).done:
            on_result(future.result())


def run_dask(
    job: Job,
    tasks: list[Task],
    workers: int,
    on_result: Callable[[dict], None],
    scheduler: str | None = None,
) -> None:
    """A dask.distributed cluster at ``scheduler``, or a local one of ``workers`` processes.

    On SLURM or PBS, start a cluster with dask-jobqueue and pass its scheduler address (see
    the README). Workers need this package installed.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    with single_threaded():  # the local cluster's workers inherit it
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            cluster, client = None, Client(scheduler)
        try:
            queue = iter(tasks)
            limit = max(1, sum(client.nthreads().values())) * IN_FLIGHT
            futures = as_completed()
            for task in queue:
                futures.add(client.submit(simulate, job, task, pure=False))
                if futures.count() >= limit:
                    on_result(next(futures).result())
            for future in futures:
                on_result(future.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
