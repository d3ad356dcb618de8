"""How far the model is from the hardware's limits. Prints every figure of the speed issue
(issue 13) beside its goal; asserts nothing.

    uv run python -m benchmarks.bench_limits            # everything: about ten minutes
    uv run python -m benchmarks.bench_limits --quick    # no 1,000,000 persons, no sweep

It measures, in one process unless said otherwise:

- the machine's memory-streaming bandwidth: a numpy copy of 512 MiB, read and write, split
  between the threads the update runs on, as the update is (two threads stream about twice
  what one does on this project's machine), and on one thread;
- the monthly update (the compiled kernel alone, on the threads a run uses) at 1,000,000
  persons (100,000 with ``--quick``): nanoseconds per person-step, the bytes per
  person-step it streams (every per-person array it reads or writes, counted from the
  arrays themselves; the neighbours' rows it reads at random are not counted), and the
  ratio of its time to the streaming floor for those bytes;
- the fixed cost of a month: a step at 1,000 persons, where per-person work is small (the
  fastest of three measurements of 60 months, printed with all three to the microsecond,
  after a first one, printed too, in which the process loads the compiled passes a month
  calls, those of the first December among them: a cost of the process's start, not of a
  month);
  and that step less its persons' share, the step's time extrapolated to no persons from
  steps at 1,000 and 4,000;
- 100,000 persons over 40 years, monthly, in-process, setup included;
- 1,000,000 persons over 20 years in a new process: seconds (setup included, after a
  1,000-person month that loads the compiled passes) and peak resident memory above the
  interpreter with its imports, per person, and above the process once warm (what grows
  with the persons);
- the monthly update at 10,000 persons against the plain-Mesa reference
  (``benchmarks/naive.py``; one thread each, noise off, as ``bench_naive``): the fastest of
  five measurements of the model (60 months each) against the faster of two of the
  reference (2 months each), medians beside them;
- a sweep of the default scenario at 10,000 persons on 2 workers (``multivector sweep``):
  1,000 runs; with ``--sweep-runs R`` fewer, R runs and R/5 runs, and 1,000 projected as
  the larger sweep plus the rest at the pace between the two (a sweep's start, its
  processes' imports, is paid once); ``bench_sweep`` has the sweep's other figures;
- the start of the command line: ``multivector --help`` and a 1,000-person, one-month run,
  each in a new process, with Python's bytecode cache on, as on a user's machine (this
  workplace sets PYTHONDONTWRITEBYTECODE, which would make every start compile its modules);
  and the floor under a run's start: a new process that imports what ``run`` imports and
  loads one compiled rule from numba's cache, and does nothing else.

Threads: numpy's BLAS and OpenMP are kept to one, as the command line keeps them; the model's
own passes use ``MULTIVECTOR_THREADS`` or every core (printed).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sim.inputs.scenario import load_with_profile
from sim.model import rules, threads
from sim.model.model import MultivectorModel


def streaming_bandwidth(mib: int = 512, repeats: int = 5) -> float:
    """Bytes per second of a large array copy (each byte read once and written once), in
    parts of consecutive elements, one per thread, as the model's passes split persons
    (:func:`sim.model.threads.over_rows`; numpy's copy releases the GIL)."""
    source = np.ones(mib * 2**20 // 8)
    target = np.empty_like(source)

    def copy(first: int, last: int) -> None:
        np.copyto(target[first:last], source[first:last])

    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        threads.over_rows(copy, source.size)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best


def kernel_arguments(population: int) -> tuple:
    """The arguments of one month's compiled update of a baseline run at ``population``
    (after the row range: the output arrays, then the kernel's inputs)."""
    scenario, profile, _ = load_with_profile("baseline", {"run.population": population})
    model = MultivectorModel(scenario, profile, until="2015-03")
    captured: list[tuple] = []
    split = threads.over_rows

    def capture(kernel, rows, *args, **options):
        if kernel is rules.monthly_update:
            assert options == {"block": rules.FAR_BLOCK}, options  # time_kernel splits so
            captured.append(args)
        return split(kernel, rows, *args, **options)

    threads.over_rows = capture
    try:
        model.step()
    finally:
        threads.over_rows = split
    return captured[-1]


def streamed_bytes(arguments: tuple, population: int) -> float:
    """Bytes per person of every per-person array the kernel reads, and the new attraction
    (N, P) and identity (N,) it writes (the first two arguments)."""
    inputs = arguments[2:]
    per_person = [
        a for a in inputs if isinstance(a, np.ndarray) and a.ndim and a.shape[0] >= population
    ]
    read = sum(a.nbytes for a in per_person)
    written = arguments[0].nbytes + arguments[1].nbytes
    return (read + written) / population


def time_kernel(arguments: tuple, population: int, repeats: int = 5) -> list[float]:
    def update():
        threads.over_rows(rules.monthly_update, population, *arguments, block=rules.FAR_BLOCK)

    update()  # compiled or loaded from the cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        update()
        times.append(time.perf_counter() - start)
    return times


def fixed_cost_per_step(population: int = 1000, months: int = 60) -> float:
    scenario, profile, _ = load_with_profile("baseline", {"run.population": population})
    model = MultivectorModel(scenario, profile)
    model.step()
    start = time.perf_counter()
    for _ in range(months):
        model.step()
    return (time.perf_counter() - start) / months


def whole_run(population: int, end: str) -> float:
    start = time.perf_counter()
    scenario, profile, _ = load_with_profile(
        "baseline", {"run.population": population, "run.end": end}
    )
    MultivectorModel(scenario, profile).run_to()
    return time.perf_counter() - start


MILLION = """
import gc, json, sys, time
start = time.perf_counter()
from sim.inputs.scenario import load_with_profile
from sim.model.model import MultivectorModel
import sim.model.measures, pandas  # everything a run imports, with the module numba
import scipy.linalg  # imports when it loads its first compiled function (as every run does)


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024


imported = status("VmRSS")
scenario, profile, _ = load_with_profile("baseline", {"run.population": 1000})
MultivectorModel(scenario, profile, until="2015-02").run_to()  # numba's compiled code loaded
gc.collect()
warm, before = status("VmRSS"), time.perf_counter()
persons, until = int(sys.argv[1]), sys.argv[2]
scenario, profile, _ = load_with_profile("baseline", {"run.population": persons})
MultivectorModel(scenario, profile, until=until).run_to()
print(json.dumps({"seconds": time.perf_counter() - before, "imports": imported, "warm": warm,
                  "peak": status("VmHWM")}))
"""
"""A whole run in a process of its own, so that its peak memory is the run's, after a
1,000-person month that loads the compiled passes (numba's runtime and code, some 55 MiB
that do not grow with the persons)."""


def million_run(persons: int = 1_000_000, until: str = "2034-12") -> dict:
    """Seconds (setup included, imports and compiled code's loading not) and memory of a
    run in a new process (:data:`MILLION`)."""
    done = subprocess.run(
        [sys.executable, "-c", MILLION, str(persons), until],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def naive_ratio(repeats: int = 5) -> tuple[list[float], list[float], list[float]]:
    """Seconds of one month's update at 10,000 persons, each measured ``repeats`` times (a
    new model each time): the model's on one thread and on the threads a run uses, and the
    plain-Mesa reference's, twice (one thread: it is Python; :mod:`benchmarks.bench_naive`)."""
    from benchmarks import bench_naive

    with threads.using(1):
        one = [bench_naive.seconds_per_update(False, 60) for _ in range(repeats)]
        naive = [bench_naive.seconds_per_update(True, 2) for _ in range(2)]
    threaded = [bench_naive.seconds_per_update(False, 60) for _ in range(repeats)]
    return one, threaded, naive


def sweep_seconds(runs: int) -> float:
    """Seconds of a ``runs``-run sweep at 10,000 persons on 2 workers (``multivector
    sweep`` in a new process, as :mod:`benchmarks.bench_sweep` runs it)."""
    from benchmarks.bench_sweep import sweep

    with tempfile.TemporaryDirectory() as folder:
        return sweep(runs, 2, Path(folder))["seconds"]


USER_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""As on a user's machine: Python may keep the bytecode it compiles."""


IMPORTS = """
from sim.app import cli
from sim.experiments import runner
from sim.model import model, rules
from sim.results import plots, writing
import numpy
rules.project_to_simplex(numpy.ones((1, 2)))
import gc; gc.freeze()
"""
"""What ``multivector run`` imports, and one compiled rule loaded from numba's cache (the
first load sets up numba's compiler, whatever the rule), and the exit the command makes
(:func:`sim.app.cli.entry`)."""


def command_seconds(*arguments: str, repeats: int = 3, command: str | None = None) -> list[float]:
    command = (
        command or shutil.which("multivector") or str(Path(sys.executable).parent / "multivector")
    )
    subprocess.run([command, *arguments], check=True, capture_output=True, env=USER_ENVIRONMENT)
    times = []  # after one start that may write the bytecode cache: a warm install
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([command, *arguments], check=True, capture_output=True, env=USER_ENVIRONMENT)
        times.append(time.perf_counter() - start)
    return times


def line(label: str, figure: str, goal: str) -> None:
    print(f"{label:<58} {figure:<28} goal: {goal}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="no 1,000,000 persons, no sweep (about a minute)"
    )
    parser.add_argument(
        "--sweep-runs",
        type=int,
        default=1000,
        help="runs of the measured sweep (default 1,000; fewer are projected to 1,000)",
    )
    options = parser.parse_args()
    quick = options.quick
    if options.sweep_runs < 10:
        parser.error("--sweep-runs: at least 10 (a fifth of them is the smaller sweep)")

    print(f"model threads: {threads.count()} ({threads.VARIABLE} or the cores available)")
    bandwidth = streaming_bandwidth()
    with threads.using(1):
        one = streaming_bandwidth()
    line(
        f"memory-streaming bandwidth, copy (read + write), {threads.count()} threads",
        f"{bandwidth / 1e9:.1f} GB/s (one thread: {one / 1e9:.1f})",
        "-",
    )

    n = 100_000 if quick else 1_000_000
    arguments = kernel_arguments(n)
    times = time_kernel(arguments, n)
    per_step = min(times) / n * 1e9
    bytes_per = streamed_bytes(arguments, n)
    floor = bytes_per / bandwidth * 1e9
    del arguments
    line(
        f"monthly update at {n:,} persons, ns per person-step",
        f"{per_step:.0f} (median {statistics.median(times) / n * 1e9:.0f})",
        "-",
    )
    line(
        "  bytes streamed per person-step; floor at that bandwidth",
        f"{bytes_per:.0f} B; {floor:.1f} ns",
        "-",
    )
    line(
        f"  ratio to the streaming floor ({n:,} persons)",
        f"{per_step / floor:.1f}x",
        "<= 5x at 1,000,000",
    )

    first = fixed_cost_per_step()  # loads the passes a month calls, the first December's too
    steps = sorted(fixed_cost_per_step() for _ in range(3))
    fixed = steps[0]  # three decimals: the goal's own 0.3 is not hidden by rounding
    figure = f"{fixed * 1e3:.3f} ms (of 3: {', '.join(f'{t * 1e3:.3f}' for t in steps)})"
    line("fixed cost of a month (1,000 persons)", figure, "<= 0.3 ms")
    line("  the first such run, loading the compiled passes", f"{first * 1e3:.3f} ms", "-")
    larger = min(fixed_cost_per_step(4000) for _ in range(3))
    intercept = fixed - (larger - fixed) / 3  # the step at 1,000 less a person's share
    line("  less its persons' share (from a step at 4,000)", f"{intercept * 1e3:.3f} ms", "-")
    seconds = whole_run(100_000, "2054-12")
    line("100,000 persons x 40 years, in-process", f"{seconds:.1f} s", "<= 5 s on 2 cores")

    if not quick:
        million = million_run()
        line("1,000,000 persons x 20 years, new process", f"{million['seconds']:.1f} s", "<= 60 s")
        above = (million["peak"] - million["imports"]) / 1_000_000
        line("  peak memory above the interpreter and imports", f"{above:.0f} B a person",
             "<= 250 B")  # fmt: skip
        own = (million["peak"] - million["warm"]) / 1_000_000
        line("  of which grows with the persons (above a warm process)", f"{own:.0f} B", "-")

    ones, threaded, naives = naive_ratio()
    one, naive = min(ones), min(naives)
    line(
        "update at 10,000 persons against plain Mesa (one thread)",
        f"{naive / one:.0f}x ({one * 1e3:.2f} ms, {naive:.2f} s; median "
        f"{statistics.median(ones) * 1e3:.2f} ms, {statistics.median(naives):.2f} s)",
        ">= 600x",
    )
    line(
        f"  the same, the model on {threads.count()} threads",
        f"{naive / min(threaded):.0f}x ({min(threaded) * 1e3:.2f} ms; median "
        f"{statistics.median(threaded) * 1e3:.2f} ms)",
        ">= 600x",
    )

    if not quick:
        runs = options.sweep_runs
        took = sweep_seconds(runs)
        label = f"sweep at 10,000 persons, 2 workers: {runs:,} runs"
        if runs == 1000:
            line(label, f"{took / 60:.1f} min", "<= 6 min")
        else:
            fewer = runs // 5
            start = sweep_seconds(fewer)
            pace = (took - start) / (runs - fewer)  # seconds a run, once started
            line(label, f"{took / 60:.1f} min ({fewer} runs: {start / 60:.1f} min)", "-")
            projected = took + (1000 - runs) * pace
            line("  1,000 runs at the pace between them", f"{projected / 60:.1f} min", "<= 6 min")

    with tempfile.TemporaryDirectory() as folder:
        help_times = command_seconds("--help")
        run_times = command_seconds(
            "run", "--population", "1000", "--until", "2015-02", "--quiet", "--out",
            os.path.join(folder, "run"), "--overwrite",
        )  # fmt: skip
    line("multivector --help, new process", f"{min(help_times):.2f} s", "<= 0.5 s")
    line(
        "multivector run --population 1000 --until 2015-02",
        f"{min(run_times):.2f} s (median {statistics.median(run_times):.2f})",
        "<= 2 s warm",
    )
    floor = command_seconds("-c", IMPORTS, command=sys.executable)
    line(
        "  its floor: imports and numba's first load, new process",
        f"{min(floor):.2f} s (median {statistics.median(floor):.2f})",
        "-",
    )
    print(f"(python {sys.version.split()[0]}; the commands ran without PYTHONDONTWRITEBYTECODE)")


if __name__ == "__main__":
    main()
