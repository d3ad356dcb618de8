"""Saved results: read a results folder back, or wrap fresh tables, for plots and comparisons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pydantic import TypeAdapter

from sim.inputs.errors import refuse
from sim.inputs.schema import Event, ScenarioSpec

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


def load(folder: str | Path) -> Saved:
    """Read a results folder; a ScenarioError names what is missing or unreadable."""
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
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        name = manifest["scenario"]["name"]
        tables = {key: _read(_find(folder, key)) for key in ("timeseries", "groups", "channels")}
    except (OSError, ValueError, KeyError) as err:
        raise refuse(folder, "", f"unreadable results: {err}") from None
    return Saved(name, manifest=manifest, **tables)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.parquet", folder / f"{name}.csv"):
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def from_model(model: MultivectorModel) -> Saved:
    """The tables of a model that has run (from the Python API), ready to plot or compare."""
    return _fresh(model.spec, model.params.run.seed, model.timeseries(), model.groups(),
                  model.channels())


def from_result(result: Result) -> Saved:
    """The tables of a run or an ensemble made in this process, ready to plot or compare."""
    return _fresh(result.spec, result.seed, result.timeseries, result.groups, result.channels)


def _fresh(spec: ScenarioSpec, seed: int, *tables: pd.DataFrame) -> Saved:
    manifest = {
        "scenario": {"name": spec.name, "resolved": spec.model_dump(mode="json")},
        "seed": seed,
    }
    return Saved(spec.name, *tables, manifest)
