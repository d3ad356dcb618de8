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
from sim.model import threads

BACKENDS = ("local", "dask")
CONNECT_TIMEOUT = 3.0
"""Seconds to wait for a Dask scheduler to answer before the sweep is refused."""


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Refuse (ScenarioError) a Dask scheduler that does not accept a connection within
    ``timeout`` seconds: checked before the sweep folder is written. Addresses of other
    transports than TCP (``inproc://``, ``ucx://``) are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    from sim.inputs.errors import COMMAND_LINE, refuse

    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        if parts.scheme not in ("tcp", "tls"):
            return
        host, port = parts.hostname, parts.port or 8786
    except ValueError as err:
        raise refuse(COMMAND_LINE, "--scheduler", f"{address!r}: {err}") from None
    if not host:
        raise refuse(COMMAND_LINE, "--scheduler", f"{address!r} names no host (tcp://HOST:PORT)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        _identity(text, timeout)  # something listening is not yet a scheduler (a proxy)
    except Exception as err:  # anything but an answer: refused before the folder is written
        if isinstance(err, TimeoutError):
            why = "no answer"
        elif isinstance(err, OSError) and err.strerror:
            why = err.strerror
        else:
            why = f"no Dask scheduler answered: {type(err).__name__}"
        raise refuse(
            COMMAND_LINE,
            "--scheduler",
            f"cannot reach the Dask scheduler at {address} ({why} within {timeout:g} s); "
            "start it first, or leave out --scheduler for a local cluster",
        ) from None


def _identity(address: str, timeout: float) -> dict:
    """Ask the scheduler who it is (Dask's ``identity`` call), within ``timeout`` seconds."""
    import asyncio

    from distributed.core import rpc

    async def ask() -> dict:
        async with rpc(address, timeout=timeout) as remote:
            return await asyncio.wait_for(remote.identity(), timeout)

    return asyncio.run(asyncio.wait_for(ask(), 2 * timeout))


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


def simulate_alone(job: Job, task: Task) -> dict:
    """:func:`simulate` on one thread: a dask worker already runs a task on each of its
    threads, and a remote cluster's workers do not see this process's environment."""
    with threads.using(1):
        return simulate(job, task)


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
                futures.add(client.submit(simulate_alone, job, task, pure=False))
                if futures.count() >= limit:
                    on_result(next(futures).result())
            for future in futures:
                on_result(future.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
