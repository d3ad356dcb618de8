"""The command line: in this process through typer's runner, and end to end through the
installed ``multivector`` entry point for the default run and a refused scenario."""

from __future__ import annotations

import json
from pathlib import Path

import conftest
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import PERSON_COLUMNS, TINY, assert_refused, invoke, run_cli_subprocess

BAD = Path(__file__).parent / "bad"

# test_dashboard.py and test_dashboard_browser.py import these two from here.
EXE = conftest.EXE
cli = run_cli_subprocess


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``multivector run`` with no argument, as a user types it, in an empty folder."""
    here = tmp_path_factory.mktemp("default")
    done = run_cli_subprocess("run", cwd=here)
    return done, here


def test_default_run_writes_every_output(default_run):
    done, here = default_run
    assert done.returncode == 0, done.stderr
    (folder,) = (here / "results").iterdir()
    assert folder.name.startswith("baseline-")
    for name in (
        "timeseries.csv",
        "timeseries.parquet",
        "groups.csv",
        "manifest.json",
        "trajectories.png",
        "channels.csv",
    ):
        assert (folder / name).stat().st_size > 0, name
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert pd.api.types.is_datetime64_any_dtype(ts["date"])  # Parquet: a real date type
    ts["date"] = ts["date"].dt.strftime("%Y-%m")  # CSV: YYYY-MM text
    assert ts["date"].iloc[0] == "2015-01" and ts["date"].iloc[-1] == "2035-12"
    assert set(ts["power"]) == {"West", "Russia", "China", "Turkey"}
    pd.testing.assert_frame_equal(ts, pd.read_csv(folder / "timeseries.csv"), check_dtype=False)
    groups = pd.read_csv(folder / "groups.csv")
    assert set(groups["dimension"]) == {"ethnicity", "language", "age", "cohort", "area"}


def test_default_run_prints_a_summary(default_run):
    done, _ = default_run
    for word in (
        "West",
        "Russia",
        "China",
        "Turkey",
        "attraction",
        "favourable",
        "alignment",
        "effective number of vectors",
        "2015-01",
        "2035-12",
    ):
        assert word in done.stdout


def test_manifest_carries_provenance(default_run):
    _, here = default_run
    (folder,) = (here / "results").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in (
        "package",
        "python",
        "mesa",
        "numpy",
        "command",
        "started_utc",
        "finished_utc",
        "seed",
        "scenario",
        "profile",
    ):
        assert key in manifest
    assert len(manifest["scenario"]["files"][0]["sha256"]) == 64
    assert manifest["scenario"]["resolved"]["powers"]["Russia"]["leverage"] == 0.9
    assert manifest["seed"] == manifest["scenario"]["resolved"]["run"]["seed"]


def test_run_with_overrides_and_snapshots(tmp_path):
    out = tmp_path / "out"
    done = invoke(
        "run",
        TINY,
        "--seed",
        "7",
        "--until",
        "2016-12",
        "--population",
        "400",
        "--snapshot",
        "2015-06",
        "--snapshot",
        "2016-03",
        "--out",
        out,
        "--quiet",
    )
    assert done.exit_code == 0, done.output
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts["date"].iloc[-1] == "2016-12"
    persons = pd.read_parquet(out / "persons-2016-03.parquet")
    assert len(persons) == 400
    assert set(persons.columns) >= PERSON_COLUMNS
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["until"] == "2016-12"
    stamp = json.loads(pq.read_schema(out / "timeseries.parquet").metadata[b"multivector"])
    assert stamp["seed"] == 7 and stamp["scenario"] == "tiny"
    assert stamp["scenario_files"] == manifest["scenario"]["files"]


@pytest.mark.parametrize("name", ["unknown_key", "event_unknown_power", "syntax_error"])
def test_bad_scenario_exits_2_without_traceback(name, tmp_path):
    done = invoke("run", BAD / f"{name}.toml", "--out", tmp_path / "x")
    assert_refused(done, "error:", f"{name}.toml")
    assert not (tmp_path / "x").exists()


def test_bad_scenario_from_the_entry_point_exits_2_without_traceback(tmp_path):
    """The same refusal end to end: a real process, its exit status and its stderr."""
    done = run_cli_subprocess("run", BAD / "unknown_key.toml", "--out", tmp_path / "x")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "error:" in done.stderr
    assert "unknown_key.toml" in done.stderr
    assert not (tmp_path / "x").exists()


def test_the_command_is_the_app_with_the_collector_frozen_on_the_way_out(monkeypatch):
    """``multivector`` runs :func:`sim.app.cli.entry`: the app's exit status, unchanged, and
    the objects left frozen for a quick shutdown (undone here: this process goes on)."""
    import gc
    import sys
    import tomllib

    from sim.app.cli import entry

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert scripts == {"multivector": "sim.app.cli:entry"}
    for argv, status in ((["--help"], 0), (["run", "--population", "5"], 2)):
        monkeypatch.setattr(sys, "argv", ["multivector", *argv])
        try:
            with pytest.raises(SystemExit) as done:
                entry()
            assert done.value.code == status
            assert gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--until", "2040-01"], "--until: 2040-01 must fall within 2015-01 to 2017-12"),
        (["--until", "2016-13"], "--until: bad date '2016-13'"),
        (["--snapshot", "2014-01"], "--snapshot: 2014-01 must fall within"),
        (["--population", "5"], "run.population: Input should be greater than or equal to 100"),
        (["--set", "state.balance=1"], "unknown key 'balance'; allowed: balance_strength"),
        (["--set", "nonsense"], "--set: 'nonsense' is not of the form path=value"),
    ],
)
def test_bad_options_exit_2_and_say_what_is_allowed(args, fragment, tmp_path):
    done = invoke("run", TINY, *args, "--out", tmp_path / "x")
    assert_refused(done, fragment)


def test_existing_results_are_never_damaged(tmp_path):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "precious.csv").write_text("keep me")
    done = invoke("run", TINY, "--out", out, "--quiet")
    assert_refused(done, "--overwrite")
    assert (out / "precious.csv").read_text() == "keep me"
    done = invoke("run", TINY, "--out", out, "--quiet", "--overwrite")
    assert_refused(done, "did not write; it will not replace them")
    assert (out / "precious.csv").read_text() == "keep me"


def test_scenarios_lists_the_library():
    done = invoke("scenarios")
    assert done.exit_code == 0, done.output
    assert "baseline" in done.stdout and "post2022_russia_weakening" in done.stdout


def test_check_explains_every_problem():
    done = invoke("check", BAD / "event_unknown_group.toml", "baseline")
    assert_refused(done, "unknown ethnicity 'Klingon'")
    assert "ok baseline" in done.stdout


def test_help_lists_the_commands():
    done = invoke("--help")
    assert done.exit_code == 0, done.output
    for command in ("run", "scenarios", "check"):
        assert command in done.stdout
