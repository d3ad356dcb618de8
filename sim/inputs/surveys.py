"""The survey figures a country's calibration and validation compare with: one data file per
country (``scenarios/data/<country>_surveys.toml``), each figure with its question, group,
value, fieldwork year and source.

Figures fielded in 2021 or earlier may set parameters (calibration targets); figures from
2022 on are out-of-sample checks only (docs/validation.md). :func:`figure` refuses to hand
one out for the wrong use, so the split cannot be broken by accident.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sim.inputs.scenario import shipped_dir

LAST_FITTED_YEAR = 2021
"""The last fieldwork year a fitted parameter may see."""


@dataclass(frozen=True)
class Figure:
    """One survey figure of the data file."""

    id: str
    question: str
    power: str
    group: str
    value: float
    answer: str
    year: str
    source: str
    url: str = ""
    note: str = ""
    unit: str = "share"

    @property
    def last_year(self) -> int:
        """The last year of fieldwork ("2017-2019" -> 2019)."""
        years = [int(y) for y in re.findall(r"\d{4}", self.year)]
        if not years:
            raise ValueError(f"figure {self.id}: no fieldwork year in {self.year!r}")
        return max(years)


def data_file(country: str = "kazakhstan") -> Path:
    return shipped_dir() / "data" / f"{country}_surveys.toml"


@cache
def figures(country: str = "kazakhstan") -> dict[str, Figure]:
    """Every figure of a country's data file, by id."""
    with data_file(country).open("rb") as fh:
        rows = tomllib.load(fh)["figure"]
    fields = Figure.__dataclass_fields__
    return {r["id"]: Figure(**{k: v for k, v in r.items() if k in fields}) for r in rows}


def figure(figure_id: str, use: str, country: str = "kazakhstan") -> Figure:
    """A figure by id, for ``use``: "fit" (fieldwork in 2021 or earlier) or "check" (2022
    on: out-of-sample). ValueError if the figure's years do not allow that use."""
    found = figures(country)[figure_id]
    fitted = found.last_year <= LAST_FITTED_YEAR
    if use == "fit" and not fitted:
        raise ValueError(f"{figure_id} ({found.year}) is after {LAST_FITTED_YEAR}: never fit it")
    if use == "check" and fitted:
        raise ValueError(f"{figure_id} ({found.year}) is not out of sample")
    if use not in ("fit", "check"):
        raise ValueError(f"use must be 'fit' or 'check', not {use!r}")
    return found
