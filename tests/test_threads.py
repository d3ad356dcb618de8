"""The monthly passes over persons split between threads: the same seed gives the same
results to the bit whatever the number of threads (sim.model.threads)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_refused, invoke, tiny_model

from sim.model import rules, threads


def _tables(model) -> list[pd.DataFrame]:
    return [model.timeseries(), model.groups(), model.channels(), model.persons()]


@pytest.fixture
def small_blocks(monkeypatch):
    """Parts of 40 rows and sums in blocks of 50, so the tiny scenario's 300 persons are
    shared between threads."""
    monkeypatch.setattr(threads, "ROWS_PER_THREAD", 40)
    monkeypatch.setattr(threads, "SUM_BLOCK", 50)


def test_results_do_not_depend_on_the_number_of_threads(small_blocks):
    runs = {}
    for number in (1, 2, 3):
        with threads.using(number):
            runs[number] = _tables(tiny_model(seed=11).run_to())
    for number in (2, 3):
        for one, many in zip(runs[1], runs[number], strict=True):
            pd.testing.assert_frame_equal(one, many, check_exact=True)


@pytest.mark.parametrize("block", [1, 7, 64])
def test_parts_cover_every_row_once_and_start_on_a_block(small_blocks, block):
    """Each row is in exactly one part, whatever the rows and threads, and every part
    starts at a multiple of the block."""

    def mark(first, last, out, starts):
        out[first:last] += 1
        starts.append(first)

    for rows in (0, 1, 39, 40, 81, 300, 1001):
        for number in (1, 2, 3, 7):
            out, starts = np.zeros(rows, np.int64), []
            with threads.using(number):
                threads.over_rows(mark, rows, out, starts, block=block)
            assert np.all(out == 1), (rows, number)
            assert all(first % block == 0 for first in starts), starts


def test_the_environment_sets_the_number(monkeypatch):
    monkeypatch.setenv(threads.VARIABLE, "3")
    assert threads.count() == 3
    monkeypatch.delenv(threads.VARIABLE)
    assert threads.count() == threads.available()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_number_of_threads_is_refused(monkeypatch, value):
    monkeypatch.setenv(threads.VARIABLE, value)
    with pytest.raises(ValueError, match=threads.VARIABLE):
        threads.count()
    assert_refused(invoke("scenarios"), threads.VARIABLE, "whole number")


@pytest.mark.parametrize("sample", [None, np.array([3, 5, 8, 13, 21, 34, 55, 89, 144])])
def test_marginal_gains_follow_the_rule(sample):
    """The compiled pass of the channel values gives :func:`rules.marginal_gain` of the
    persons' attitudes (the numpy definition), over everyone or a sample."""
    model = tiny_model(seed=3).run_to("2016-06")
    public, params = model.public, model.params
    rows = np.arange(public.size) if sample is None else sample
    terms = public.attitudes(params, rows)
    outlets = public.outlet_access(params)
    expected = (
        rules.marginal_gain(
            terms.receptivity,
            public.persons.attraction[rows],
            terms.access,
            public.persons.engagement[rows],
            public.gated,
            None if outlets is None else outlets[rows],
            public.outlet_channel,
        )
        / rows.size
    )
    np.testing.assert_allclose(public.marginal_gains(params, sample), expected, rtol=1e-12)
