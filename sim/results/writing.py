"""Writing a run's results: tidy tables, the figure and a provenance manifest.

Files are written into a fresh staging folder beside the destination, which is renamed into
place only when everything is written: an interrupted run leaves no half-written results and
never damages results already there. Replacing a folder (``--overwrite``) sets the old one
aside, moves the new one in, and only then deletes the old one's files, and only files
multivector wrote (its manifest lists them). A full disk or an unwritable folder is one line
of error (:class:`WriteFailed`), never a traceback.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.provenance import (
    WriteFailed,
    check_finite,
    check_writable,
    environment,
    parquet_bytes,
    reason,
    stamp,
    write_atomic,
)
from sim.experiments.runner import Plan, Result
from sim.inputs.errors import COMMAND_LINE, refuse
from sim.inputs.scenario import profile_path, scenario_hash
from sim.results import bands
from sim.results.saved import Saved

__all__ = ["WriteFailed", "check_out_dir", "staged", "write", "write_parquet"]


def default_out_dir(plan: Plan, started: datetime, root: Path = Path("results")) -> Path:
    """``results/<scenario>-<UTC timestamp>``."""
    return root / f"{plan.spec.name}-{started.strftime('%Y%m%dT%H%M%SZ')}"


# --- what multivector wrote, and may replace ----------------------------------------------

FIGURES = ("trajectories", "alignment", "balance", "groups", "channels", "changes", "sweep",
           "comparison")  # fmt: skip
FIGURE_FORMATS = ("png", "svg", "pdf")
WRITTEN_BEFORE_LISTS = (
    "manifest.json",
    "timeseries.*",
    "groups.*",
    "channels.*",
    "summary.*",
    "persons-????-??.*",
    "differences.csv",
    "validation.csv",
    "[PT][0-9].png",
    "fitted.toml",
    "residuals.csv",
    "history.csv",
)
"""Names multivector wrote into folders whose manifest does not list its files yet."""


def _figure(name: str) -> bool:
    stem, _, suffix = name.rpartition(".")
    return stem in FIGURES and suffix in FIGURE_FORMATS


def foreign(folder: Path) -> list[str]:
    """Entries of ``folder`` that multivector did not write: not listed in its manifest
    (``files``), not a figure ``plot`` draws, not one of its leftover temporary files."""
    manifest = _manifest(folder)
    if manifest is None:
        return sorted(p.name for p in folder.iterdir())
    listed = manifest.get("files")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if _figure(name) or re.fullmatch(r"\..+\.\d+\.(tmp|partial\.\w+)", name):
            continue
        if isinstance(listed, list):
            if name in listed:
                continue
        elif entry.is_file() and any(fnmatch.fnmatch(name, p) for p in WRITTEN_BEFORE_LISTS):
            continue
        elif entry.is_dir() and _manifest(entry) is not None and not foreign(entry):
            continue  # a run inside a comparison
        found.append(name)
    return sorted(found)


def _manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Before anything runs: refuse a destination that cannot be written (WriteFailed), or
    that already holds something, unless told to replace results multivector wrote."""
    out = Path(out)
    check_writable(out)
    if out.exists() and not out.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{out} is a file, not a folder")
    tidy(out)
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not overwrite:
        raise refuse(
            COMMAND_LINE,
            "--out",
            f"{out} already holds files; choose a new folder or add --overwrite",
        )
    others = foreign(out)
    if others:
        raise refuse(
            COMMAND_LINE,
            "--out",
            f"{out} holds files that multivector did not write; it will not replace them "
            f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''})",
        )


# --- staging folders, and replacing a folder --------------------------------------------------

STALE_AFTER = 24 * 3600
"""Seconds after which a staging or set-aside folder is left over whoever made it."""
HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:12] or "host"


def _beside(out: Path, kind: str) -> Path:
    """A hidden folder name beside ``out``, naming its owner (host and process)."""
    return out.parent / f".{out.name}.{kind}-{HOST}-{os.getpid()}-{secrets.token_hex(4)}"


