"""The speed benchmark's measuring pieces still fit the model (benchmarks print figures; no
test asserts a time)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_limits
from sim.model import rules, threads


def test_the_kernel_arguments_are_the_months_update():
    """bench_limits times the compiled update on the arguments a model gives it: they run,
    and the bytes it counts are the per-person arrays read and the two it writes."""
    n = 600
    arguments = bench_limits.kernel_arguments(n)
    out, identity = arguments[0], arguments[1]
    assert out.shape[0] == identity.shape[0] == n
    threads.over_rows(rules.monthly_update, n, *arguments)
    assert np.all((out >= 0) & (out <= 1))
    per_person = bench_limits.streamed_bytes(arguments, n)
    assert 100 < per_person < 1000


def test_the_months_stages_are_timed_within_the_month():
    """bench_month times every stage of a month on a model that still steps: each stage
    takes some time, a December's adaptation included, and together no more than the month."""
    from benchmarks import bench_month

    times = bench_month.month_stages(population=300, months=12, rounds=1)
    stages = [name for name, _ in bench_month.STAGES]
    assert set(times) == {*stages, "month"}
    assert all(times[stage][0] > 0 for stage in stages)
    assert sum(times[stage][0] for stage in stages) <= times["month"][0]


def test_bench_month_times_a_stream_handed_both_ways():
    from benchmarks import bench_month

    handoff = bench_month.stream_handoff(calls=20, rounds=1)
    assert set(handoff) == {"warm", "cold"}
    assert all(seconds > 0 for pair in handoff.values() for seconds in pair)


def test_bench_month_splits_the_month_and_puts_the_passes_back():
    """The split finds the compiled passes a month calls, each in its stage, its parts fit
    in the month, and every module holds its own compiled passes again afterwards, as the
    model module its ``emit`` and the powers their ``adapt``."""
    import sys

    from benchmarks import bench_month
    from sim.model import model as model_module
    from sim.model.agents import Power

    def held() -> dict:
        return {
            (name, key): id(value)
            for name, module in list(sys.modules.items())
            if name.startswith("sim.")
            for key, value in vars(module).items()
            if callable(value)
        }

    before = (held(), model_module.emit, Power.adapt)
    parts = bench_month.compiled_share(population=300, months=12, rounds=1)
    stages = [name for name, _ in bench_month.STAGES]
    kinds = {*stages, "the rest", "other threads"}
    assert set(parts) == {"compiled", "mesa", "month", "calls", *kinds}
    assert parts["calls"][0] >= 5  # the update, the sums, the exposure, the ageing, ...
    assert parts["compiled"][0] > 0 and parts["mesa"][0] > 0
    assert parts["compiled"][0] + parts["mesa"][0] < parts["month"][0]
    by_stage = [parts[stage][0] for stage in (*stages, "the rest")]
    assert sum(by_stage) == pytest.approx(parts["compiled"][0])
    assert parts["update"][0] > 0 and parts["renewal"][0] > 0  # the update's pass, the ageing
    assert parts["other threads"][0] == 0  # 300 persons: one thread
    assert (held(), model_module.emit, Power.adapt) == before
