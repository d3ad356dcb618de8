"""Ensembles: seeds from one root, the same whatever the workers, bands around medians."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from sim.experiments import runner
from sim.experiments.ensemble import run_ensemble
from sim.model import columns
from sim.results import bands


@pytest.fixture(scope="module")
def plan():
    return runner.plan(TINY, overrides={"run.population": 200})


@pytest.fixture(scope="module")
def serial(plan):
    return run_ensemble(plan, reps=3, workers=1)


def test_the_same_root_seed_gives_the_same_ensemble_whatever_the_workers(plan, serial):
    parallel = run_ensemble(plan, reps=3, workers=2)
    for name in ("timeseries", "groups", "channels"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(parallel, name))


def test_runs_differ_and_are_recorded(serial):
    assert serial.replicates == [0, 1, 2]
    last = serial.timeseries[serial.timeseries["date"] == "2017-12"]
    assert last.groupby("run")["attraction"].sum().nunique() == 3


def test_the_band_contains_the_median(serial):
    summary = bands.summarise(serial.timeseries)
    assert set(summary["measure"]) == set(columns.PER_POWER + columns.NUMERIC_OF_STATE)
    assert np.all(summary["low"] <= summary["median"] + 1e-12)
    assert np.all(summary["median"] <= summary["high"] + 1e-12)
    spread = summary[summary["measure"] == "attraction"]
    assert (spread["high"] - spread["low"]).max() > 0


def test_band_values_are_the_quantiles_over_runs(serial):
    ts = serial.timeseries
    one = ts[(ts["date"] == "2016-06") & (ts["power"] == "Beta")]["alignment"]
    row = bands.band(ts, "alignment").query("date == '2016-06' and power == 'Beta'").iloc[0]
    assert row["median"] == pytest.approx(one.median())
    assert row["low"] == pytest.approx(one.quantile(0.05))
    assert row["high"] == pytest.approx(one.quantile(0.95))


def test_band_columns_are_the_model_measures():
    from sim.model import measures

    assert [f.__name__ for f in measures.PER_POWER] == list(columns.PER_POWER)
    state = {f.__name__ for f in measures.PER_STATE} - {"dominant_power"}
    assert set(columns.NUMERIC_OF_STATE) == state
