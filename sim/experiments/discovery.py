"""Scenario discovery on a finished sweep: where in the parameter space does a condition on
an outcome hold? PRIM (Friedman and Fisher 1999; Bryant and Lempert 2010), through the EMA
Workbench's implementation (``ema_workbench.analysis.prim``).

Each finished run is a case: its swept parameters are the inputs, and it is a *case of
interest* when the condition holds for its outcome (``dominant_share_2030 > 0.4``). PRIM
peels the parameter space down to a box that holds many cases of interest (its *density*,
the share of the runs inside that are cases) while keeping as many of them as it can (its
*coverage*, the share of all cases that fall inside). Along that peeling trajectory this
module chooses, for each box, the point of most coverage whose density reaches
``min_density`` (the densest, if none does). A parameter the box leaves at its full range is
*unrestricted*: the condition does not depend on it there.

ema_workbench is an optional dependency (``pip install 'multivector[analysis]'``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments import sweep as sweeping
from sim.experiments.ema import import_workbench
from sim.inputs.errors import COMMAND_LINE, refuse

OPERATORS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
CONDITION = re.compile(rf"^\s*([A-Za-z_]\w*)\s*(<=|>=|<|>)\s*({NUMBER})\s*$")
SYNTAX = "OUTCOME OP NUMBER, OP one of < <= > >= (e.g. 'dominant_share_2030 > 0.4')"

MIN_DENSITY = 0.8
"""The density a chosen box should reach (the EMA Workbench's customary threshold)."""
FEW_CASES = 10
"""Fewer cases of interest than this make a box unreliable: a warning says so."""


@dataclass(frozen=True)
class Condition:
    """``outcome op threshold``: which runs are cases of interest."""

    outcome: str
    operator: str
    threshold: float

    def holds(self, values: pd.Series) -> np.ndarray:
        """Where the condition holds (a missing value never satisfies it)."""
        return OPERATORS[self.operator](values.to_numpy(dtype=float), self.threshold)

    def __str__(self) -> str:
        return f"{self.outcome} {self.operator} {self.threshold:g}"


def parse_condition(text: str, outcomes: list[str]) -> Condition:
    """Read ``--condition``: an outcome the sweep recorded, a comparison, a number."""
    match = CONDITION.match(text)
    if match is None:
        raise refuse(COMMAND_LINE, "--condition", f"cannot read {text!r}; write {SYNTAX}")
    name, operator, number = match.groups()
    if name not in outcomes:
        raise refuse(
            COMMAND_LINE,
            "--condition",
            f"unknown outcome {name!r}; the sweep recorded: {', '.join(outcomes)}",
        )
    return Condition(name, operator, float(number))


@dataclass
class Box:
    """One box PRIM found: its limits on every parameter, and how good it is."""

    number: int
    limits: pd.DataFrame
    """One row per swept parameter: ``low``, ``high`` (the box), ``range_low``,
    ``range_high`` (the sweep's), ``restricted`` and the quasi-p values of the restriction
    (``qp_low``, ``qp_high``: a one-sided binomial test, Bryant and Lempert 2010)."""
    coverage: float
    density: float
    mass: float
    cases: int
    """Runs in the box."""
    trajectory: pd.DataFrame
    """The peeling trajectory: ``coverage``, ``density``, ``mass``, ``res_dim`` per step."""
    chosen: int
    """The step of the trajectory chosen as this box."""

    @property
    def restricted(self) -> list[str]:
        return list(self.limits.loc[self.limits["restricted"], "parameter"])


@dataclass
class Discovery:
    """What :func:`prim` found in a sweep."""

    condition: Condition
    runs: int
    of_interest: int
    boxes: list[Box]
    roles: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Every box's limits and statistics, one row per box and parameter (``prim.csv``)."""
        rows = [
            box.limits.assign(
                box=box.number,
                coverage=box.coverage,
                density=box.density,
                mass=box.mass,
                runs_in_box=box.cases,
                condition=str(self.condition),
            )
            for box in self.boxes
        ]
        if not rows:
            return pd.DataFrame(columns=[*COLUMNS])
        return pd.concat(rows, ignore_index=True)[list(COLUMNS)]


COLUMNS = (
    "condition",
    "box",
    "parameter",
    "role",
    "restricted",
    "low",
    "high",
    "range_low",
    "range_high",
    "qp_low",
    "qp_high",
    "coverage",
    "density",
    "mass",
    "runs_in_box",
)


def prim(
    folder: Path,
    condition: str | Condition,
    *,
    boxes: int = 1,
    min_density: float = MIN_DENSITY,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> Discovery:
    """Find up to ``boxes`` boxes of the sweep's parameter space where ``condition`` holds.

    Every finished run is a case (replications are kept apart: PRIM reads the noise as
    density below 1). Raises ScenarioError for an unreadable condition, a sweep with no
    finished runs, or a condition that holds for every run or for none.
    """
    prim_module = import_workbench(COMMAND_LINE, "--method prim").analysis.prim
    sweep = sweeping.stored(folder)
    known = [o.name for o in sweep.spec.outcomes]
    if isinstance(condition, str):
        condition = parse_condition(condition, known)
    table = sweeping.results(folder)
    if table.empty:
        raise refuse(COMMAND_LINE, "FOLDER", f"{folder} holds no finished runs")
    x = table[sweep.names].reset_index(drop=True)
    y = condition.holds(table[condition.outcome])
    hits = int(y.sum())
    if hits in (0, len(y)):
        raise refuse(
            COMMAND_LINE,
            "--condition",
            f"{condition} holds for {'none' if hits == 0 else 'all'} of the {len(y)} runs; "
            f"there is nothing to tell apart (the outcome runs from "
            f"{table[condition.outcome].min():.3g} to {table[condition.outcome].max():.3g})",
        )
    found = Discovery(condition, len(y), hits, [], sweep.roles())
    if hits < FEW_CASES:
        found.warnings.append(
            f"only {hits} runs satisfy {condition}: the box rests on few cases; enlarge the sweep"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas FutureWarnings from inside the workbench
        engine = prim_module.Prim(x, y.astype(int), peel_alpha=peel_alpha, mass_min=mass_min)
        for number in range(1, boxes + 1):
            box = engine.find_box()
            if box is None:
                break
            chosen = choose(box.peeling_trajectory, min_density)
            box.select(chosen)
            found.boxes.append(_describe(box, number, chosen, found.roles))
            if box.density < min_density:
                found.warnings.append(
                    f"box {number}: no box reaches density {min_density:g}; the densest "
                    f"({box.density:.2f}) is shown"
                )
            left = np.setdiff1d(engine.yi_remaining, box.yi)
            if not y[left].any():
                break  # no case of interest is left outside the boxes
    return found


def choose(trajectory: pd.DataFrame, min_density: float) -> int:
    """The step of a peeling trajectory of most coverage among those of density at least
    ``min_density`` (ties: the denser, then the earlier); the densest step if none is."""
    steps = trajectory.reset_index(drop=True)
    good = steps[steps["density"] >= min_density]
    if good.empty:
        return int(steps["density"].idxmax())
    best = good.sort_values(["coverage", "density"], ascending=[False, False], kind="stable")
    return int(best.index[0])


def _describe(box, number: int, chosen: int, roles: dict[str, str]) -> Box:
    full = box.box_lims[0]
    limits = box.box_lim
    _, data = box.inspect(chosen, style="data")[0]
    qp = {
        name: (float(row.iloc[2]), float(row.iloc[3])) for name, row in data.iterrows()
    }  # restricted parameters only: min, max, qp of the lower, of the upper limit
    rows = []
    for name in full.columns:
        restricted = name in qp
        rows.append(
            {
                "parameter": name,
                "role": roles.get(name, ""),
                "restricted": restricted,
                "low": _number(limits[name].iloc[0]),
                "high": _number(limits[name].iloc[1]),
                "range_low": _number(full[name].iloc[0]),
                "range_high": _number(full[name].iloc[1]),
                "qp_low": qp.get(name, (np.nan, np.nan))[0],
                "qp_high": qp.get(name, (np.nan, np.nan))[1],
            }
        )
    steps = box.peeling_trajectory.reset_index(drop=True)
    return Box(
        number=number,
        limits=pd.DataFrame(rows),
        coverage=float(box.coverage),
        density=float(box.density),
        mass=float(box.mass),
        cases=int(steps.loc[chosen, "n"]),
        trajectory=steps[["coverage", "density", "mass", "res_dim"]].astype(float),
        chosen=chosen,
    )


def _number(value) -> float | str:
    """A limit: a number, or for a list of switches or names the values the box keeps."""
    if isinstance(value, set | frozenset):
        return "|".join(sorted(str(v) for v in value))
    return float(value)
