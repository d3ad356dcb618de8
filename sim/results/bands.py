"""Median and 5-95 % bands of measures over the runs of an ensemble (pure pandas).

A table from one run has no ``run`` column; its band is the run itself (all three equal).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.model.columns import NUMERIC_OF_STATE, PER_POWER

LOW, HIGH = 0.05, 0.95


SEED_NOISE = "seed noise"
BOTH = "seed noise and parameter uncertainty"


def source(manifest: dict) -> str:
    """What an ensemble's band spans: the runs' seeds only, or their seeds and parameters
    drawn from a posterior sample (``run --posterior``), as its manifest records."""
    drawn = manifest.get("posterior")
    if not drawn or not drawn.get("parameters"):  # none, or every column fixed by --set
        return SEED_NOISE
    return f"{BOTH}: posterior {Path(drawn['path']).name}"


def source_of(draws) -> str:
    """:func:`source` of an ensemble about to be written (``draws``: the posterior's, or
    None)."""
    return source({"posterior": None if draws is None else draws.provenance()})


def runs(table: pd.DataFrame) -> int:
    """How many runs a table holds."""
    return int(table["run"].nunique()) if "run" in table.columns else 1


def band(timeseries: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per date and power: ``median``, ``low`` (5 %) and ``high`` (95 %) of a measure."""
    keys = ["date"] if measure in NUMERIC_OF_STATE else ["date", "power"]
    data = (
        timeseries.drop_duplicates(["run", "date"])
        if measure in NUMERIC_OF_STATE and "run" in timeseries
        else timeseries
    )
    grouped = data.groupby(keys, sort=False)[measure]
    out = pd.DataFrame(
        {
            "median": grouped.median(),
            "low": grouped.quantile(LOW),
            "high": grouped.quantile(HIGH),
        }
    ).reset_index()
    return out


def summarise(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Every measure's band over time, long: date, power (empty for the state), measure,
    median, low, high."""
    parts = []
    for measure in PER_POWER + NUMERIC_OF_STATE:
        part = band(timeseries, measure).assign(measure=measure)
        if "power" not in part.columns:
            part.insert(1, "power", "")
        parts.append(part)
    columns = ["date", "power", "measure", "median", "low", "high"]
    return pd.concat(parts, ignore_index=True)[columns]
