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
    spec, problem = sweep.spec, sweep.problem
    method = spec.design.method
    if method not in ("sobol", "morris"):
        raise refuse(
            COMMAND_LINE,
            "FOLDER",
            f"indices need a sobol or morris design; this sweep's method is {method}",
        )
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
                {"outcome": name, "parameter": parameter}
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


def indices_figure(table: pd.DataFrame, method: str, path: Path) -> Path:
    """One panel per outcome: Sobol S1 and ST with their intervals, or Morris mu* against
    sigma."""
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(4.2 * len(outcomes), 3.6), layout="constrained", squeeze=False
    )
    for ax, name in zip(axes[0], outcomes, strict=True):
        part = table[table["outcome"] == name]
        labels = [p.rsplit(".", 2)[-2] + "." + p.rsplit(".", 1)[-1] for p in part["parameter"]]
        if method == "sobol":
            y = np.arange(len(part))
            ax.barh(y - 0.2, part["S1"], 0.4, xerr=part["S1_conf"], label="S1 (first order)")
            ax.barh(y + 0.2, part["ST"], 0.4, xerr=part["ST_conf"], label="ST (total)")
            ax.set_yticks(y, labels, fontsize=7)
            ax.set_xlabel("Sobol' index")
            ax.axvline(0, color="black", linewidth=0.8)
        else:
            ax.errorbar(part["mu_star"], part["sigma"], xerr=part["mu_star_conf"], fmt="o")
            for xv, yv, label in zip(part["mu_star"], part["sigma"], labels, strict=True):
                ax.annotate(label, (xv, yv), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel("mu* (mean absolute effect)")
            ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    if method == "sobol":
        axes[0][0].legend(fontsize=7)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def sweep_figure(
    folder: Path, outcome: str, x: str, y: str | None, path: Path, bins: int = 10
) -> Path:
    """An outcome against one parameter (median and 5-95 % band over runs, by value or by
    bin), or two (heatmap of the mean)."""
    import matplotlib.pyplot as plt

    table = sweeping.results(folder)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    if y is None:
        groups = _binned(table[x], bins)
        by = table.groupby(groups, observed=True)
        stats = by[outcome].describe(percentiles=[0.05, 0.5, 0.95])
        centres = table.groupby(groups, observed=True)[x].mean()
        ax.plot(centres, stats["50%"], marker="o", color="#0072B2", label="median")
        ax.fill_between(centres, stats["5%"], stats["95%"], color="#0072B2", alpha=0.2,
                        label="5-95 % of runs")  # fmt: skip
        ax.set_xlabel(x)
        ax.set_ylabel(outcome)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    else:
        grid = table.assign(_x=_binned(table[x], bins), _y=_binned(table[y], bins))
        mean = grid.groupby(["_y", "_x"], observed=True)[outcome].mean().unstack("_x")
        xs = grid.groupby("_x", observed=True)[x].mean().astype(float)
        ys = grid.groupby("_y", observed=True)[y].mean().astype(float)
        image = ax.pcolormesh(
            _edges(xs.to_numpy()), _edges(ys.to_numpy()), mean.to_numpy(), cmap="viridis"
        )
        fig.colorbar(image, ax=ax, label=f"{outcome} (mean over runs)")
        for axis, column, centres in ((ax.xaxis, x, xs), (ax.yaxis, y, ys)):
            if table[column].nunique() <= 4:  # a few values (a switch, a list): label each
                axis.set_ticks(centres.to_numpy(dtype=float), [str(v) for v in centres.index])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
    ax.set_title(f"{outcome} across the sweep ({len(table)} runs)", fontsize=9, loc="left")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _binned(values: pd.Series, bins: int) -> pd.Series:
    """The values themselves when there are few, else equal-count bins."""
    if values.nunique() <= bins:
        return values
    return pd.qcut(values, bins, duplicates="drop")


def _edges(centres: np.ndarray) -> np.ndarray:
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])
