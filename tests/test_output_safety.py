"""Nothing a user types can crash a write, corrupt results or touch files multivector did
not write: --out checked before the run, OSErrors as one line, --overwrite that never
damages the old folder, staging folders cleaned, results folders checked when read, and
sweep folders locked, their parts committed and quarantined."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import EXE, TINY, assert_refused, invoke

from sim.experiments import provenance
from sim.experiments import sweep as sweeping
from sim.experiments.sweep import store
from sim.inputs.errors import ScenarioError
from sim.results import saved as results
from sim.results import writing

HERE = Path(__file__).parent
TINY_SOBOL = HERE / "sweeps" / "tiny_sobol.toml"
SMALL = ("--population", "200", "--until", "2015-06", "--quiet")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A small saved run, read-only for the tests (they copy it to change it)."""
    out = tmp_path_factory.mktemp("saved") / "run"
    done = invoke("run", TINY, *SMALL, "--out", out)
    assert done.exit_code == 0, done.output
    return out


def copy(folder: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


# --- --out checked before the run ---------------------------------------------------------


def unwritable_places(tmp_path: Path) -> list[tuple[Path, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return [
        (a_file / "below", "is a file, not a folder"),
        (a_file / "deeper" / "still", "is a file, not a folder"),
        (Path("/proc/multivector-out"), "cannot write"),
        (Path("/proc/self/multivector"), "cannot write"),
        (tmp_path / ("n" * 300), "longer than"),
        (tmp_path / ("n" * 240), "longer than"),  # fits alone, not with the staging suffix
        (tmp_path / "/".join(["d" * 200] * 25), "longer than"),
        (Path("/sys/multivector"), "cannot write"),
    ]


@pytest.mark.parametrize("command", ["run", "compare", "validate", "calibrate", "sweep"])
def test_an_unwritable_out_is_refused_before_anything_runs(command, tmp_path, monkeypatch):
    from sim.experiments import runner

    def never(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(runner, "execute", never)
    args = {
        "run": ["run", TINY, *SMALL],
        "compare": ["compare", TINY, TINY, *SMALL],
        "validate": ["validate", "--check", "P1", "--seeds", "1", "--quiet"],
        "calibrate": ["calibrate", TINY, "--evaluations", "1", "--quiet"],
        "sweep": ["sweep", TINY_SOBOL, "--quiet"],
    }[command]
    for out, fragment in unwritable_places(tmp_path):
        done = invoke(*args, "--out", out)
        assert_refused(done, fragment)
        assert not exists(out)


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long to stat
        return False


def test_a_read_only_folder_is_refused(tmp_path, monkeypatch):
    """As root chmod stops nothing, so the probe's failure is simulated as a read-only
    file system would make it (EROFS from mkdir)."""
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    done = invoke("run", TINY, *SMALL, "--out", tmp_path / "ro")
    assert_refused(done, "Read-only file system", "not writable")


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, folder):
    out = copy(folder, tmp_path, "old")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "timeseries.parquet")

    monkeypatch.setattr(writing, "write_parquet", full)
    done = invoke("run", TINY, *SMALL, "--out", out, "--overwrite")
    assert_refused(done, f"{out}: cannot write: No space left on device (timeseries.parquet)")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old one, intact
    assert [p.name for p in tmp_path.iterdir()] == ["old"]  # no staging folder left
    fresh = tmp_path / "fresh"
    done = invoke("run", TINY, *SMALL, "--out", fresh)
    assert_refused(done, "No space left on device")
    assert not fresh.exists()


def test_a_full_disk_in_a_sweep_is_one_line(tmp_path, monkeypatch):
    def full(path, data):
        raise provenance.WriteFailed(path, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store, "write_atomic", full)
    done = invoke("sweep", TINY_SOBOL, "--out", tmp_path / "s", "--workers", "1", "--quiet")
    assert_refused(done, "cannot write: No space left on device")


# --- --overwrite ----------------------------------------------------------------------------


def test_overwrite_replaces_only_what_multivector_wrote(tmp_path, folder):
    out = copy(folder, tmp_path)
    (out / "my-notes.txt").write_text("mine")
    done = invoke("run", TINY, *SMALL, "--out", out, "--overwrite")
    assert_refused(done, "did not write; it will not replace them (my-notes.txt)")
    assert (out / "my-notes.txt").read_text() == "mine"
    (out / "my-notes.txt").unlink()
    (out / "trajectories.svg").write_text("<svg/>")  # a figure 'plot' drew: ours
    done = invoke("run", TINY, *SMALL, "--out", out, "--overwrite")
    assert done.exit_code == 0, done.output
    results.load(out)


def test_a_failure_between_the_renames_keeps_the_old_folder(tmp_path, monkeypatch, folder):
    out = copy(folder, tmp_path)
    before = (out / "timeseries.csv").read_bytes()

    def failed(staging, target):  # between setting the old one aside and moving the new in
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(staging))

    monkeypatch.setattr(writing, "_move_in", failed)
    done = invoke("run", TINY, *SMALL, "--seed", "3", "--out", out, "--overwrite")
    assert_refused(done, "cannot write: Invalid cross-device link")
    assert (out / "timeseries.csv").read_bytes() == before
    results.load(out)
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]

    def interrupted(staging, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "_move_in", interrupted)
    with pytest.raises(KeyboardInterrupt), writing.staged(out, overwrite=True) as staging:
        (staging / "manifest.json").write_text("{}")
    assert (out / "timeseries.csv").read_bytes() == before
    results.load(out)
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]


