"""A sweep's folder: the design and manifest written first, results streamed to atomically
written Parquet parts, failures recorded, and what is done read back for ``--resume``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.sweep.spec import Sweep, design
from sim.inputs.errors import COMMAND_LINE, refuse

# --- the results folder --------------------------------------------------------------------

RESULTS, SERIES, FAILURES = "results", "series", "failures"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see all of it or nothing: a temporary file in the same
    folder, flushed to disk, then renamed over the target."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


class Parts:
    """Buffers finished runs and writes them in atomic Parquet parts."""

    def __init__(self, folder: Path, label: str, batch: int):
        self.folder, self.label, self.batch = folder, label, batch
        self.rows: list[dict] = []
        self.series: list[pd.DataFrame] = []
        for sub in (RESULTS, SERIES, FAILURES):
            (folder / sub).mkdir(parents=True, exist_ok=True)

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
        if self.series:  # the series first: a run counts as done once its row is written
            frame = pd.concat(self.series, ignore_index=True)
            write_atomic(self.folder / SERIES / name, parquet_bytes(frame))
        frame = pd.DataFrame(self.rows).sort_values("run")
        write_atomic(self.folder / RESULTS / name, parquet_bytes(frame))
        self.rows, self.series = [], []


def done_runs(folder: Path) -> set[int]:
    """Runs already recorded in ``folder``: in a results part or a failure record."""
    done: set[int] = set()
    for part in sorted((folder / RESULTS).glob("part-*.parquet")):
        done |= set(pq.read_table(part, columns=["run"]).column("run").to_pylist())
    for record in (folder / FAILURES).glob("run-*.json"):
        done.add(int(record.stem.removeprefix("run-")))
    return done


def results(folder: str | Path) -> pd.DataFrame:
    """Every finished run of a sweep, one row each, parameters and outcomes as columns,
    in run order. (``pd.read_parquet(folder / "results")`` gives the same rows unsorted.)"""
    parts = sorted((Path(folder) / RESULTS).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values("run", ignore_index=True)


def series(folder: str | Path) -> pd.DataFrame:
    """Whole time series of the runs, if the sweep recorded them (long format)."""
    parts = sorted((Path(folder) / SERIES).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values(["run", "date", "power"], ignore_index=True)


def failures(folder: str | Path) -> pd.DataFrame:
    """The failure records of a sweep, one row per failed run."""
    records = [json.loads(p.read_text()) for p in sorted((Path(folder) / FAILURES).glob("*.json"))]
    return pd.DataFrame(records)


WRITTEN_FIRST = ("sweep.toml", "design.parquet", "manifest.json")


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
        saved = pd.read_parquet(folder / "design.parquet")
        if not saved.equals(points):
            raise refuse(COMMAND_LINE, "--resume", f"{folder}: design.parquet was changed")
        return points
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "sweep.toml", sweep.text.encode())
    write_atomic(folder / "design.parquet", parquet_bytes(points))
    write_atomic(folder / "design.csv", points.to_csv(index=False).encode())
    write_atomic(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return points


def check_folder(folder: Path, resume: bool, shard: tuple[int, int]) -> None:
    """Refuse to start a sweep in a folder that already holds files, unless resuming (or
    adding another shard of the same sweep, which :func:`prepare` then checks)."""
    if folder.exists() and not folder.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{folder} is a file, not a folder")
    if resume or not (folder.is_dir() and any(folder.iterdir())):
        return
    if is_sweep_folder(folder) and shard[1] > 1:
        return
    raise refuse(
        "command line",
        "--out",
        f"{folder} already holds files; add --resume to continue a sweep there, "
        "or choose a new folder",
    )
