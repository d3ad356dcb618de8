"""A sweep's folder: the design and manifest written first, results streamed to atomically
written Parquet parts, failures recorded, and what is done read back for ``--resume``.

One process at a time writes a sweep (or a shard of it): :class:`Lock` holds an exclusive
``flock`` on a lock file in the folder, and a second process is refused with the holder's
pid, host and start time. A part's series are written before its results; the results part
is the commit record, so series without one are ignored and set aside. A part that cannot be
read is named, moved to ``quarantine/``, and its runs are run again by ``--resume``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.provenance import (
    WriteFailed,
    check_finite,
    months,
    parquet_bytes,
    reason,
    write_atomic,
)
from sim.experiments.sweep.spec import Sweep, design
from sim.inputs.errors import COMMAND_LINE, refuse

__all__ = ["parquet_bytes", "write_atomic"]  # re-exported: they used to live here

# --- the results folder --------------------------------------------------------------------

RESULTS, SERIES, FAILURES, QUARANTINE = "results", "series", "failures", "quarantine"
PART = "part-*.parquet"


class Parts:
    """Buffers finished runs and writes them in atomic Parquet parts, each stamped with the
    sweep's provenance (schema metadata key ``multivector``)."""

    def __init__(self, folder: Path, label: str, batch: int, stamped: dict | None = None):
        self.folder, self.label, self.batch, self.stamped = folder, label, batch, stamped
        self.rows: list[dict] = []
        self.series: list[pd.DataFrame] = []
        for sub in (RESULTS, SERIES, FAILURES):
            try:
                (folder / sub).mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise WriteFailed(folder / sub, reason(err)) from None

    def add(self, result: dict) -> None:
        if not result["ok"]:
            record = {k: v for k, v in result.items() if k != "ok"}
            name = f"run-{result['run']:07d}.json"
            write_atomic(self.folder / FAILURES / name, json.dumps(record, indent=2).encode())
            return
        self.rows.append(result["row"])
        if result["series"] is not None:
            self.series.append(result["series"])
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        runs = [r["run"] for r in self.rows]
        name = f"part-{self.label}-{min(runs):07d}-{max(runs):07d}-{time.time_ns()}.parquet"
        frame = pd.DataFrame(self.rows).sort_values("run")
        check_finite(frame, self.folder / RESULTS / name)
        if self.series:  # the series first: the results part is the commit record
            series = pd.concat(self.series, ignore_index=True)
            check_finite(series, self.folder / SERIES / name)
            write_atomic(self.folder / SERIES / name, parquet_bytes(series, self.stamped))
        write_atomic(self.folder / RESULTS / name, parquet_bytes(frame, self.stamped))
        self.rows, self.series = [], []