def test_a_kill_between_the_renames_is_repaired(tmp_path, folder):
    """A SIGKILL runs no handler: the old folder is left aside under its owner's name."""
    out = copy(folder, tmp_path)
    dead = _dead_pid()
    aside = tmp_path / f".copy.old-{writing.HOST}-{dead}-0123abcd"
    os.rename(out, aside)
    staging = tmp_path / f".copy.staging-{writing.HOST}-{dead}-89abcdef"
    staging.mkdir()
    (staging / "timeseries.csv").write_text("half")
    done = invoke("run", TINY, *SMALL, "--out", out)  # refused: the old results are back
    assert_refused(done, "already holds files")
    results.load(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_stale_staging_folders_are_cleaned_but_live_ones_kept(tmp_path):
    out = tmp_path / "r"
    live = tmp_path / f".r.staging-{writing.HOST}-{os.getpid()}-00000000"
    old = tmp_path / ".r.staging-otherhost-1-11111111"
    foreign_host = tmp_path / ".r.staging-otherhost-1-22222222"
    for path in (live, old, foreign_host):
        path.mkdir()
    long_ago = time.time() - writing.STALE_AFTER - 60
    os.utime(old, (long_ago, long_ago))
    writing.tidy(out)
    assert live.exists() and foreign_host.exists() and not old.exists()


def test_results_folders_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        done = invoke("run", TINY, *SMALL, "--out", tmp_path / "r")
    finally:
        os.umask(previous)
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "r" / "timeseries.csv").stat().st_mode) == 0o644


def test_compare_is_written_at_once(tmp_path, folder, monkeypatch):
    from sim.results import compare

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(compare, "figure", broken)
    out = tmp_path / "cmp"
    done = invoke("compare", folder, TINY, *SMALL, "--out", out)
    assert_refused(done, "No space left on device")
    assert not out.exists() and list(tmp_path.iterdir()) == []


# --- plot --out -------------------------------------------------------------------------


def test_plot_out_follows_the_overwrite_rule(tmp_path, folder):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my own picture")
    assert_refused(invoke("plot", folder, "--out", mine), "already exists; add --overwrite")
    assert mine.read_bytes() == b"my own picture"
    assert_refused(
        invoke("plot", folder, "--out", tmp_path / "nowhere" / "f.png"), "no such folder"
    )
    for name in ("f.jpg", "f", "f.png.txt"):
        assert_refused(invoke("plot", folder, "--out", tmp_path / name), "unknown format")
    assert_refused(invoke("plot", folder, "--out", tmp_path), "unknown format")
    done = invoke("plot", folder, "--out", mine, "--overwrite")
    assert done.exit_code == 0, done.output
    assert mine.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"]  # no temporary left
    # Without --out the figure goes into the results folder, whose own figure it replaces.
    before = (folder / "trajectories.png").stat().st_mtime_ns
    assert invoke("plot", folder, "--kind", "trajectories").exit_code == 0
    assert (folder / "trajectories.png").stat().st_mtime_ns >= before


