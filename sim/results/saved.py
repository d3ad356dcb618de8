"""Saved results: read a results folder back, or wrap fresh tables, for plots and comparisons."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyarrow import ArrowException
from pydantic import TypeAdapter, ValidationError

from sim.experiments.provenance import months
from sim.inputs.errors import refuse
from sim.inputs.schema import Event, ScenarioSpec
from sim.model.columns import OF_STATE, PER_POWER
from sim.results import changes

if TYPE_CHECKING:
    from sim.experiments.runner import Result
    from sim.model.model import MultivectorModel

REQUIRED = ("manifest.json", "timeseries", "groups", "channels")
"""What a results folder must hold (tables as .parquet or .csv)."""


@dataclass
class Saved:
    """The tables and manifest of one run or ensemble."""

    name: str
    timeseries: pd.DataFrame
    groups: pd.DataFrame
    channels: pd.DataFrame
    manifest: dict
    changes: pd.DataFrame | None = None
    """Answers to "has your attitude changed?" between snapshot dates (``changes.csv``), if
    the run took two or more snapshots."""

    @property
    def scenario(self) -> dict:
        return self.manifest["scenario"]["resolved"]

    @property
    def events(self) -> list:
        return TypeAdapter(list[Event]).validate_python(self.scenario.get("events", []))

    @property
    def threshold(self) -> float:
        return float(self.scenario["state"]["dominance_threshold"])

    @property
    def powers(self) -> list[str]:
        return list(dict.fromkeys(self.timeseries["power"]))


def is_results_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "manifest.json").is_file()


TABLE_COLUMNS = {
    "timeseries": ("date", "power", *PER_POWER, *OF_STATE),
    "groups": ("date", "dimension", "group", "power", "attraction", "favourable"),
    "channels": ("date", "power", "channel", "effort", "signal", "screening"),
}
"""Columns each table of a results folder must hold (others, such as ``step``, may be
there). No numeric column may be empty (NaN) or infinite."""


def load(folder: str | Path) -> Saved:
    """Read a results folder, checked: a ScenarioError names the file that is missing,
    unreadable, malformed or incomplete (a truncated table, a month or a power missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise refuse(folder, "", "no such results folder")
    missing = [name for name in REQUIRED if not _find(folder, name)]
    if missing:
        raise refuse(
            folder,
            "",
            f"incomplete results folder: missing {', '.join(missing)} "
            "(a folder written by 'multivector run' holds them all)",
        )
    manifest = _manifest(folder / "manifest.json")
    tables = {}
    for key in ("timeseries", "groups", "channels"):
        path = _find(folder, key)
        assert path is not None
        try:
            tables[key] = _read(path)
        except (OSError, ValueError, ArrowException, pd.errors.ParserError) as err:
            raise refuse(path, "", f"unreadable table: {_first_line(err)}") from None
        _check_table(path, key, tables[key])
    _check_complete(folder, manifest, tables)
    answers = _changes(folder / CHANGES) if (folder / CHANGES).is_file() else None
    return Saved(manifest["scenario"]["name"], manifest=manifest, changes=answers, **tables)


CHANGES = "changes.csv"


def _changes(path: Path) -> pd.DataFrame:
    """``changes.csv``, checked: its columns, months, numbers and shares summing to 1."""
    try:
        table = _read(path)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise refuse(path, "", f"unreadable table: {_first_line(err)}") from None
    missing = [c for c in changes.COLUMNS if c not in table.columns]
    if missing:
        raise refuse(path, "", f"missing columns {', '.join(missing)} (truncated or not ours?)")
    if table.empty:
        raise refuse(path, "", "the table is empty")
    for column in ("from", "to"):
        table[column] = table[column].astype(str)
        bad = ~table[column].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")
        if bad.any():
            raise refuse(path, column, f"not a month (YYYY-MM) at row {int(bad.argmax())}")
    for column in ("power", "dimension", "group"):
        if table[column].isna().any():
            raise refuse(path, column, f"empty at row {int(table[column].isna().argmax())}")
        table[column] = table[column].astype(str)
    shares = list(changes.CHANGE_ANSWERS)
    for column in ("respondents", *shares, *(["run"] if "run" in table else [])):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise refuse(path, column, f"{int(bad.sum())} empty, negative or non-numeric values "
                         f"(first at row {int(bad.argmax())}): truncated or edited?")  # fmt: skip
    total = table[shares].astype(float).sum(axis=1).to_numpy()
    if not np.allclose(total, 1.0, atol=1e-6):
        row = int(np.argmax(~np.isclose(total, 1.0, atol=1e-6)))
        raise refuse(path, "", f"the three shares do not sum to 1 at row {row}: edited?")
    return table


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _manifest(path: Path) -> dict:
    """The manifest, with the keys plots and comparisons need, checked."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise refuse(path, "", f"unreadable manifest: {_first_line(err)}") from None
    except ValueError as err:
        raise refuse(path, "", f"not valid JSON: {err}") from None
    scenario = manifest.get("scenario") if isinstance(manifest, dict) else None
    resolved = scenario.get("resolved") if isinstance(scenario, dict) else None
    if not isinstance(scenario, dict) or not isinstance(scenario.get("name"), str):
        raise refuse(path, "scenario.name", "missing: not a manifest of 'multivector run'")
    if not isinstance(resolved, dict):
        raise refuse(path, "scenario.resolved", "missing: the scenario the results came from")
    saved = Saved(scenario["name"], pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), manifest)
    try:
        saved.threshold  # noqa: B018  (read to check it)
        saved.events  # noqa: B018
        months = [str(resolved["run"][k]) for k in ("start", "end")]
    except (KeyError, TypeError, ValueError, ValidationError) as err:
        raise refuse(path, "scenario.resolved", f"malformed: {_first_line(err)}") from None
    if not all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months):
        raise refuse(path, "scenario.resolved.run", f"malformed start or end: {months}")
    return manifest


def _check_table(path: Path, key: str, table: pd.DataFrame) -> None:
    missing = [c for c in TABLE_COLUMNS[key] if c not in table.columns]
    if missing:
        raise refuse(path, "", f"missing columns {', '.join(missing)} (truncated or not ours?)")
    if table.empty:
        raise refuse(path, "", "the table is empty")
    dates = table["date"]
    if dates.isna().any() or not dates.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all():
        row = int((dates.isna() | ~dates.fillna("").str.fullmatch(r"\d{4}-\d{2}")).argmax())
        raise refuse(path, "date", f"not a month (YYYY-MM) at row {row}: truncated or edited?")
    text = ("date", "power", "dimension", "group", "channel", "dominant_power")
    numeric = [c for c in TABLE_COLUMNS[key] if c not in text]
    for column in numeric:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise refuse(
                path,
                column,
                f"{int(bad.sum())} empty, non-numeric or infinite values (first at row "
                f"{int(bad.argmax())}): truncated or edited?",
            )
    for column in ("power", *(c for c in ("dimension", "group", "channel") if c in table)):
        if table[column].isna().any():
            raise refuse(path, column, f"empty at row {int(table[column].isna().argmax())}")


def _check_complete(folder: Path, manifest: dict, tables: dict[str, pd.DataFrame]) -> None:
    """Every month from the first to the last, for every power (and channel), in every run;
    the run's first and last months those its manifest says it ran."""
    ts = tables["timeseries"]
    run = manifest["scenario"]["resolved"]["run"]
    first, last = str(run["start"]), str(manifest.get("until") or run["end"])
    span = pd.period_range(first, last, freq="M").strftime("%Y-%m")
    powers = list(dict.fromkeys(ts["power"]))
    runs = sorted(ts["run"].unique()) if "run" in ts else [None]
    expected = manifest.get("replicates")
    if isinstance(expected, int) and len(runs) != expected:
        raise refuse(
            _find(folder, "timeseries"), "run", f"{len(runs)} runs, the manifest says {expected}"
        )
    for key, keys in (("timeseries", ["power"]), ("channels", ["power", "channel"])):
        table, path = tables[key], _find(folder, key)
        combos = table[keys].drop_duplicates()
        rows = len(runs) * len(combos) * len(span)
        counted = table.groupby([*(["run"] if "run" in table else []), *keys, "date"]).size()
        if len(table) != rows or len(counted) != rows or set(table["date"]) != set(span):
            present = sorted(set(table["date"]))
            raise refuse(
                path,
                "",
                f"incomplete: {len(table)} rows where {len(runs)} run(s) x {len(combos)} "
                f"x {len(span)} months ({first} to {last}) make {rows}; months present "
                f"{present[0]} to {present[-1]} (truncated?)",
            )
        if key == "channels" and set(table["power"]) != set(powers):
            raise refuse(path, "power", f"powers {sorted(set(table['power']))} differ from "
                         f"the timeseries' {sorted(powers)}")  # fmt: skip
    groups, path = tables["groups"], _find(folder, "groups")
    by = [*(["run"] if "run" in groups else []), "date", "dimension", "group"]
    per = groups.groupby(by, sort=False)["power"].nunique()
    if (per != len(powers)).any() or set(groups["power"]) != set(powers):
        raise refuse(path, "", "incomplete: a group lacks some power at some date (truncated?)")
    if not {first, last} <= set(groups["date"]):
        raise refuse(path, "date", f"incomplete: should run from {first} to {last} (truncated?)")


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.parquet", folder / f"{name}.csv"):
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path) -> pd.DataFrame:
    """A table as a model makes it: ``date`` as YYYY-MM text, from Parquet (a timestamp)
    or CSV alike."""
    if path.suffix == ".parquet":
        return months(pd.read_parquet(path))
    with open(path, "rb") as handle:  # pandas ends every CSV line, the last one too
        handle.seek(0, 2)
        if handle.tell() == 0 or (handle.seek(-1, 2) and handle.read(1) != b"\n"):
            raise ValueError("the file ends in the middle of a line (truncated?)")
    return months(pd.read_csv(path, dtype={"date": str, "group": str, "power": str}))


def from_model(model: MultivectorModel) -> Saved:
    """The tables of a model that has run (from the Python API), ready to plot or compare."""
    return _fresh(
        model.spec, model.params.run.seed, model.timeseries(), model.groups(), model.channels()
    )


def from_result(result: Result) -> Saved:
    """The tables of a run or an ensemble made in this process, ready to plot or compare
    (with the answers to "has your attitude changed?" if it took two snapshots or more)."""
    saved = _fresh(result.spec, result.seed, result.timeseries, result.groups, result.channels)
    saved.changes = changes.of_result(result.spec, result.snapshots)
    return saved


def _fresh(spec: ScenarioSpec, seed: int, *tables: pd.DataFrame) -> Saved:
    manifest = {
        "scenario": {"name": spec.name, "resolved": spec.model_dump(mode="json")},
        "seed": seed,
    }
    return Saved(spec.name, *tables, manifest)