def _read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part, or a ScenarioError naming it (truncated, not Parquet, unreadable)."""
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as err:
        raise refuse(path, "", f"unreadable Parquet part: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def done_runs(folder: Path) -> set[int]:
    """Runs already recorded in ``folder``: in a results part or a failure record."""
    done: set[int] = set()
    for part in sorted((folder / RESULTS).glob(PART)):
        done |= set(_read_part(part, ["run"]).column("run").to_pylist())
    for record in (folder / FAILURES).glob("run-*.json"):
        try:
            done.add(int(record.stem.removeprefix("run-")))
        except ValueError:
            continue
    return done


def recover(folder: Path, held: set[str]) -> list[str]:
    """Before runs start: move unreadable parts, and series parts whose results part is
    missing (a kill between the two), to ``quarantine/``; their runs are not recorded, so
    they run again. Leftovers of shards running now (``held`` labels are ours; others'
    locks are probed) are left alone. Returns a sentence per part moved."""
    notes = []
    for part in sorted((folder / RESULTS).glob(PART)):
        try:
            _read_part(part, ["run"])
        except Exception as err:  # any unreadable part is set aside
            why = str(err).split(": ", 2)[-1]
            notes.append(_quarantine(folder, part, f"{why}; its runs will run again"))
            series = folder / SERIES / part.name
            if series.exists():
                _quarantine(folder, series, "")
    for part in sorted((folder / SERIES).glob(PART)):
        if (folder / RESULTS / part.name).exists():
            continue
        label = part.name.split("-")[1]
        if label not in held and Lock.in_use(folder, label):
            continue  # a shard at work: its results part is about to follow
        notes.append(_quarantine(folder, part, "no results part beside it (a killed sweep)"))
    for sub in (RESULTS, SERIES, FAILURES):  # temporary files of killed writers
        for tmp in (folder / sub).glob(".*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > 3600:
                    tmp.unlink()
            except OSError:
                continue
    return notes


def _quarantine(folder: Path, part: Path, why: str) -> str:
    target = folder / QUARANTINE / f"{part.parent.name}-{part.name}"
    try:
        target.parent.mkdir(exist_ok=True)
        os.replace(part, target)
    except OSError as err:
        raise WriteFailed(target, reason(err)) from None
    return f"{part.relative_to(folder)}: {why}; moved to {target.relative_to(folder)}"


def _parts(folder: Path, sub: str) -> list[Path]:
    parts = sorted((Path(folder) / sub).glob(PART))
    if sub == SERIES:  # committed only with their results part
        parts = [p for p in parts if (Path(folder) / RESULTS / p.name).exists()]
    return parts


def results(folder: str | Path) -> pd.DataFrame:
    """Every finished run of a sweep, one row each, parameters and outcomes as columns,
    in run order. (``pd.read_parquet(folder / "results")`` gives the same rows unsorted.)
    A part that cannot be read is a ScenarioError naming it."""
    parts = _parts(Path(folder), RESULTS)
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([_read_part(p).to_pandas() for p in parts], ignore_index=True)
    return frame.sort_values("run", ignore_index=True)


def series(folder: str | Path) -> pd.DataFrame:
    """Whole time series of the runs, if the sweep recorded them (long format; ``date`` as
    YYYY-MM text, as in a model's own tables: the Parquet parts hold timestamps)."""
    parts = _parts(Path(folder), SERIES)
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([months(_read_part(p).to_pandas()) for p in parts], ignore_index=True)
    return frame.sort_values(["run", "date", "power"], ignore_index=True)


def duplicated_runs(folder: str | Path) -> dict[int, list[str]]:
    """Runs recorded in more than one results part (two processes wrote the same runs),
    with the parts holding each."""
    where: dict[int, list[str]] = {}
    for part in _parts(Path(folder), RESULTS):
        for run in _read_part(part, ["run"]).column("run").to_pylist():
            where.setdefault(run, []).append(part.name)
    return {run: names for run, names in where.items() if len(names) > 1}


def failures(folder: str | Path) -> pd.DataFrame:
    """The failure records of a sweep, one row per failed run."""
    records = []
    for path in sorted((Path(folder) / FAILURES).glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError) as err:
            raise refuse(path, "", f"unreadable failure record: {_first_line(err)}") from None
    return pd.DataFrame(records)


WRITTEN_FIRST = ("sweep.toml", "design.parquet", "manifest.json")


def _stored_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def is_sweep_folder(folder: Path) -> bool:
    return all((folder / name).is_file() for name in WRITTEN_FIRST)


def prepare(sweep: Sweep, folder: Path, resume: bool, manifest: dict) -> pd.DataFrame:
    """Write the design, a copy of the sweep file and the manifest before any run; on
    ``resume``, check the folder holds this very sweep and read its design back."""
    points = design(sweep)
    if resume:
        if not is_sweep_folder(folder):
            raise refuse(COMMAND_LINE, "--resume", f"{folder} holds no sweep to resume")
        stored = (folder / "sweep.toml").read_text()
        if stored != sweep.text:
            raise refuse(
                COMMAND_LINE,
                "--resume",
                f"{folder} holds another sweep (its sweep.toml differs from {sweep.path})",
            )
        try:
            saved = pd.read_parquet(folder / "design.parquet")
        except (OSError, pa.ArrowException, ValueError) as err:
            raise refuse(folder / "design.parquet", "", f"unreadable: {_first_line(err)}") from None
        if not saved.equals(points):
            raise refuse(COMMAND_LINE, "--resume", f"{folder}: design.parquet was changed")
        before = (_stored_manifest(folder).get("posterior") or {}).get("sha256")
        if before != (manifest.get("posterior") or {}).get("sha256"):
            raise refuse(
                COMMAND_LINE,
                "--resume",
                f"{folder}: the sweep's posterior file changed since its first runs",
            )
        return points
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WriteFailed(folder, reason(err)) from None
    write_atomic(folder / "sweep.toml", sweep.text.encode())
    write_atomic(folder / "design.parquet", parquet_bytes(points))
    write_atomic(folder / "design.csv", points.to_csv(index=False).encode())
    write_atomic(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return points


def _ours_only_locks(folder: Path) -> bool:
    return all(Lock.is_lock_file(p.name) for p in folder.iterdir())


def check_folder(folder: Path, resume: bool, shard: tuple[int, int]) -> None:
    """Refuse to start a sweep in a folder that already holds files, unless resuming (or
    adding another shard of the same sweep, which :func:`prepare` then checks)."""
    if folder.exists() and not folder.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{folder} is a file, not a folder")
    if resume or not folder.is_dir() or _ours_only_locks(folder):
        return
    if is_sweep_folder(folder) and shard[1] > 1:
        return
    raise refuse(
        "command line",
        "--out",
        f"{folder} already holds files; add --resume to continue a sweep there, "
        "or choose a new folder",
    )


# --- one writer at a time ------------------------------------------------------------------


class Lock:
    """Exclusive ``flock`` locks on a sweep folder: the whole sweep (``.sweep.lock``:
    exclusive for an unsharded sweep, shared by shards) and its shard
    (``.shard-<i>of<N>.lock``, exclusive, holding the holder's pid, host and start time).
    The kernel releases them when the process ends, however it ends."""

    WHOLE = ".sweep.lock"

    def __init__(self, folder: Path, shard: tuple[int, int]):
        self.folder, self.shard = folder, shard
        self.label = f"{shard[0]}of{shard[1]}"
        self.handles: list[int] = []
        self.created: list[Path] = []

    @staticmethod
    def is_lock_file(name: str) -> bool:
        return name == Lock.WHOLE or (name.startswith(".shard-") and name.endswith(".lock"))

    @staticmethod
    def path(folder: Path, label: str) -> Path:
        return folder / f".shard-{label}.lock"

    def acquire(self) -> Lock:
        whole = fcntl.LOCK_SH if self.shard[1] > 1 else fcntl.LOCK_EX
        for path, mode in ((self.folder / self.WHOLE, whole),
                           (self.path(self.folder, self.label), fcntl.LOCK_EX)):  # fmt: skip
            try:
                new = not path.exists()
                handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
                self.created += [path] if new else []
            except OSError as err:
                self.release()
                raise WriteFailed(path, reason(err)) from None
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                self.release()
                raise refuse(
                    COMMAND_LINE,
                    "--out",
                    f"{self.folder} is in use by another sweep ({self.holders()}); wait for "
                    "it to end or stop it: two processes would run the same runs twice",
                ) from None
            self.handles.append(handle)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "shard": f"{self.shard[0]}/{self.shard[1]}",
        }
        os.ftruncate(self.handles[-1], 0)
        os.pwrite(self.handles[-1], json.dumps(holder).encode(), 0)
        return self

    def holders(self) -> str:
        """Who holds this folder's locks now, in words."""
        found = []
        for path in sorted(self.folder.glob(".shard-*.lock")):
            label = path.name.removeprefix(".shard-").removesuffix(".lock")
            if not self.in_use(self.folder, label):
                continue
            try:
                who = json.loads(path.read_text())
                found.append(
                    f"pid {who['pid']} on host {who['host']} since {who['started_utc']}"
                    + (f", shard {who['shard']}" if who.get("shard") not in (None, "0/1") else "")
                )
            except (OSError, ValueError, KeyError):
                found.append(f"a process holding {path.name}")
        return "; ".join(found) or "a process holding its lock"

    @staticmethod
    def in_use(folder: Path, label: str) -> bool:
        """Whether another open file holds the lock of shard ``label`` now."""
        path = Lock.path(folder, label)
        try:
            handle = os.open(path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(handle)
        return False

    def discard(self) -> None:
        """Remove the lock files this process created (a refused sweep leaves nothing)."""
        for path in self.created:
            with suppress(OSError):
                path.unlink()
        self.created = []

    def release(self) -> None:
        for handle in self.handles:
            with suppress(OSError):
                os.close(handle)
        self.handles = []
