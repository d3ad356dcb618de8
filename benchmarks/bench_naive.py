"""The model's population update against the plain-Mesa reference (benchmarks/naive.py).

    uv run python -m benchmarks.bench_naive

Prints seconds per simulated month of each at 10,000 persons, the fastest of five
measurements of the model and of two of the reference, and their ratio (goal: at least
600x, issue 13; it was 100x). Both run the same model with noise off; only the population
update differs. The model's update is timed without the month's measures (``measure``
false), which it otherwise sums as it ends: the reference's update has none.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import time

from benchmarks.naive import use_naive_population
from sim.inputs.scenario import load_with_profile
from sim.model import threads
from sim.model.model import MultivectorModel

PERSONS = 10_000
SETTINGS = {"run.population": PERSONS, "mechanisms.stochastic_exposure": False}


def seconds_per_update(naive: bool, months: int) -> float:
    scenario, profile, _ = load_with_profile("baseline", SETTINGS)
    model = MultivectorModel(scenario, profile)
    if naive:
        use_naive_population(model)
    arguments = (
        model.params,
        model.signals(),
        model.state.promotion(),
        model.streams["exposure"],
        model.streams["incidents"],
        False,  # measure: the update alone (the reference takes and ignores it)
    )
    start = time.perf_counter()
    for _ in range(months):
        model.public.update(*arguments)
    return (time.perf_counter() - start) / months


def main() -> None:
    with threads.using(1):  # one core against one; the fastest of a few measurements
        fast = min(seconds_per_update(naive=False, months=60) for _ in range(5))
        slow = min(seconds_per_update(naive=True, months=2) for _ in range(2))
    print(f"population update at {PERSONS:,} persons, one month:")
    print(f"  model (numpy, numba, CSR network): {fast * 1e3:8.2f} ms")
    print(f"  naive (one Mesa agent per person): {slow * 1e3:8.1f} ms")
    print(f"  ratio: {slow / fast:.0f}x - goal >= 600x")


if __name__ == "__main__":
    main()
