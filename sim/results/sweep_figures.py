"""Figures of a sweep: sensitivity indices, and an outcome against one or two parameters.

Drawn from the tables a sweep wrote (:mod:`sim.experiments.sweep`), never from a live model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments import sweep as sweeping


def indices_figure(table: pd.DataFrame, method: str, path: Path) -> Path:
    """One panel per outcome: Sobol S1 and ST with their intervals, or Morris mu* against
    sigma."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig = Figure(figsize=(4.2 * len(outcomes), 3.6), layout="constrained")
    axes = fig.subplots(1, len(outcomes), squeeze=False)
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
    return path


def sweep_figure(
    folder: Path, outcome: str, x: str, y: str | None, path: Path, bins: int = 10
) -> Path:
    """An outcome against one parameter (median and 5-95 % band over runs, by value or by
    bin), or two (heatmap of the mean)."""
    table = sweeping.results(folder)
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
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
