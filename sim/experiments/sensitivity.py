"""Sensitivity indices of a finished Sobol or Morris sweep (SALib), and sweep figures.

Replications are averaged per design point first: the indices describe how the expected
outcome depends on the parameters, not the run-to-run noise (the noise shows up instead as
wider confidence intervals when replications are few).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments import sweep as sweeping
from sim.inputs.errors import COMMAND_LINE, refuse

SOBOL_STABLE = 512
"""Base samples below which Sobol' indices are flagged as unstable (Saltelli et al. 2010 use
N in the hundreds to thousands; our confidence check below catches the rest)."""
MORRIS_STABLE = 10
"""Trajectories below which Morris screening is flagged (Campolongo et al. 2007: r = 10-20)."""
ANALYSABLE = ("sobol", "morris")
"""The designs indices can be computed from (a grid or a Latin hypercube has no estimator)."""
WIDE = 0.1
"""A confidence half-width above this (in index units) makes an index unstable."""


def point_means(folder: Path, spec: sweeping.SweepFile, outcome: str) -> np.ndarray:
    """The outcome averaged over replications, per design point, in design order."""
    table = sweeping.results(folder)
    points = pd.read_parquet(folder / "design.parquet")
    if table.empty:
        raise refuse(COMMAND_LINE, "FOLDER", f"{folder} holds no finished runs")
    means = table.groupby("point")[outcome].mean()
    missing = sorted(set(points["point"]) - set(means.index))
    if missing:
        raise refuse(
            COMMAND_LINE,
            "FOLDER",
            f"{len(missing)} of {len(points)} design points have no finished run "
            f"(first: {missing[:5]}); resume the sweep, or see failures/",
        )
    return means.loc[points["point"]].to_numpy()


def analyze(folder: Path, outcomes: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Indices per outcome and parameter, and warnings about their stability.

    Sobol: columns S1, S1_conf, ST, ST_conf. Morris: mu_star, mu_star_conf, sigma.
    """
    from SALib.analyze import morris, sobol

    sweep = sweeping.stored(folder)
    spec = sweep.spec
    method = spec.design.method
    if method not in ANALYSABLE:
        raise refuse(
            COMMAND_LINE,
            "FOLDER",
            f"{folder} is a {method} sweep: sensitivity indices need a design drawn for them, "
            "Sobol (Saltelli's scheme: S1 and ST) or Morris (trajectories: mu* and sigma). "
            f"Draw a {method} sweep's outcomes with 'multivector plot {folder} --kind sweep', "
            f"find where an outcome holds with 'multivector analyze {folder} --method prim "
            "--condition ...' (any design), "
            'or run a sweep with method = "sobol" or "morris"',
        )
    duplicated = sweeping.duplicated_runs(folder)
    if duplicated:
        run, parts = next(iter(sorted(duplicated.items())))
        raise refuse(
            COMMAND_LINE,
            "FOLDER",
            f"{len(duplicated)} runs are recorded more than once (run {run} in {', '.join(parts)})"
            ": two processes wrote this sweep at once; keep one part of each, or run the sweep "
            "again into a new folder",
        )
    roles = sweep.roles()
    problem = sweep.problem
    known = [o.name for o in spec.outcomes]
    for name in outcomes or []:
        if name not in known:
            raise refuse(
                COMMAND_LINE, "--outcome", f"unknown outcome {name!r}; allowed: {', '.join(known)}"
            )
    rows, warnings = [], []
    x = pd.read_parquet(folder / "design.parquet")[sweep.names].to_numpy(dtype=float)
    for name in outcomes or known:
        y = point_means(folder, spec, name)
        if np.ptp(y) == 0:
            warnings.append(f"{name}: the outcome is the same at every point; no indices")
            continue
        if method == "sobol":
            result = sobol.analyze(
                problem, y, calc_second_order=False, conf_level=0.95, seed=spec.design.seed
            )
            keys = ("S1", "S1_conf", "ST", "ST_conf")
            confs = np.concatenate([result["S1_conf"], result["ST_conf"]])
        else:
            result = morris.analyze(
                problem,
                x,
                y,
                conf_level=0.95,
                num_levels=spec.design.levels,
                seed=spec.design.seed,
            )
            keys = ("mu_star", "mu_star_conf", "sigma")
            spread = np.ptp(y)
            confs = np.asarray(result["mu_star_conf"]) / spread
        for k, parameter in enumerate(sweep.names):
            rows.append(
                {"outcome": name, "parameter": parameter, "role": roles[parameter]}
                | {key: float(result[key][k]) for key in keys}
            )
        if np.nanmax(confs) > WIDE:
            warnings.append(
                f"{name}: confidence intervals up to {np.nanmax(confs):.2f} wide"
                + (" (relative to the outcome's range)" if method == "morris" else "")
                + "; the indices are unstable: enlarge the design"
            )
    samples = spec.design.samples
    if method == "sobol" and samples < SOBOL_STABLE:
        warnings.append(
            f"samples = {samples} base samples is small for Sobol' indices "
            f"(at least {SOBOL_STABLE} recommended)"
        )
    if method == "morris" and samples < MORRIS_STABLE:
        warnings.append(
            f"samples = {samples} trajectories is small for Morris screening "
            f"(at least {MORRIS_STABLE} recommended)"
        )
    return pd.DataFrame(rows), warnings
