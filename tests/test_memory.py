"""Large arrays are given back to the system when freed (sim/model/memory.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sim.model import memory


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux only")
def test_a_freed_array_of_a_few_mib_is_given_back_after_a_larger_one_was():
    """glibc would keep a 4 MiB array's memory once freed, after a larger block was freed
    (it raises its bound for mapping blocks on their own); with the bound fixed it gives it
    back."""
    if not memory.give_back_large_arrays():
        pytest.skip("not glibc")
    large = np.ones(16 * 2**20, np.uint8)  # mapped, then freed: glibc would raise its bound
    del large
    before = _resident()
    array = np.ones(4 * 2**20, np.uint8)  # touched: resident
    assert _resident() - before > 3 * 2**20
    del array
    assert _resident() - before < 2**20


def test_the_setting_is_made_once_a_process():
    assert memory.give_back_large_arrays() is memory.give_back_large_arrays()