def test_plot_leaves_nothing_half_written(tmp_path, folder, monkeypatch):
    from sim.results import plots

    def crash(kind, saved, path, at=None):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(plots, "draw", crash)
    target = tmp_path / "f.svg"
    assert_refused(invoke("plot", folder, "--out", target), "No space left on device")
    assert list(tmp_path.iterdir()) == []


# --- reading results back ---------------------------------------------------------------


def test_a_malformed_manifest_is_refused(tmp_path, folder):
    for text, fragment in (
        ("{not json", "not valid JSON"),
        ("[]", "scenario.name"),
        ('{"scenario": {"name": "x"}}', "scenario.resolved"),
        ('{"scenario": {"name": "x", "resolved": {"state": {}}}}', "malformed"),
    ):
        out = copy(folder, tmp_path, f"m{len(list(tmp_path.iterdir()))}")
        (out / "manifest.json").write_text(text)
        with pytest.raises(ScenarioError, match=fragment) as caught:
            results.load(out)
        assert "manifest.json" in str(caught.value)
        assert_refused(invoke("plot", out, "--out", tmp_path / "x.png"), "manifest.json")
        assert_refused(invoke("compare", out, folder, "--out", tmp_path / "c"), "manifest.json")


@pytest.mark.parametrize("table", ["timeseries", "groups", "channels"])
def test_a_truncated_table_is_refused(tmp_path, folder, table):
    out = copy(folder, tmp_path)
    (out / f"{table}.parquet").unlink()  # read the CSV
    text = (out / f"{table}.csv").read_text()
    for cut in (len(text) - 7, len(text) * 2 // 3, text.rfind("\n", 0, len(text) - 1) + 1):
        (out / f"{table}.csv").write_text(text[:cut])
        with pytest.raises(ScenarioError, match=f"{table}.csv") as caught:
            results.load(out)
        assert "truncated" in str(caught.value)
    (out / f"{table}.csv").write_text(text)
    results.load(out)


def test_a_truncated_parquet_table_is_refused(tmp_path, folder):
    out = copy(folder, tmp_path)
    data = (out / "timeseries.parquet").read_bytes()
    (out / "timeseries.parquet").write_bytes(data[: len(data) // 2])
    assert_refused(invoke("plot", out, "--out", tmp_path / "x.png"), "timeseries.parquet")


def test_parquet_and_csv_read_back_the_same(tmp_path, folder):
    schema = pq.read_schema(folder / "timeseries.parquet")
    assert str(schema.field("date").type).startswith("timestamp")
    from_parquet = results.load(folder)
    out = copy(folder, tmp_path)
    for name in ("timeseries", "groups", "channels"):
        (out / f"{name}.parquet").unlink()
    from_csv = results.load(out)
    for name in ("timeseries", "groups", "channels"):
        a, b = getattr(from_parquet, name), getattr(from_csv, name)
        assert list(a["date"]) == list(b["date"])
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_a_table_with_nan_is_not_written(tmp_path, monkeypatch):
    from sim.experiments import runner

    real = runner.execute

    def poisoned(plan, *args, **kwargs):
        result = real(plan, *args, **kwargs)
        result.timeseries.loc[3, "attraction"] = float("nan")
        return result

    monkeypatch.setattr(runner, "execute", poisoned)
    out = tmp_path / "r"
    assert_refused(invoke("run", TINY, *SMALL, "--out", out), "'attraction' holds 1 NaN")
    assert not out.exists()


# --- sweeps ---------------------------------------------------------------------------------


def grid_copy(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tiny.toml").write_text(
        (HERE / "scenarios" / "tiny.toml").read_text()
    )
    path = tmp_path / "sweeps" / "grid.toml"
    path.parent.mkdir()
    text = TINY_SOBOL.read_text().replace('method = "sobol"', 'method = "grid"')
    path.write_text(text.replace("samples = 8", "levels = 2"))
    return path


def test_two_sweeps_on_one_folder_the_second_is_refused(tmp_path):
    out = tmp_path / "s"
    first = sweeping.plan(TINY_SOBOL, out)
    try:
        with pytest.raises(ScenarioError, match=f"pid {os.getpid()} on host"):
            sweeping.plan(TINY_SOBOL, out, resume=True)
        done = subprocess.run(  # a real second process
            [EXE, "sweep", TINY_SOBOL, "--out", out, "--resume", "--quiet"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 2, done.stderr
        assert f"in use by another sweep (pid {os.getpid()}" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        first.release()
    again = sweeping.plan(TINY_SOBOL, out, resume=True)  # free again
    again.release()


def test_a_truncated_part_is_quarantined_and_its_runs_run_again(tmp_path):
    out = tmp_path / "s"
    plan = sweeping.plan(TINY_SOBOL, out)
    plan.todo = plan.todo[:16]
    sweeping.execute(plan, 1, batch=8)
    whole = sweeping.results(out)
    first, second = sorted((out / "results").glob("part-*.parquet"))
    data = second.read_bytes()
    second.write_bytes(data[: len(data) // 2])
    assert_refused(invoke("analyze", out), second.name, "unreadable Parquet part")
    stamp = json.loads(pq.read_schema(first).metadata[b"multivector"])
    assert stamp["seed"] == 7 and stamp["sweep"]["name"] == "tiny_sobol"
    assert stamp["scenario"] == "tiny" and stamp["scenario_files"]
    plan = sweeping.plan(TINY_SOBOL, out, resume=True)
    assert any(second.name in note and "quarantine" in note for note in plan.notes)
    assert (out / "quarantine" / f"results-{second.name}").exists()
    assert (out / "quarantine" / f"series-{second.name}").exists()
    plan.todo = [t for t in plan.todo if t.run < 16]
    assert [t.run for t in plan.todo] == list(range(8, 16))
    sweeping.execute(plan, 1, batch=8)
    pd.testing.assert_frame_equal(sweeping.results(out), whole)
    series = sweeping.series(out)
    assert sorted(series["run"].unique()) == list(range(16))
    assert not series.duplicated(["run", "date", "power"]).any()


def test_a_kill_between_series_and_results_leaves_no_duplicates(tmp_path, monkeypatch):
    out = tmp_path / "s"
    plan = sweeping.plan(TINY_SOBOL, out)
    plan.todo = plan.todo[:8]
    real = store.write_atomic

    def killed(path, data):
        if path.parent.name == "results":
            raise KeyboardInterrupt  # after the series part, before its results part
        real(path, data)

    monkeypatch.setattr(store, "write_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        sweeping.execute(plan, 1, batch=8)
    monkeypatch.undo()
    assert sweeping.series(out).empty  # an orphan series part is not read
    plan = sweeping.plan(TINY_SOBOL, out, resume=True)
    assert any("no results part" in note for note in plan.notes)
    plan.todo = plan.todo[:8]
    sweeping.execute(plan, 1, batch=8)
    series = sweeping.series(out)
    assert not series.duplicated(["run", "date", "power"]).any()
    assert sorted(series["run"].unique()) == list(range(8))


def test_analyze_refuses_duplicated_runs(tmp_path):
    out = tmp_path / "s"
    plan = sweeping.plan(TINY_SOBOL, out)
    sweeping.execute(plan, 1, batch=64)
    (part,) = (out / "results").glob("part-*.parquet")
    shutil.copy(part, part.with_name(part.name.replace("part-0of1", "part-0of1-copy")))
    assert_refused(invoke("analyze", out), "recorded more than once")


def test_analyze_explains_a_grid_sweep(tmp_path):
    grid = grid_copy(tmp_path)
    out = tmp_path / "g"
    plan = sweeping.plan(grid, out)
    plan.todo = []
    sweeping.execute(plan, 1)
    assert_refused(invoke("analyze", out), "is a grid sweep", "Sobol", "Morris", "--kind sweep")


def test_an_unreachable_scheduler_is_refused_before_the_folder(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "s"
    silent = socket.socket()  # accepts connections and never answers, as a proxy may
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    mute = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    for address in (f"tcp://127.0.0.1:{port}", f"127.0.0.1:{port}", "tcp://[::1", "tcp://:1", mute):
        done = invoke(
            "sweep", TINY_SOBOL, "--out", out, "--backend", "dask", "--scheduler", address
        )
        assert_refused(done, "--scheduler")
        assert not out.exists()
    silent.close()
