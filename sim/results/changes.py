"""The survey question "has your attitude toward <power> changed?" asked between two
person-level snapshots: the expected shares of the answers worse / unchanged / better, by
power and population group (``changes.csv``).

Only persons present at both dates answer (a panel): they are matched by ``person_id`` when
both snapshots have it (persons leave and enter the population, so a row is not a person),
else by the snapshots' index. Each respondent's chances of each answer come from the
response model of :func:`sim.model.survey.change` (a change is reported once attraction
moved by more than the tolerance, with a logistic answer function of width ``spread``); a
group's shares are their mean over its respondents, so the three sum to 1. A respondent
belongs to the group they are in at the later date, when the question is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from sim.inputs.schema import ScenarioSpec
from sim.model.columns import GROUPED_BY
from sim.model.survey import CHANGE_ANSWERS, change

COLUMNS = ("from", "to", "power", "dimension", "group", "respondents", *CHANGE_ANSWERS)
"""Columns of the table (an ensemble's has ``run`` first)."""
ALL = "all"
"""The dimension and group of the row for every respondent."""
PREFIX = "attraction_"
KEY = "person_id"
"""The column that names a person across snapshots (else the index does)."""


def parameters(spec: ScenarioSpec) -> tuple[float, float]:
    """The response model's tolerance and spread, from the scenario's ``survey`` section."""
    return float(spec.survey.change_tolerance), float(spec.survey.spread)


def powers_of(frame: pd.DataFrame) -> list[str]:
    """The powers a snapshot records an attraction to, in its order."""
    return [c.removeprefix(PREFIX) for c in frame.columns if c.startswith(PREFIX)]


def panel(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the persons present at both dates, aligned: (before's, after's)."""
    if KEY in before.columns and KEY in after.columns:
        before, after = before.set_index(KEY), after.set_index(KEY)
    for frame, when in ((before, "earlier"), (after, "later")):
        if not frame.index.is_unique:
            raise ValueError(f"the {when} snapshot names a person twice")
    common = after.index.intersection(before.index, sort=False)
    return before.loc[common], after.loc[common]


def between(
    before: pd.DataFrame,
    after: pd.DataFrame,
    tolerance: float,
    spread: float,
    *,
    dates: tuple[str, str] | None = None,
    dimensions: Sequence[str] = GROUPED_BY,
) -> pd.DataFrame:
    """The table of answers between two snapshots (columns :data:`COLUMNS`): for each power,
    a row for all respondents (dimension and group ``all``) and one per group of each of
    ``dimensions`` the snapshots record. Snapshots of an ensemble (a ``run`` column) give
    one set of rows per run, ``run`` first. ``dates`` default to the snapshots' ``date``."""
    if dates is None:
        dates = (str(before["date"].iloc[0]), str(after["date"].iloc[0]))
    if "run" in before.columns and "run" in after.columns:
        tables = [
            _between(
                before[before["run"] == run], one, tolerance, spread, dates, dimensions
            ).assign(run=run)
            for run, one in after.groupby("run", sort=True)
        ]
        return pd.concat(tables, ignore_index=True)[["run", *COLUMNS]]
    return _between(before, after, tolerance, spread, dates, dimensions)


def _between(
    before: pd.DataFrame,
    after: pd.DataFrame,
    tolerance: float,
    spread: float,
    dates: tuple[str, str],
    dimensions: Iterable[str],
) -> pd.DataFrame:
    earlier, later = panel(before, after)
    dims = [d for d in dimensions if d in later.columns]
    rows = []
    for power in [p for p in powers_of(later) if f"{PREFIX}{p}" in earlier.columns]:
        column = f"{PREFIX}{power}"
        chances = change(
            earlier[column].to_numpy(float), later[column].to_numpy(float), tolerance, spread
        )
        answers = pd.DataFrame(chances, columns=list(CHANGE_ANSWERS), index=later.index)
        if len(answers):
            rows.append((power, ALL, ALL, len(answers), *answers.mean().to_numpy()))
        for dim in dims:
            by = answers.groupby(later[dim], observed=True, sort=True)
            counts, shares = by.size(), by.mean()
            for group, count in counts.items():
                rows.append((power, dim, str(group), int(count), *shares.loc[group].to_numpy()))
    table = pd.DataFrame(rows, columns=list(COLUMNS[2:]))
    table.insert(0, "to", dates[1])
    table.insert(0, "from", dates[0])
    table["respondents"] = table["respondents"].astype(np.int64)
    return table


def consecutive(
    snapshots: Mapping[str, pd.DataFrame], tolerance: float, spread: float
) -> pd.DataFrame | None:
    """The answers between each pair of consecutive snapshot dates, in one table (None with
    fewer than two dates)."""
    dates = sorted(snapshots)
    if len(dates) < 2:
        return None
    tables = [
        between(snapshots[a], snapshots[b], tolerance, spread, dates=(a, b))
        for a, b in pairwise(dates)
    ]
    return pd.concat(tables, ignore_index=True)


def of_result(spec: ScenarioSpec, snapshots: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """A run's or an ensemble's ``changes.csv`` table from its snapshots and its scenario's
    survey parameters (None with fewer than two snapshot dates)."""
    return consecutive(snapshots, *parameters(spec))
