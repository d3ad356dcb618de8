"""The speed benchmark's measuring pieces still fit the model (benchmarks print figures; no
test asserts a time)."""

from __future__ import annotations

import numpy as np

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
