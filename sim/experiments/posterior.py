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
    weight = accepted["weight"].to_numpy() if "weight" in accepted else None
    for f in free:
        q05, median, q95 = quantiles(accepted[f.path].to_numpy(), [0.05, 0.5, 0.95], weight)
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


def quantiles(values: np.ndarray, q: list[float], weight: np.ndarray | None = None) -> np.ndarray:
    """Quantiles of a sample, weighted if ``weight`` is given (the inverse of the weighted
    empirical distribution, interpolated between the midpoints of the points' weights)."""
    if weight is None:
        return np.quantile(values, q)
    order = np.argsort(values, kind="stable")
    v, w = values[order], weight[order] / weight.sum()
    return np.interp(q, np.cumsum(w) - w / 2, v)


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


def run_points(
    scenario: str,
    unit: np.ndarray,
    first: int,
    population: int,
    free: tuple[Free, ...],
    targets: tuple[Target, ...],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """One run per point of the unit cube (replicates ``first``, ``first`` + 1, ...): a row
    each with the point's values, its ``distance`` to ``targets`` and what its run measured
    for each target."""
    from sim.experiments.ensemble import run_tasks

    values = [to_values(u, free) for u in unit]
    measures = tuple(t.measure for t in targets)
    arguments = [
        (scenario, tuple(v.items()), first + k, population, None, measures)
        for k, v in enumerate(values)
    ]
    measured = np.array(run_tasks(measured_point, arguments, workers, progress))
    table = pd.DataFrame(values)
    table["distance"] = np.sqrt((standardised(measured, targets) ** 2).sum(axis=1))
    for k, t in enumerate(targets):
        table[t.name] = measured[:, k]
    return table


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
    if not 0 < accept <= 1:
        raise ValueError(f"accept must be in (0, 1], got {accept}")
    unit = qmc.LatinHypercube(d=len(free), seed=np.random.default_rng(seed)).random(points)
    table = run_points(scenario, unit, 0, population, free, targets, workers, progress)
    distance = table["distance"].to_numpy()
    kept = max(1, round(accept * points))
    order = np.argsort(distance, kind="stable")[:kept]
    accepted = table.iloc[np.sort(order)].reset_index(drop=True)
    return Posterior(table, accepted, float(distance[order].max()), free, targets)


SMC_GENERATIONS = 6
SMC_QUANTILE = 0.5
"""Defaults of :func:`smc`: generations, and the share of the previous generation's distances
below the next tolerance."""
MOST_RUNS_PER_PARTICLE = 60
""":func:`smc` stops early once it has run this many times its number of particles."""


def smc(
    scenario: str = "baseline",
    particles: int = 200,
    generations: int = SMC_GENERATIONS,
    quantile: float = SMC_QUANTILE,
    population: int = 2000,
    seed: int = DESIGN_SEED,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    free: tuple[Free, ...] = FREE,
    targets: tuple[Target, ...] = TARGETS,
) -> Posterior:
    """ABC-SMC (population Monte Carlo: Beaumont, Cornuet, Marin & Robert 2009; Toni et al.
    2009): generation 0 is a Latin hypercube of ``particles`` points from the prior (uniform
    on the bounds); each later generation's tolerance is the ``quantile`` of the previous
    generation's distances, and its particles are previous ones, picked by weight and moved
    by a Gaussian kernel with twice their weighted covariance, kept when their run's distance
    is within the tolerance (proposals outside the bounds are drawn again before any run).
    Weights are prior / sum_j w_j K(theta | theta_j), the prior uniform. Every run has a
    seed of its own (replicate k for the k-th run), so the model's noise enters as a
    likelihood would. Proposals go in batches whose size depends only on the counts, so the
    result is the same whatever the number of workers. Stops after ``generations``, or
    early when the runs reach :data:`MOST_RUNS_PER_PARTICLE` times ``particles``.

    Returns the last generation (``accepted``, with its ``weight``) and every run
    (``prior``, with its ``generation`` and whether it was kept)."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if particles <= 2 * len(free):  # else the kernel's covariance is singular or nearly
        raise ValueError(
            f"{particles} particles for {len(free)} parameters: need more than {2 * len(free)}"
        )
    rng = np.random.default_rng(seed)
    runs: list[pd.DataFrame] = []
    budget = MOST_RUNS_PER_PARTICLE * particles

    def evaluate(unit: np.ndarray, generation: int) -> pd.DataFrame:
        """:func:`run_points`, replicates numbered on from the runs so far."""
        first = sum(len(r) for r in runs)

        def step(n: int, _: int) -> None:
            if progress is not None:
                progress(min(first + n, budget), budget)

        table = run_points(scenario, unit, first, population, free, targets, workers, step)
        table.insert(0, "generation", generation)
        table["kept"] = False
        runs.append(table)
        return table

    unit = qmc.LatinHypercube(d=len(free), seed=rng).random(particles)
    population_table = evaluate(unit, 0)
    population_table["kept"] = True
    weight = np.full(particles, 1.0 / particles)
    tolerance = float(population_table["distance"].max())
    for generation in range(1, generations):
        next_tolerance = float(np.quantile(population_table["distance"], quantile))
        cov = 2.0 * np.atleast_2d(np.cov(unit.T, aweights=weight))
        kept: list[pd.DataFrame] = []
        kept_unit: list[np.ndarray] = []
        while len(kept_unit) < particles and sum(len(r) for r in runs) < budget:
            wanted = particles - len(kept_unit)
            proposals = _propose(rng, unit, weight, cov, max(2 * wanted, 16))
            table = evaluate(proposals, generation)
            inside = np.flatnonzero(table["distance"].to_numpy() <= next_tolerance)[:wanted]
            table.loc[inside, "kept"] = True
            kept.append(table.iloc[inside])
            kept_unit += list(proposals[inside])
        if len(kept_unit) < particles:  # out of runs: the last whole generation stands
            for table in runs:
                table.loc[table["generation"] == generation, "kept"] = False
            break
        new = np.array(kept_unit)
        log_density = _log_kernel_density(new, unit, weight, cov)
        weight = np.exp(log_density.min() - log_density)  # prior / density, prior uniform
        weight /= weight.sum()
        unit, tolerance = new, next_tolerance
        population_table = pd.concat(kept, ignore_index=True)
    history = pd.concat(runs, ignore_index=True)
    accepted = population_table.drop(columns=["generation", "kept"]).reset_index(drop=True)
    accepted.insert(len(free), "weight", weight)
    return Posterior(history, accepted, tolerance, free, targets)


def _propose(rng, unit, weight, cov, n) -> np.ndarray:
    """``n`` proposals: particles picked by weight, moved by N(0, cov), inside the unit cube
    (those outside are drawn again: the prior is zero there)."""
    out = np.empty((0, unit.shape[1]))
    while len(out) < n:
        picked = unit[rng.choice(len(unit), n, p=weight)]
        moved = picked + rng.multivariate_normal(np.zeros(unit.shape[1]), cov, n)
        out = np.vstack([out, moved[np.all((moved >= 0) & (moved <= 1), axis=1)]])
    return out[:n]


def _log_kernel_density(points, centres, weight, cov) -> np.ndarray:
    """log sum_j w_j N(point; centre_j, cov) at each point, up to a constant common to all
    (a log-sum-exp: in many dimensions the densities underflow)."""
    inverse = np.linalg.inv(cov)
    diff = points[:, None, :] - centres[None, :, :]
    exponent = -0.5 * np.einsum("ijk,kl,ijl->ij", diff, inverse, diff) + np.log(weight)
    top = exponent.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(exponent - top).sum(axis=1, keepdims=True)))[:, 0]
