"""Writing a run's results: tidy tables, the figure and a provenance manifest.

Files are written into a fresh temporary folder beside the destination, which is renamed into
place only when everything is written: an interrupted run leaves no half-written results and
never damages results already there.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.provenance import environment
from sim.inputs.errors import COMMAND_LINE, refuse
from sim.results.saved import Saved
from sim.experiments.runner import Plan, Result
from sim.inputs.scenario import scenario_hash, shipped_profiles


def default_out_dir(plan: Plan, started: datetime, root: Path = Path("results")) -> Path:
    """``results/<scenario>-<UTC timestamp>``."""
    return root / f"{plan.spec.name}-{started.strftime('%Y%m%dT%H%M%SZ')}"


OURS = ("manifest.json", "differences.csv")
"""A folder holding one of these was written by multivector, and only such a folder is
ever replaced (``--overwrite`` must never delete a user's own files)."""


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse a destination that already holds something, unless told to replace results."""
    if out.exists() and not out.is_dir():
        raise refuse(COMMAND_LINE, "--out", f"{out} is a file, not a folder")
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not overwrite:
        raise refuse(
            COMMAND_LINE,
            "--out",
            f"{out} already holds files; choose a new folder or add --overwrite",
        )
    if not any((out / name).is_file() for name in OURS):
        raise refuse(
            COMMAND_LINE,
            "--out",
            f"{out} holds files that multivector did not write; it will not replace them",
        )


def write(
    result: Result, plan: Plan, out: Path, started: datetime, overwrite: bool = False
) -> Path:
    """Write every output of a run into ``out`` at once (see the module docstring)."""
    from sim.results import bands
    from sim.results import plots  # matplotlib loads only when there is something to draw

    with staged(out, overwrite) as staging:
        manifest = provenance(plan, result, started)
        stamp = provenance_stamp(manifest)
        tables = {
            "timeseries": result.timeseries,
            "groups": result.groups,
            "channels": result.channels,
        }
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
            write_parquet(frame, staging / f"{name}.parquet", stamp)
        if result.replicates is not None:
            summary = bands.summarise(result.timeseries)
            summary.to_csv(staging / "summary.csv", index=False)
            write_parquet(summary, staging / "summary.parquet", stamp)
        for date, frame in result.snapshots.items():
            write_parquet(frame.reset_index(), staging / f"persons-{date}.parquet", stamp)
            frame.to_csv(staging / f"persons-{date}.csv")
        saved = Saved(
            plan.spec.name, result.timeseries, result.groups, result.channels, manifest
        )
        plots.draw("trajectories", saved, staging / "trajectories.png")
        manifest["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


@contextmanager
def staged(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A fresh temporary folder beside ``out``, renamed to ``out`` when the block ends
    without error and removed if it fails: readers never see a half-written folder."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out) if overwrite else out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def provenance(plan: Plan, result: Result, started: datetime) -> dict:
    """Everything needed to reproduce a run and to know what produced a result."""
    profile_file = shipped_profiles()[plan.spec.run.profile]
    return {
        **environment(started),
        "seed": result.seed,
        "replicates": result.replicates,
        "seeding": SEEDING if result.replicates is not None else "numpy SeedSequence(seed)",
        "until": plan.until,
        "snapshots": plan.snapshots,
        "overrides": plan.overrides,
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
    """The part of the manifest every Parquet file carries in its schema metadata."""
    return {
        "package": manifest["package"],
        "scenario": manifest["scenario"]["name"],
        "scenario_files": manifest["scenario"]["files"],
        "seed": manifest["seed"],
        "started_utc": manifest["started_utc"],
    }


def write_parquet(frame: pd.DataFrame, path: Path, stamp: dict) -> None:
    """A Parquet file whose schema metadata says what produced it (key ``multivector``)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), b"multivector": json.dumps(stamp).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)


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
