"""Comparisons and figures, from saved results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, assert_refused, invoke

from sim.experiments import runner
from sim.inputs.errors import ScenarioError
from sim.results import compare, plots
from sim.results import saved as results
from sim.results.writing import write

SNAPSHOTS = ["2016-06", "2017-12"]
"""Two snapshot dates: the runs' changes.csv, for --kind changes."""


def saved_run(folder: Path, reps: int | None = None, **overrides) -> results.Saved:
    from datetime import UTC, datetime

    from sim.experiments.ensemble import run_ensemble

    plan = runner.plan(TINY, overrides={"run.population": 200, **overrides}, snapshots=SNAPSHOTS)
    result = runner.execute(plan) if reps is None else run_ensemble(plan, reps, workers=1)
    write(result, plan, folder, datetime.now(UTC))
    return results.load(folder)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    return saved_run(tmp_path_factory.mktemp("ens") / "tiny", reps=3)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return saved_run(tmp_path_factory.mktemp("one") / "tiny")


def test_identical_scenarios_give_zero_differences(ensemble, tmp_path):
    twin = saved_run(tmp_path / "twin", reps=3)
    table = compare.differences([ensemble, twin], ["2016-06", "2017-12"])
    assert len(table) == 2 * 3 * len(compare.COMPARED)
    assert (table["difference"] == 0).all()


def test_differences_equal_those_from_the_runs_own_tables(ensemble, tmp_path):
    other = saved_run(tmp_path / "other", reps=3, **{"powers.Alpha.hostility": 20.0})
    table = compare.differences([ensemble, other], ["2017-12"])
    own = pd.read_parquet(tmp_path / "other" / "timeseries.parquet")
    ref = ensemble.timeseries
    for measure in compare.COMPARED:
        mine = own[(own["date"] == "2017-12") & (own["power"] == "Alpha")][measure].median()
        base = ref[(ref["date"] == "2017-12") & (ref["power"] == "Alpha")][measure].median()
        row = table.query("power == 'Alpha' and measure == @measure").iloc[0]
        assert row["value"] == pytest.approx(mine)
        assert row["difference"] == pytest.approx(mine - base)
    alpha = table.query("power == 'Alpha' and measure == 'attraction'").iloc[0]
    assert alpha["difference"] < 0  # more hostility, less attraction


@pytest.mark.parametrize("fmt", plots.FORMATS)
@pytest.mark.parametrize("kind", plots.KINDS)
def test_every_plot_kind_renders_in_every_format(kind, fmt, ensemble, single, tmp_path):
    for saved in (ensemble, single):
        path = plots.draw(kind, saved, tmp_path / f"{kind}.{fmt}")
        assert path.stat().st_size > 1000


def test_comparison_figure_renders(ensemble, single, tmp_path):
    assert compare.figure([single, ensemble], tmp_path / "c.png", ["2016-06"]).stat().st_size > 1000


def test_a_missing_or_incomplete_folder_is_named(tmp_path, single):
    with pytest.raises(ScenarioError, match="no such results folder"):
        results.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}")
    with pytest.raises(ScenarioError, match="missing timeseries, groups, channels"):
        results.load(broken)


def test_plot_command_from_a_saved_folder(tmp_path):
    folder = tmp_path / "r"
    dates = [arg for date in SNAPSHOTS for arg in ("--snapshot", date)]
    done = invoke("run", TINY, "--population", "200", *dates, "--out", folder, "--quiet")
    assert done.exit_code == 0, done.output
    for kind in plots.KINDS:
        done = invoke("plot", folder, "--kind", kind, "--format", "svg")
        assert done.exit_code == 0, done.output
        assert (folder / f"{kind}.svg").stat().st_size > 1000
    bad = invoke("plot", folder, "--kind", "pie")
    assert_refused(bad, "allowed: trajectories, alignment")
    missing = invoke("plot", tmp_path / "none")
    assert_refused(missing, "no such results folder")


def test_run_reps_and_compare_commands(tmp_path):
    folder = tmp_path / "ens"
    done = invoke(
        "run",
        TINY,
        "--population",
        "200",
        "--reps",
        "3",
        "--workers",
        "2",
        "--out",
        folder,
        "--quiet",
    )
    assert done.exit_code == 0, done.output
    summary = pd.read_csv(folder / "summary.csv")
    assert {"date", "power", "measure", "median", "low", "high"} <= set(summary.columns)
    assert pd.read_parquet(folder / "timeseries.parquet")["run"].nunique() == 3
    out = tmp_path / "cmp"
    done = invoke(
        "compare",
        folder,
        TINY,
        "--population",
        "200",
        "--reps",
        "3",
        "--workers",
        "1",
        "--at",
        "2016-06",
        "--out",
        out,
    )
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out / "differences.csv")
    assert (table["difference"].abs() < 1e-12).all()  # same scenario, same seeds
    assert (out / "comparison.png").stat().st_size > 1000
    assert "difference from" in done.stdout


def test_compare_refuses_a_bad_month_before_running(tmp_path):
    done = invoke("compare", TINY, TINY, "--at", "2030-01", "--out", tmp_path / "c")
    assert_refused(done, "--at: 2030-01 must fall within 2015-01 to 2017-12")
    assert not (tmp_path / "c").exists()


def test_compare_says_when_saved_results_differ_besides_their_scenarios(tmp_path):
    """Folders saved earlier may differ in seed, size, profile, runs or span: compare warns,
    since their differences are then not the scenarios' alone."""
    for name, population in (("a", "300"), ("b", "400")):
        done = invoke(
            "run", TINY, "--population", population, "--until", "2015-04",
            "--out", tmp_path / name, "--quiet",
        )  # fmt: skip
        assert done.exit_code == 0, done.output
    done = invoke("compare", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "c", "--quiet")
    assert done.exit_code == 0, done.output
    assert "differ in population (300, 400)" in done.stderr
    assert "root seed" not in done.stderr and "last month" not in done.stderr