def _leftovers(out: Path) -> list[tuple[Path, str]]:
    """Staging and set-aside folders of ``out`` whose owner died or that are stale."""
    pattern = re.compile(
        rf"\.{re.escape(out.name)}\.(staging|old)-([A-Za-z0-9]+)-(\d+)-[0-9a-f]{{8}}"
    )
    found = []
    try:
        entries = list(out.parent.iterdir()) if out.parent.is_dir() else []
    except OSError:
        return []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        kind, host, pid = match.group(1), match.group(2), int(match.group(3))
        try:
            old = time.time() - entry.stat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if old or (host == HOST and not _alive(pid)):
            found.append((entry, kind))
    return found


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tidy(out: Path) -> None:
    """Clean up after processes killed while writing ``out``: a set-aside old folder goes
    back into place if nothing replaced it, else its files go; staging folders go."""
    for folder, kind in _leftovers(out):
        try:
            if kind == "old" and not out.exists():
                os.rename(folder, out)  # killed between setting aside and moving in
            elif kind == "old":
                _remove_ours(folder)
            else:
                shutil.rmtree(folder)
        except OSError:
            continue  # another process got there first, or it is not ours to remove


def _remove_ours(folder: Path) -> None:
    """Delete the entries of a set-aside results folder that multivector wrote; the folder
    itself only if nothing else is left."""
    keep = set(foreign(folder))
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    if not keep:
        folder.rmdir()


