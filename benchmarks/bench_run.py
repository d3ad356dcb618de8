"""Speed and memory of whole runs. Prints figures; asserts nothing.

    uv run python -m benchmarks.bench_run

Goals (issue 2): the default scenario (20,000 persons, 2015-01 to 2035-12, monthly) in under
5 s on one core, setup included; 100,000 persons over 40 years in under 15 s; under 400 bytes
per person. Interpreter start and imports are printed apart: they do not grow with the model.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the goal says
os.environ.setdefault("MULTIVECTOR_THREADS", "1")  # the model's own threads too
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import time
import tracemalloc

started = time.perf_counter()
from sim.inputs.scenario import load_with_profile  # noqa: E402
from sim.model.model import MultivectorModel  # noqa: E402

IMPORTS = time.perf_counter() - started


def timed_run(overrides: dict) -> tuple[float, float, int]:
    """Seconds to load, build and run; seconds of the build alone; months run."""
    start = time.perf_counter()
    scenario, profile, _ = load_with_profile("baseline", overrides)
    model = MultivectorModel(scenario, profile)
    built = time.perf_counter()
    model.run_to()
    return time.perf_counter() - start, built - start, model.steps


def peak_bytes_per_person(overrides: dict) -> float:
    scenario, profile, _ = load_with_profile("baseline", overrides)
    tracemalloc.start()
    model = MultivectorModel(scenario, profile)
    model.run_to()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / scenario.run.population


def main() -> None:
    print(f"imports (mesa, pandas, numpy, sim): {IMPORTS:.2f} s")
    runs = [timed_run({}) for _ in range(3)]
    total = [r[0] for r in runs]
    print(
        f"default scenario, 20,000 persons, {runs[0][2]} months: "
        f"median {statistics.median(total):.2f} s (min {min(total):.2f} s; "
        f"build {runs[0][1]:.2f} s) - goal < 5 s"
    )
    big = {"run.population": 100_000, "run.end": "2054-12"}
    seconds, build, months = timed_run(big)
    print(f"100,000 persons, {months} months: {seconds:.2f} s (build {build:.2f} s) - goal < 15 s")
    print(
        f"peak traced memory per person at 100,000 persons: {peak_bytes_per_person(big):.0f} B "
        "- goal < 400 B"
    )


if __name__ == "__main__":
    main()
