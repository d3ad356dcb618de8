"""Calibration with uncertainty: rejection ABC on a Latin hypercube (``docs/calibration.md``,
"Uncertainty").

The point fit (:mod:`sim.experiments.calibrate`) says where the targets are met best; this
says how far the free parameters can move while still meeting them. Approximate Bayesian
computation by rejection (Pritchard et al. 1999; Beaumont, Zhang & Balding 2002): draw the
free parameters from their prior, uniform on the bounds of the calibration file, as a Latin
hypercube (McKay, Beckman & Conover 1979); run the model once per point, each with a seed of
its own, so that the simulator's noise enters the posterior as it would a likelihood; keep
the points whose distance to the targets is among the smallest ``accept`` share. The
distance is the one the point fit minimises, the root of the summed squared residuals in
units of each target's band. The kept points are a sample of the approximate posterior.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.experiments import patterns
from sim.experiments.calibrate import (
    END,
    FREE,
    MEASURES,
    TARGETS,
    Free,
    Target,
    standardised,
    to_values,
)

DESIGN_SEED = 2026
"""Seed of the Latin hypercube (the runs' seeds come from the scenario's root seed)."""
FEWEST_KEPT = 10
"""Below this many kept points the summary's quantiles say little."""


@dataclass
class Posterior:
    """Every point drawn (``prior``) and those kept (``accepted``): a column per free
    parameter, ``distance``, and a column per target with what the point's run measured."""

    prior: pd.DataFrame
    accepted: pd.DataFrame
    tolerance: float  # the largest distance kept
    free: tuple[Free, ...]
    targets: tuple[Target, ...]

    def summary(self) -> pd.DataFrame:
        return summarise(self.accepted, self.free)


def summarise(accepted: pd.DataFrame, free: tuple[Free, ...] = FREE) -> pd.DataFrame:
    """Per free parameter: its prior bounds, and the posterior's median and 5 % and 95 %
    quantiles, with the width of that interval as a share of the prior range."""
    rows = []
    for f in free:
        q05, median, q95 = np.quantile(accepted[f.path], [0.05, 0.5, 0.95])
        rows.append(
            {
                "parameter": f.path,
                "low": f.low,
                "high": f.high,
                "median": median,
                "q05": q05,
                "q95": q95,
                "width_share": (q95 - q05) / (f.high - f.low),
            }
        )
    return pd.DataFrame(rows)


def measured_point(
    scenario: str,
    overrides: tuple[tuple[str, float], ...],
    replicate: int,
    population: int,
    seed: int | None,
    measures: tuple[str, ...],
) -> np.ndarray:
    """One run of ``scenario`` with ``overrides`` to the end of the fit's years, and what it
    measures for each of ``measures`` (a process pool's task: module level, plain arguments)."""
    run = patterns.run_variant(
        patterns.Variant(scenario, overrides), replicate, population, END, seed
    )
    runs = patterns.Runs({"fit": [run]})
    return np.array([MEASURES[name](runs) for name in measures])


def sample(
    scenario: str = "baseline",
    points: int = 1000,
    accept: float = 0.05,
    population: int = 2000,
    seed: int = DESIGN_SEED,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    free: tuple[Free, ...] = FREE,
    targets: tuple[Target, ...] = TARGETS,
) -> Posterior:
    """Rejection ABC: ``points`` draws of ``free`` from a Latin hypercube on their bounds
    (seeded by ``seed``), one run each (replicate i of the scenario's root seed for point i),
    the ``accept`` share nearest to ``targets`` kept."""
    from sim.experiments.ensemble import run_tasks

    if not 0 < accept <= 1:
        raise ValueError(f"accept must be in (0, 1], got {accept}")
    unit = qmc.LatinHypercube(d=len(free), seed=np.random.default_rng(seed)).random(points)
    values = [to_values(u, free) for u in unit]
    measures = tuple(t.measure for t in targets)
    arguments = [
        (scenario, tuple(v.items()), point, population, None, measures)
        for point, v in enumerate(values)
    ]
    measured = np.array(run_tasks(measured_point, arguments, workers, progress))
    distance = np.sqrt((standardised(measured, targets) ** 2).sum(axis=1))
    table = pd.DataFrame(values)
    table["distance"] = distance
    for k, t in enumerate(targets):
        table[t.name] = measured[:, k]
    kept = max(1, round(accept * points))
    order = np.argsort(distance, kind="stable")[:kept]
    accepted = table.iloc[np.sort(order)].reset_index(drop=True)
    return Posterior(table, accepted, float(distance[order].max()), free, targets)
