"""The survey's "has your attitude changed?" between two snapshots: changes.csv from run,
with --reps, and its figure (plot --kind changes)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, assert_refused, invoke, tiny, tiny_model

from sim.inputs.errors import ScenarioError
from sim.model.columns import GROUPED_BY
from sim.model.survey import CHANGE_ANSWERS
from sim.results import changes, plots
from sim.results import saved as results

TOLERANCE, SPREAD = 0.125, 0.03
ANSWERS = list(CHANGE_ANSWERS)


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    """The tiny scenario's persons at its start (300 persons, three powers)."""
    return tiny_model().persons()


def shifted(frame: pd.DataFrame, by: float, date: str = "2016-01") -> pd.DataFrame:
    """Everyone's attraction to every power moved by ``by`` (not clipped: the response
    model sees only the difference)."""
    later = frame.assign(date=date)
    for column in later.columns[later.columns.str.startswith("attraction_")]:
        later[column] = later[column] + by
    return later


def test_one_row_per_power_and_group_and_shares_summing_to_one(snapshot):
    table = changes.between(snapshot, shifted(snapshot, 0.1), TOLERANCE, SPREAD)
    assert list(table.columns) == list(changes.COLUMNS)
    assert set(table["power"]) == {"Alpha", "Beta", "Gamma"}
    assert (table[["from", "to"]].drop_duplicates().to_numpy() == [["2015-01", "2016-01"]]).all()
    for power, rows in table.groupby("power"):
        everyone = rows[rows["dimension"] == "all"]
        assert len(everyone) == 1 and everyone["group"].iloc[0] == "all"
        assert everyone["respondents"].iloc[0] == len(snapshot)
        for dim in GROUPED_BY:
            if dim not in snapshot.columns:
                continue
            mine = rows[rows["dimension"] == dim]
            expected = snapshot[dim].value_counts()
            expected = expected[expected > 0]
            assert dict(zip(mine["group"], mine["respondents"], strict=True)) == {
                str(k): v for k, v in expected.items()
            }, (power, dim)
    assert np.allclose(table[ANSWERS].sum(axis=1), 1.0)
    assert ((table[ANSWERS] >= 0) & (table[ANSWERS] <= 1)).all().all()


def test_identical_snapshots_give_almost_everyone_unchanged(snapshot):
    table = changes.between(snapshot, snapshot.assign(date="2016-01"), TOLERANCE, SPREAD)
    assert (table["unchanged"] > 0.95).all()
    assert np.allclose(table["worse"], table["better"])  # no direction without a change


def test_a_fall_of_everyones_attraction_gives_mostly_worse(snapshot):
    table = changes.between(snapshot, shifted(snapshot, -0.3), TOLERANCE, SPREAD)
    assert (table["worse"] > 0.95).all()
    assert (table["better"] < 0.01).all()
    smaller = changes.between(snapshot, shifted(snapshot, -0.1), TOLERANCE, SPREAD)
    assert (smaller["unchanged"] > 0.5).all()  # within the tolerance: mostly unchanged
    assert (smaller["worse"] > smaller["better"]).all()


def test_only_persons_present_at_both_dates_answer(snapshot):
    """A panel: persons matched by person_id (not by row) when the snapshots have it."""
    before = snapshot.assign(person_id=np.arange(len(snapshot)) + 1000)
    after = shifted(before, -0.3).iloc[100:].copy()  # the first 100 left
    newcomers = shifted(before, +0.3).iloc[:50].assign(person_id=np.arange(50) + 5000)
    after = pd.concat([newcomers, after], ignore_index=True)  # rows no longer line up
    table = changes.between(before, after, TOLERANCE, SPREAD)
    everyone = table[table["dimension"] == "all"]
    assert (everyone["respondents"] == len(snapshot) - 100).all()
    assert (everyone["better"] < 0.01).all()  # the newcomers' rise is nobody's change
    by_index = changes.between(snapshot, shifted(snapshot, 0).iloc[:120], TOLERANCE, SPREAD)
    assert (by_index.loc[by_index["dimension"] == "all", "respondents"] == 120).all()


def test_an_ensembles_snapshots_give_one_set_of_rows_per_run(snapshot):
    before = pd.concat([snapshot.assign(run=0), snapshot.assign(run=1)])
    after = pd.concat([shifted(snapshot, 0).assign(run=0), shifted(snapshot, -0.3).assign(run=1)])
    table = changes.between(before, after, TOLERANCE, SPREAD)
    assert list(table.columns) == ["run", *changes.COLUMNS]
    first, second = (table[table["run"] == k].drop(columns="run") for k in (0, 1))
    assert len(first) == len(second) > 0
    assert (first["unchanged"] > 0.95).all()
    assert second.query("dimension == 'all'")["worse"].min() > 0.5


