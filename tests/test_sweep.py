"""Sweeps: bad files refused before any run; identical results whatever the backend, worker
count or sharding; a killed sweep resumed holds every run once; failures recorded; indices
and figures from the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXE, assert_refused, invoke

from sim.experiments import sweep as sweeping
from sim.experiments.sweep import runs
from sim.inputs.errors import ScenarioError

HERE = Path(__file__).parent
TINY_SOBOL = HERE / "sweeps" / "tiny_sobol.toml"
BAD = sorted((HERE / "bad_sweeps").glob("*.toml"))


def run(out: Path, workers: int = 1, backend: str = "local", shard: str | None = None, **kw):
    plan = sweeping.plan(TINY_SOBOL, out, backend, shard=shard, **kw)
    return sweeping.execute(plan, workers, batch=8)


def exact(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "sweep"
    counts = run(out)
    return out, counts


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_sweep_file_is_refused_naming_the_key(path):
    expect = path.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(ScenarioError) as caught:
        sweeping.load(path)
    assert expect in str(caught.value)
    assert path.name in str(caught.value)


def test_bad_sweep_file_writes_nothing_and_exits_2(tmp_path):
    out = tmp_path / "never"
    done = invoke("sweep", HERE / "bad_sweeps" / "unknown_path.toml", "--out", out)
    assert_refused(done, "unknown parameter path")
    assert not out.exists()


def test_design_is_written_before_runs_and_every_run_recorded(serial):
    out, counts = serial
    points = pd.read_parquet(out / "design.parquet")
    assert len(points) == 8 * (2 + 2)  # Saltelli without second order: N (D + 2)
    assert counts == {"done": len(points) * 2, "failed": 0}
    table = pd.read_parquet(out / "results")  # one line from Python, parameters as columns
    assert {"persuasion.rate", "state.counter_decay", "alpha_attraction"} <= set(table)
    assert sorted(table["run"]) == list(range(len(points) * 2))
    series = sweeping.series(out)
    assert set(series["run"]) == set(table["run"]) and "alignment" in series


@pytest.mark.slow
def test_two_processes_and_dask_give_identical_results(serial, tmp_path):
    out, _ = serial
    run(tmp_path / "two", workers=2)
    exact(sweeping.results(out), sweeping.results(tmp_path / "two"))
    exact(sweeping.series(out), sweeping.series(tmp_path / "two"))
    run(tmp_path / "dask", workers=2, backend="dask")
    exact(sweeping.results(out), sweeping.results(tmp_path / "dask"))


def test_shards_together_equal_the_whole(serial, tmp_path):
    out, _ = serial
    first = run(tmp_path / "sharded", shard="0/2")
    second = run(tmp_path / "sharded", shard="1/2")
    assert first["done"] + second["done"] == len(sweeping.results(out))
    exact(sweeping.results(out), sweeping.results(tmp_path / "sharded"))


@pytest.mark.slow
def test_a_killed_sweep_resumed_holds_every_run_exactly_once(serial, tmp_path):
    out, _ = serial
    target = tmp_path / "killed"
    args = ["sweep", str(TINY_SOBOL), "--out", str(target), "--workers", "2"]
    process = subprocess.Popen(  # a real process group, to kill
        [EXE, *args, "--batch", "4", "--quiet"], start_new_session=True, stdout=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((target / "results").glob("part-*"))) < 2:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the coordinator and its workers, mid-sweep
    process.wait()
    before = len(sweeping.results(target))
    assert 0 < before < len(sweeping.results(out)), "the kill came too late to test anything"
    done = invoke(*args, "--resume", "--quiet")
    assert done.exit_code == 0, done.output
    assert f"{before} were already recorded" in done.stdout
    resumed = sweeping.results(target)
    assert resumed["run"].is_unique
    exact(sweeping.results(out), resumed)


def test_a_run_that_raises_is_recorded_and_the_others_complete(tmp_path, monkeypatch):
    real = runs._simulate  # what simulate() calls inside its guard

    def flaky(job, task):
        if task.point == 3:
            raise RuntimeError("model blew up at point 3")
        return real(job, task)

    monkeypatch.setattr(runs, "_simulate", flaky)
    out = tmp_path / "flaky"
    result = invoke("sweep", TINY_SOBOL, "--out", out, "--workers", "1")
    assert result.exit_code == 1
    assert "2 failed" in result.output
    failed = sweeping.failures(out)
    assert sorted(failed["run"]) == [6, 7]  # point 3, both replications
    assert "model blew up at point 3" in failed["traceback"].iloc[0]
    assert len(sweeping.results(out)) == 32 * 2 - 2
    assert not (set(sweeping.results(out)["run"]) & {6, 7})


def sweep_copy(tmp_path: Path, edit) -> Path:
    """A copy of the tiny Sobol sweep, edited, beside a copy of the tiny scenario."""
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    tiny = (HERE / "scenarios" / "tiny.toml").read_text()
    (tmp_path / "scenarios" / "tiny.toml").write_text(tiny)
    path = tmp_path / "sweeps" / "edited.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(edit(TINY_SOBOL.read_text()))
    return path


def test_resume_refuses_a_folder_holding_another_sweep(serial, tmp_path):
    out, _ = serial
    other = sweep_copy(tmp_path, lambda text: text.replace("seed = 7", "seed = 8"))
    with pytest.raises(ScenarioError, match="holds another sweep"):
        sweeping.plan(other, out, resume=True)


def test_analyze_finds_the_parameter_that_matters(serial):
    out, _ = serial
    done = invoke("analyze", out)
    assert done.exit_code == 0, done.output
    indices = pd.read_csv(out / "indices.csv").set_index(["outcome", "parameter"])
    assert indices.loc[("alpha_attraction", "persuasion.rate"), "ST"] > 0.5
    assert abs(indices.loc[("alpha_attraction", "state.counter_decay"), "ST"]) < 0.05
    assert "small for Sobol" in done.stderr  # 8 base samples: it warns
    assert (out / "indices.png").stat().st_size > 0


def test_morris_screening_ranks_the_parameters(tmp_path):
    morris = tmp_path / "sweeps" / "morris.toml"
    morris.parent.mkdir()
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tiny.toml").write_text(
        (HERE / "scenarios" / "tiny.toml").read_text()
    )
    text = TINY_SOBOL.read_text().replace('method = "sobol"', 'method = "morris"')
    morris.write_text(text.replace("samples = 8", "samples = 6"))
    out = tmp_path / "morris-out"
    run_plan = sweeping.plan(morris, out)
    sweeping.execute(run_plan, 2)
    done = invoke("analyze", out, "--outcome", "alpha_attraction")
    assert done.exit_code == 0, done.output
    mu = pd.read_csv(out / "indices.csv").set_index("parameter")["mu_star"]
    assert mu["persuasion.rate"] > 10 * mu["state.counter_decay"]
    assert "small for Morris" in done.stderr


def test_plot_sweep_draws_one_or_two_parameters(serial):
    out, _ = serial
    done = invoke("plot", out, "--kind", "sweep", "--outcome", "alpha_attraction")
    assert done.exit_code == 0, done.output
    assert (out / "sweep.png").stat().st_size > 0
    heat = out / "heat.svg"
    done = invoke(
        "plot", out, "--kind", "sweep", "--x", "persuasion.rate",
        "--y", "state.counter_decay", "--out", heat,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert heat.stat().st_size > 0
    done = invoke("plot", out, "--kind", "sweep", "--x", "nope")
    assert_refused(done, "allowed: persuasion.rate")
