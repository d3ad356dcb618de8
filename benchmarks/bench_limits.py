"""How far the model is from the hardware's limits. Prints figures beside their goals (the
speed issue's); asserts nothing.

    uv run python -m benchmarks.bench_limits            # about two minutes
    uv run python -m benchmarks.bench_limits --quick    # skips the 1,000,000-person figures

It measures, in one process:

- the machine's memory-streaming bandwidth (a numpy copy of 512 MiB, read and write);
- the monthly update (the compiled kernel alone) at 1,000,000 persons: nanoseconds per
  person-step, the bytes per person-step it streams (every per-person array it reads or
  writes, counted from the arrays themselves; the neighbours' rows it reads at random are
  not counted), and the ratio of its time to the streaming floor for those bytes;
- the fixed cost of a month: a step at 1,000 persons, where per-person work is small;
- 100,000 persons over 40 years, monthly, in-process;
- the start of the command line: ``multivector --help`` and a 1,000-person, one-month run,
  each in a new process (Python's bytecode cache matters here: see the README).

Threads: numpy's BLAS and OpenMP are kept to one, as the command line keeps them.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from sim.inputs.scenario import load_with_profile
from sim.model import rules
from sim.model.model import MultivectorModel


def streaming_bandwidth(mib: int = 512, repeats: int = 5) -> float:
    """Bytes per second of a large array copy (each byte read once and written once)."""
    source = np.ones(mib * 2**20 // 8)
    target = np.empty_like(source)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best


def kernel_arguments(population: int) -> tuple:
    """The arguments of one month's compiled update of a baseline run at ``population``."""
    scenario, profile, _ = load_with_profile("baseline", {"run.population": population})
    model = MultivectorModel(scenario, profile, until="2015-03")
    captured: list[tuple] = []
    kernel = rules.monthly_update

    def capture(*args):
        captured.append(args)
        return kernel(*args)

    rules.monthly_update = capture
    try:
        model.step()
    finally:
        rules.monthly_update = kernel
    return captured[-1]


def streamed_bytes(arguments: tuple, population: int) -> float:
    """Bytes per person of every per-person array the kernel reads, and the new attraction
    (N, P) and identity (N,) it writes."""
    per_person = [
        a for a in arguments if isinstance(a, np.ndarray) and a.ndim and a.shape[0] >= population
    ]
    read = sum(a.nbytes for a in per_person)
    written = arguments[0].nbytes + arguments[1].nbytes  # same shapes as the old
    return (read + written) / population


def time_kernel(arguments: tuple, repeats: int = 5) -> list[float]:
    rules.monthly_update(*arguments)  # compiled or loaded from the cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rules.monthly_update(*arguments)
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


def command_seconds(*arguments: str, repeats: int = 3) -> list[float]:
    command = shutil.which("multivector") or "multivector"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([command, *arguments], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def line(label: str, figure: str, goal: str) -> None:
    print(f"{label:<58} {figure:<28} goal: {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip 1,000,000 persons")
    quick = parser.parse_args().quick

    bandwidth = streaming_bandwidth()
    line("memory-streaming bandwidth (copy, read + write)", f"{bandwidth / 1e9:.1f} GB/s", "-")

    sizes = [100_000] if quick else [100_000, 1_000_000]
    for n in sizes:
        arguments = kernel_arguments(n)
        times = time_kernel(arguments)
        per_step = min(times) / n * 1e9
        bytes_per = streamed_bytes(arguments, n)
        floor = bytes_per / bandwidth * 1e9
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
        line(f"  ratio to the streaming floor ({n:,} persons)", f"{per_step / floor:.1f}x", "<= 5x")

    fixed = fixed_cost_per_step()
    line("fixed cost of a month (1,000 persons)", f"{fixed * 1e3:.2f} ms", "<= 0.3 ms")
    seconds = whole_run(100_000, "2054-12")
    line("100,000 persons x 40 years, in-process", f"{seconds:.1f} s", "<= 5 s on 2 cores")

    with tempfile.TemporaryDirectory() as folder:
        help_times = command_seconds("--help")
        run_times = command_seconds(
            "run", "--population", "1000", "--until", "2015-02", "--quiet", "--out",
            os.path.join(folder, "run"), "--overwrite",
        )  # fmt: skip
    line("multivector --help, new process", f"{min(help_times):.2f} s", "<= 0.5 s")
    line(
        "multivector run --population 1000 --until 2015-02",
        f"{min(run_times):.2f} s",
        "<= 2 s warm",
    )
    print(f"(python {sys.version.split()[0]}; PYTHONDONTWRITEBYTECODE="
          f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})")  # fmt: skip


if __name__ == "__main__":
    main()