def test_consecutive_dates_and_the_scenarios_parameters(snapshot):
    snaps = {
        "2015-06": shifted(snapshot, -0.3, "2015-06"),
        "2015-01": snapshot,
        "2016-01": shifted(snapshot, -0.3, "2016-01"),
    }
    table = changes.consecutive(snaps, TOLERANCE, SPREAD)
    pairs = table[["from", "to"]].drop_duplicates().to_numpy().tolist()
    assert pairs == [["2015-01", "2015-06"], ["2015-06", "2016-01"]]
    assert changes.consecutive({"2015-01": snapshot}, TOLERANCE, SPREAD) is None
    spec, _ = tiny()
    assert changes.parameters(spec) == (spec.survey.change_tolerance, spec.survey.spread)
    wider, _ = tiny(**{"survey.change_tolerance": 0.5})
    assert changes.parameters(wider)[0] == 0.5


# --- the command line ------------------------------------------------------------------------

RUN = ("run", TINY, "--population", "300", "--until", "2015-06", "--quiet")
DATES = ("--snapshot", "2015-01", "--snapshot", "2015-06")


def test_run_writes_changes_and_plot_draws_them(tmp_path):
    out = tmp_path / "one"
    done = invoke(*RUN, *DATES, "--out", out)
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out / "changes.csv", dtype={"group": str})
    assert list(table.columns) == list(changes.COLUMNS)
    assert set(table["from"]) == {"2015-01"} and set(table["to"]) == {"2015-06"}
    assert np.allclose(table[ANSWERS].sum(axis=1), 1.0)
    assert "changes.csv" in json.loads((out / "manifest.json").read_text())["files"]
    drawn = invoke("plot", out, "--kind", "changes")
    assert drawn.exit_code == 0, drawn.output
    assert (out / "changes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert results.load(out).changes is not None


def test_snapshots_and_changes_with_reps(tmp_path):
    out = tmp_path / "ens"
    done = invoke(*RUN, *DATES, "--reps", "2", "--workers", "1", "--out", out)
    assert done.exit_code == 0, done.output
    persons = {d: pd.read_parquet(out / f"persons-{d}.parquet") for d in ("2015-01", "2015-06")}
    for frame in persons.values():
        assert sorted(frame["run"].unique()) == [0, 1]
    table = pd.read_csv(out / "changes.csv", dtype={"group": str})
    assert list(table.columns) == ["run", *changes.COLUMNS]
    assert sorted(table["run"].unique()) == [0, 1]
    everyone = table[table["dimension"] == "all"]
    assert (everyone.groupby("run")["power"].nunique() == 3).all()  # each run, each power
    key = changes.KEY if changes.KEY in persons["2015-01"] else "person"
    for run in (0, 1):  # the panel: persons present at both dates, in this run
        present = [set(f.loc[f["run"] == run, key]) for f in persons.values()]
        both = len(present[0] & present[1])
        assert 250 < both <= 300
        assert (everyone.loc[everyone["run"] == run, "respondents"] == both).all()
    drawn = invoke("plot", out, "--kind", "changes", "--format", "svg")
    assert drawn.exit_code == 0, drawn.output
    assert (out / "changes.svg").stat().st_size > 1000


def test_the_figure_shows_the_mean_over_runs(tmp_path):
    """Each bar is the runs' mean share; everyone on top, then each ethnic group."""
    out = tmp_path / "ens"
    assert invoke(*RUN, *DATES, "--reps", "2", "--workers", "1", "--out", out).exit_code == 0
    saved = results.load(out)
    figure = plots.changes(saved)
    labels = [t.get_text().split("\n")[0] for t in figure.axes[0].get_yticklabels()]
    assert labels[0] == "everyone"
    assert "respondents per run" in figure.axes[0].get_yticklabels()[0].get_text()
    table = saved.changes
    for power in saved.powers:
        mine = table[(table["power"] == power) & table["dimension"].isin(["all", "ethnicity"])]
        means = mine.groupby("group")[ANSWERS].mean().rename(index={"all": "everyone"})
        assert sorted(labels) == sorted(means.index)
        for answer in ANSWERS:
            gid = f"answer:{power}:{answer}"
            bars = figure.findobj(lambda a, g=gid: a.get_gid() == g)
            widths = [bar.get_width() for bar in sorted(bars, key=lambda b: b.get_y())]
            assert widths == pytest.approx(means.loc[labels, answer].to_list(), abs=1e-9)


def test_plot_changes_without_changes_is_refused(tmp_path):
    out = tmp_path / "plain"
    assert invoke(*RUN, "--out", out).exit_code == 0
    assert not (out / "changes.csv").exists()
    assert_refused(invoke("plot", out, "--kind", "changes"), "changes.csv", "two --snapshot")
    assert not (out / "changes.png").exists()
    one = tmp_path / "one-date"
    assert invoke(*RUN, "--snapshot", "2015-03", "--out", one).exit_code == 0
    assert not (one / "changes.csv").exists()  # a single date: nothing to compare
    with pytest.raises(ScenarioError, match="two --snapshot dates"):
        plots.changes(results.load(one))


def test_an_edited_changes_table_is_named(tmp_path):
    out = tmp_path / "one"
    assert invoke(*RUN, *DATES, "--out", out).exit_code == 0
    table = pd.read_csv(out / "changes.csv", dtype={"group": str})
    table.loc[3, "worse"] = 0.9
    table.to_csv(out / "changes.csv", index=False)
    assert_refused(invoke("plot", out, "--kind", "changes"), "changes.csv", "sum to 1")
