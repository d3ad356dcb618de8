"""Compiled passes over persons, split between threads.

A compiled pass that releases the GIL (numba's ``nogil``) and takes a range of rows runs on
parts of consecutive rows side by side, one part per thread. Every person's result depends
only on this month's arrays, never on another part, and passes that sum over persons keep a
partial sum per block of :data:`SUM_BLOCK` rows, added in block order, or sum whole numbers,
which add up exactly in any order (the month's measures: :data:`sim.model.measures.FIXED`);
so the output is the same to the bit whatever the number of threads (tests/test_threads.py
holds it to that).

The number of threads is ``MULTIVECTOR_THREADS`` if set, else the cores this process may
use. A part is worth a thread only from :data:`ROWS_PER_THREAD` rows (a pass that sums
splits at block boundaries, so from two blocks): below that, handing the work over costs
more than it saves. Sweep and ensemble workers run with one thread each: several processes,
or dask's threads, already share the cores. Work started ahead on a spare thread
(:func:`ahead`, next month's exposure) holds it until done: a pass started meanwhile runs
its parts on the other threads instead of waiting for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
MOST = 256
"""The most threads ``MULTIVECTOR_THREADS`` may ask for."""

_chosen = threading.local()  # what :func:`using` set, for the thread that set it
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (size, pool)
_pool_lock = threading.Lock()
_ahead = 0  # work started by :func:`ahead` and not done: a thread of the pool it holds
_started_ahead: set[Future] = set()  # that work's futures, until done


def available() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def count() -> int:
    """The number of threads a pass started from this thread may use: what :func:`using`
    set here, else ``MULTIVECTOR_THREADS`` (a whole number from 1 to :data:`MOST`), else
    :func:`available`. A bad value of the variable raises ValueError naming it."""
    chosen = getattr(_chosen, "number", None)
    if chosen is not None:
        return chosen
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        return available()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MOST):
        raise ValueError(
            f"{VARIABLE}={value!r}: expected a whole number of threads from 1 to {MOST}"
        )
    return int(value)


@contextmanager
def using(number: int):
    """Run the passes started from this thread on ``number`` threads inside the block (for
    workers that share the cores, tests and benchmarks)."""
    if number < 1:
        raise ValueError(f"threads: expected 1 or more, got {number}")
    saved = getattr(_chosen, "number", None)
    _chosen.number = number
    try:
        yield
    finally:
        _chosen.number = saved


def over_rows[T](kernel: Callable[..., T], rows: int, *arguments, block: int = 1) -> list[T]:
    """``kernel(first, last, *arguments)`` over rows 0 to ``rows``, in as many parts of
    consecutive rows as there are threads to run them (one part, run here, when the rows
    are too few to share); returns what each part returned, in the parts' order. Parts
    start at multiples of ``block``: a pass that sums rows block by block then adds the
    same numbers in the same order whatever the threads. If a part raises, every part has
    ended when the error reaches the caller."""
    blocks = -(-rows // block)
    most = min(rows // ROWS_PER_THREAD, blocks)
    # few rows: one part; a thread busy with work started ahead is not waited for (the
    # parts it would take run on the others)
    threads = 1 if most < 2 else max(1, min(count() - _ahead, most))
    if threads == 1:
        return [kernel(0, rows, *arguments)]
    bounds = [min(rows, blocks * k // threads * block) for k in range(threads + 1)]
    pool = _threads(threads - 1)
    others = [pool.submit(kernel, bounds[k], bounds[k + 1], *arguments) for k in range(1, threads)]
    try:
        first = kernel(bounds[0], bounds[1], *arguments)  # this thread takes the first part
    finally:
        wait(others)  # no part still writing when this returns or raises
    return [first, *(part.result() for part in others)]


def ahead[T](rows: int, work: Callable[..., T], *arguments, **options) -> Future[T] | None:
    """``work(*arguments, **options)`` started on a spare thread, to be collected later
    (``.result()``), when there is a spare thread and the rows are many enough for it to
    pay; else None (the caller does the work when it needs it). ``work`` must not start
    passes itself: with two threads it holds the only spare one."""
    global _ahead
    if rows < ROWS_PER_THREAD or count() < 2:
        return None
    with _pool_lock:
        busy = _ahead > 0  # the spare thread has work: this work queues behind it
        _ahead += 1
    started = threading.Event()
    try:
        future = _threads(1).submit(_counted, work, arguments, options, started)
    except BaseException:
        _ahead_done()
        raise
    _started_ahead.add(future)
    future.add_done_callback(_started_ahead.discard)
    # Wait, without the GIL, until the work has started: it then holds the GIL until its
    # compiled pass lets go of it, and this thread goes on then. Else the work would start
    # only when this thread next let go of the GIL, which the month's Python may not do
    # for milliseconds (Python's switch interval is 5 ms). Work queued behind other work
    # is not waited for.
    if not busy:
        started.wait(STARTS_WITHIN)
    return future


STARTS_WITHIN = 0.1
"""Seconds :func:`ahead` waits at most for its work to start: an idle thread starts it in
some 50-150 µs here; the bound only keeps a stalled pool from holding up the run."""


def _counted[T](
    work: Callable[..., T], arguments: tuple, options: dict, started: threading.Event | None = None
) -> T:
    """``work``, counted in :data:`_ahead` until it ends (before its result is seen);
    ``started`` is set as it starts."""
    if started is not None:
        started.set()
    try:
        return work(*arguments, **options)
    finally:
        _ahead_done()


def _ahead_done() -> None:
    global _ahead
    with _pool_lock:
        _ahead -= 1


def _threads(size: int) -> ThreadPoolExecutor:
    """A pool of at least ``size`` threads, kept for the process."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] < size:
            if _pool is not None:
                _pool[1].shutdown(wait=False)  # its queued parts still run
            _pool = (size, ThreadPoolExecutor(size, thread_name_prefix="multivector"))
        return _pool[1]


def _forget_pool() -> None:
    """In a forked child: the parent's threads did not come along, so a new pool is made
    when one is needed (and a new lock, which a parent's thread may have held)."""
    global _pool, _pool_lock, _ahead
    _pool, _pool_lock, _ahead = None, threading.Lock(), 0
    _started_ahead.clear()


def _finish_work_ahead() -> None:
    """Before a fork: wait for work started ahead (:func:`ahead`). The child has none of
    this process's threads, so work one was doing would never end there, and whatever
    waits for it (next month's exposure) would wait forever."""
    wait(list(_started_ahead))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_work_ahead, after_in_child=_forget_pool)
