"""Compiled passes over persons, split between threads.

A compiled pass that releases the GIL (numba's ``nogil``) and takes a range of rows runs on
blocks of rows side by side, one block per thread. Every person's result depends only on
this month's arrays, never on another block, so the output is the same to the bit whatever
the number of threads (tests/test_threads.py holds it to that).

The number of threads is ``MULTIVECTOR_THREADS`` if set, else the cores this process may
use. A block is worth a thread only from :data:`ROWS_PER_THREAD` rows: below that,
handing the work over costs more than it saves, so small populations run in one thread.
Sweep and ensemble workers are started with ``MULTIVECTOR_THREADS=1``: several processes
already share the cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

ROWS_PER_THREAD = 5_000
"""The fewest rows a thread is given: handing a part to another thread and waiting for it
costs about 0.1 ms here, what the monthly update of some 2,000 persons costs (measured on
this project's two-core machine: at 10,000 persons two threads take 0.39 ms, one 0.56)."""

SUM_BLOCK = 65_536
"""Rows a pass sums together: passes that sum over persons keep a partial sum per block of
rows and add them in block order, so that their totals do not depend on how many threads
shared the blocks (:func:`over_rows` starts every part on a block)."""

VARIABLE = "MULTIVECTOR_THREADS"

_chosen: int | None = None
_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (process id, size, pool)


def available() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def count() -> int:
    """The number of threads a pass may use: ``MULTIVECTOR_THREADS`` (a positive whole
    number) or :func:`available`; :func:`using` overrides both."""
    if _chosen is not None:
        return _chosen
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        return available()
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{VARIABLE}={value!r}: expected a whole number of threads, 1 or more")
    return number


@contextmanager
def using(number: int):
    """Run passes on ``number`` threads inside the block (for tests and benchmarks)."""
    global _chosen
    if number < 1:
        raise ValueError(f"threads: expected 1 or more, got {number}")
    saved, _chosen = _chosen, number
    try:
        yield
    finally:
        _chosen = saved


def over_rows(kernel: Callable[..., None], rows: int, *arguments, block: int = 1) -> None:
    """``kernel(first, last, *arguments)`` over rows 0 to ``rows``, in as many parts of
    consecutive rows as there are threads to run them (one part, run here, when the rows
    are too few to share). Parts start at multiples of ``block``: a pass that sums rows
    block by block then adds the same numbers in the same order whatever the threads."""
    blocks = -(-rows // block)
    threads = max(1, min(count(), rows // ROWS_PER_THREAD, blocks))
    if threads == 1:
        kernel(0, rows, *arguments)
        return
    bounds = [min(rows, blocks * k // threads * block) for k in range(threads + 1)]
    pool = _threads(threads - 1)
    others = [pool.submit(kernel, bounds[k], bounds[k + 1], *arguments) for k in range(1, threads)]
    kernel(bounds[0], bounds[1], *arguments)  # this thread takes the first block
    for block in others:
        block.result()


def ahead[T](rows: int, work: Callable[..., T], *arguments, **options) -> Future[T] | None:
    """``work(*arguments, **options)`` started on a spare thread, to be collected later
    (``.result()``), when there is a spare thread and the rows are many enough for it to
    pay; else None (the caller does the work when it needs it)."""
    if count() < 2 or rows < ROWS_PER_THREAD:
        return None
    return _threads(1).submit(work, *arguments, **options)


def _threads(size: int) -> ThreadPoolExecutor:
    """A pool of ``size`` threads kept for the process (a forked child makes its own: the
    parent's threads do not survive a fork)."""
    global _pool
    pid = os.getpid()
    if _pool is None or _pool[0] != pid or _pool[1] < size:
        _pool = (pid, size, ThreadPoolExecutor(size, thread_name_prefix="multivector"))
    return _pool[2]
