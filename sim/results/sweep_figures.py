"""Figures of a sweep: sensitivity indices, and an outcome against one or two parameters.

Drawn from the tables a sweep wrote (:mod:`sim.experiments.sweep`), never from a live model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.experiments import sweep as sweeping


def indices_figure(table: pd.DataFrame, method: str, path: Path) -> Path:
    """Write :func:`indices_plot` to ``path``."""
    indices_plot(table, method).savefig(path, dpi=120)
    return path


def indices_plot(table: pd.DataFrame, method: str) -> Figure:
    """One panel per outcome: Sobol S1 and ST with their intervals, or Morris mu* against
    sigma, each point labelled where no other label hides it."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig = Figure(figsize=(4.2 * len(outcomes), 3.6), layout="constrained")
    axes = fig.subplots(1, len(outcomes), squeeze=False)
    points = []
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
            points.append((ax, part["mu_star"].to_numpy(), part["sigma"].to_numpy(), labels))
            ax.set_xlabel("mu* (mean absolute effect)")
            ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    if method == "sobol":
        axes[0][0].legend(fontsize=7)
    if points:
        fig.draw_without_rendering()  # constrained layout places the axes first
        for ax, xs, ys, labels in points:
            place_labels(ax, xs, ys, labels)
    return fig


LABEL_OFFSETS = [(4, 3), (-4, 3), (4, -11), (-4, -11)] + [
    (dx, sign * (3 + 11 * k)) for k in range(1, 8) for sign in (1, -1) for dx in (4, -4)
]
"""Where a point's label may go, in points from the point, nearest first."""


def place_labels(ax, xs, ys, labels, fontsize: float = 7) -> None:
    """Label points so that no label overprints another: each label takes the first
    position around its point, inside the axes, whose box overlaps no label placed before
    it; a leader line joins a label to its point when it had to move away."""
    figure = ax.get_figure(root=True)
    if not hasattr(figure.canvas, "get_renderer"):  # built without pyplot: measure with Agg
        FigureCanvasAgg(figure)
    renderer = figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed = []
    for x, y, label in sorted(zip(xs, ys, labels, strict=True), key=lambda p: (-p[1], p[0])):
        chosen, found = LABEL_OFFSETS[0], None
        for dx, dy in LABEL_OFFSETS:
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                               ha="left" if dx > 0 else "right", fontsize=fontsize)  # fmt: skip
            extent = text.get_window_extent(renderer)
            text.remove()
            fits = inside.x0 <= extent.x0 and extent.x1 <= inside.x1
            fits = fits and inside.y0 <= extent.y0 and extent.y1 <= inside.y1
            if fits and not any(extent.overlaps(other) for other in placed):
                chosen, found = (dx, dy), extent
                break
        far = abs(chosen[1]) > 11
        text = ax.annotate(
            label,
            (x, y),
            xytext=chosen,
            textcoords="offset points",
            ha="left" if chosen[0] > 0 else "right",
            fontsize=fontsize,
            gid="point-label",
            arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.5} if far else None,
        )
        text.set_in_layout(False)
        placed.append(found if found is not None else text.get_window_extent(renderer))


def sweep_figure(
    folder: Path, outcome: str, x: str, y: str | None, path: Path, bins: int = 10
) -> Path:
    """Write :func:`sweep_plot` to ``path``."""
    sweep_plot(folder, outcome, x, y, bins).savefig(path, dpi=120)
    return path


def _posterior_of(folder: Path) -> str | None:
    """The file name of the posterior a sweep drew its replications' other parameters from
    (its manifest's ``posterior``), or None."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    drawn = manifest.get("posterior") if isinstance(manifest, dict) else None
    return Path(drawn["path"]).name if drawn else None


FEW = 4
"""A parameter with at most this many values (a switch, a short list) gets one line each."""


def sweep_plot(folder: Path, outcome: str, x: str, y: str | None, bins: int = 10) -> Figure:
    """An outcome against one parameter (median and 5-95 % band over runs, by value or by
    bin), or two (heatmap of the mean). Against one parameter, the runs of every value of
    the others are pooled, and the title says so; when one other parameter takes a few
    values, each gets its own line instead."""
    table = sweeping.results(folder)
    others = [n for n in sweeping.stored(folder).names if n not in (x, y)]
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    title = f"{outcome} across the sweep ({len(table)} runs)"
    if y is None:
        split = others[0] if len(others) == 1 and table[others[0]].nunique() <= FEW else None
        parts = table.groupby(split, sort=True) if split else [(None, table)]
        colours = ["#0072B2", "#D55E00", "#009E73", "#E69F00"]
        for k, (value, part) in enumerate(parts):
            groups = _binned(part[x], bins)
            stats = part.groupby(groups, observed=True)[outcome].describe(
                percentiles=[0.05, 0.5, 0.95]
            )
            centres = part.groupby(groups, observed=True)[x].mean()
            name = "median" if split is None else f"{split} = {value}: median"
            colour = colours[k % len(colours)]
            ax.plot(centres, stats["50%"], marker="o", color=colour, label=name)
            ax.fill_between(centres, stats["5%"], stats["95%"], color=colour, alpha=0.2,
                            label="5-95 % of runs" if split is None else None)  # fmt: skip
        if split is None and others:
            title += f"\npooled over {', '.join(others)}"
        drawn = _posterior_of(folder)
        if drawn:
            title += f"\nother parameters drawn from the posterior {drawn}"
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
            if table[column].nunique() <= FEW:  # a few values (a switch, a list): label each
                axis.set_ticks(centres.to_numpy(dtype=float), [str(v) for v in centres.index])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if others:
            title += f"\nmean over {', '.join(others)}"
    ax.set_title(title, fontsize=9, loc="left")
    return fig


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