@contextmanager
def staged(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A fresh staging folder beside ``out``, moved to ``out`` when the block ends without
    error and removed if it fails: readers never see a half-written folder. Its manifest
    gets the list of files written (``files``). An OSError becomes WriteFailed."""
    out = Path(out)
    check_writable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tidy(out)
        staging = _beside(out, "staging")
        os.mkdir(staging, 0o777)  # the umask decides, as for any folder the user makes
    except OSError as err:
        raise WriteFailed(out, reason(err)) from None
    try:
        yield staging
        _list_files(staging)
        _commit(staging, out, overwrite)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise WriteFailed(out, reason(err)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _list_files(staging: Path) -> None:
    manifest = _manifest(staging)
    if manifest is None:
        return
    manifest["files"] = sorted(p.name for p in staging.iterdir())
    text = json.dumps(manifest, indent=2, default=str) + "\n"
    write_atomic(staging / "manifest.json", text.encode())


def _commit(staging: Path, out: Path, overwrite: bool) -> None:
    """Move the staging folder to ``out``; an old ``out`` is set aside first and deleted
    last, so a failure at any step leaves either the old results or the new ones."""
    if not out.exists() and not out.is_symlink():
        _move_in(staging, out)
        return
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        out.rmdir()
        _move_in(staging, out)
        return
    if not overwrite:
        raise refuse(COMMAND_LINE, "--out", f"{out} was written meanwhile; add --overwrite")
    others = foreign(out)
    if others:
        raise refuse(
            COMMAND_LINE,
            "--out",
            f"{out} now holds files that multivector did not write; it will not replace "
            f"them ({', '.join(others[:5])})",
        )
    aside = _beside(out, "old")
    os.rename(out, aside)
    try:
        _move_in(staging, out)
    except BaseException:
        os.rename(aside, out)
        raise
    with suppress(OSError):  # the new results are in place; tidy() removes the rest later
        _remove_ours(aside)


def _move_in(staging: Path, out: Path) -> None:
    os.rename(staging, out)


# --- single files: figures and tables written beside other things -------------------------


def check_file_out(path: Path, overwrite: bool, formats: tuple[str, ...]) -> None:
    """Before drawing: a figure file needs a known format, an existing folder, and
    ``--overwrite`` to replace a file that is there."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise refuse(
            COMMAND_LINE,
            "--out",
            f"{path}: unknown format {path.suffix or '(none)'}; the name must end in "
            + ", ".join(f".{f}" for f in formats),
        )
    if path.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise refuse(
            COMMAND_LINE, "--out", f"{path}: no such folder {path.parent}; create it first"
        )
    if path.exists() and not overwrite:
        raise refuse(COMMAND_LINE, "--out", f"{path} already exists; add --overwrite to replace it")
    check_writable(path.parent)
    if len(os.fsencode(path.name)) > 200:
        raise WriteFailed(path, "the file name is longer than 200 bytes")


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` (same suffix, so the format follows) that becomes
    ``path`` when the block ends without error; nothing half-written is ever left."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True) if tmp.parent.is_dir() else None
        raise WriteFailed(path, reason(err)) from None
    except BaseException:
        tmp.unlink(missing_ok=True) if tmp.parent.is_dir() else None
        raise


def write_csv(frame: pd.DataFrame, path: Path, **options) -> None:
    """A CSV file written atomically."""
    write_atomic(path, frame.to_csv(**options).encode())


# --- a run's results ----------------------------------------------------------------------


def write(
    result: Result, plan: Plan, out: Path, started: datetime, overwrite: bool = False
) -> Path:
    """Write every output of a run into ``out`` at once (see the module docstring)."""
    # matplotlib loads only when there is something to draw
    from sim.results import changes, plots

    manifest = provenance(plan, result, started)
    stamped = provenance_stamp(manifest)
    tables = {
        "timeseries": result.timeseries,
        "groups": result.groups,
        "channels": result.channels,
    }
    if result.replicates is not None:
        tables["summary"] = bands.summarise(result.timeseries)
    for name, frame in tables.items():
        check_finite(frame, out / f"{name}.csv")
    for date, frame in result.snapshots.items():
        check_finite(frame, out / f"persons-{date}.csv")
    answers = changes.of_result(plan.spec, result.snapshots)  # two snapshot dates or more
    if answers is not None:
        check_finite(answers, out / "changes.csv")
    with staged(out, overwrite) as staging:
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
            write_parquet(frame, staging / f"{name}.parquet", stamped)
        for date, frame in result.snapshots.items():
            write_parquet(frame.reset_index(), staging / f"persons-{date}.parquet", stamped)
            frame.to_csv(staging / f"persons-{date}.csv")
        if answers is not None:
            answers.to_csv(staging / "changes.csv", index=False)
        saved = Saved(plan.spec.name, result.timeseries, result.groups, result.channels, manifest)
        plots.draw("trajectories", saved, staging / "trajectories.png")
        manifest["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def provenance(plan: Plan, result: Result, started: datetime) -> dict:
    """Everything needed to reproduce a run and to know what produced a result."""
    profile_file = profile_path(plan.spec.run.profile)  # a shipped name or a file path
    return {
        **environment(started),
        "seed": result.seed,
        "replicates": result.replicates,
        "seeding": SEEDING if result.replicates is not None else "numpy SeedSequence(seed)",
        "until": plan.until,
        "snapshots": plan.snapshots,
        "overrides": plan.overrides,
        "posterior": None if plan.draws is None else plan.draws.provenance(),
        "band": None if result.replicates is None else bands.source_of(plan.draws),
        "event_warnings": result.warnings,
        "scenario": {
            "name": plan.spec.name,
            "files": [
                {"path": str(s.path), "sha256": scenario_hash(s.path)} for s in plan.resolved.chain
            ],
            "resolved": plan.spec.model_dump(mode="json"),
        },
        "profile": {"path": str(profile_file), "sha256": scenario_hash(profile_file)},
    }


SEEDING = "run i draws from numpy SeedSequence(seed, spawn_key=(i,)), the i-th child of seed"


def provenance_stamp(manifest: dict) -> dict:
    """The part of the manifest every Parquet file carries in its schema metadata (see
    :func:`sim.experiments.provenance.stamp`, which sweeps use too)."""
    return stamp(manifest)


def write_parquet(frame: pd.DataFrame, path: Path, stamped: dict) -> None:
    """A Parquet file whose schema metadata says what produced it (key ``multivector``),
    with ``date`` as a timestamp (the first day of the month)."""
    write_atomic(path, parquet_bytes(frame, stamped))


def summary(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Each power's attraction, favourable share and alignment at the first and last month,
    and the effective number of vectors (columns ``<measure> start`` and ``<measure> end``).
    An ensemble's values are medians over its runs."""
    cols = ["attraction", "favourable", "alignment", "effective_vectors"]
    first, last = timeseries["date"].iloc[0], timeseries["date"].iloc[-1]
    ends = timeseries[timeseries["date"].isin([first, last])]
    ends = ends.groupby(["date", "power"], sort=False)[cols].median().reset_index()
    ends["at"] = np.where(ends["date"] == first, "start", "end")
    table = ends.pivot(index="power", columns="at", values=cols)
    table.columns = [f"{measure} {at}" for measure, at in table.columns]
    return table.loc[list(dict.fromkeys(timeseries["power"]))]
