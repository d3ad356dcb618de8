"""Scenario discovery's outputs: the figure of PRIM's boxes, and ``prim.csv`` and
``prim.png`` written into a sweep's folder, each file atomically (a temporary file renamed
into place), so a reader never sees half of one.

Drawn from what :func:`sim.experiments.discovery.prim` found, never from a live model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.experiments.discovery import Discovery
from sim.results.writing import atomic_file, write_csv

BOX_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
"""Okabe-Ito, as the other figures: one colour per box."""


def prim_figure(found: Discovery) -> Figure:
    """Left: each box's peeling trajectory (coverage against density, the chosen step
    ringed). Right: each box's limits on every parameter as a share of the sweep's range
    (grey: the full range; a parameter a box leaves unrestricted spans it)."""
    fig = Figure(figsize=(10.5, max(4.2, 1.2 + 0.45 * _parameters(found))), layout="constrained")
    trajectory, limits = fig.subplots(1, 2, width_ratios=(1, 1.3))
    for box, colour in zip(found.boxes, BOX_COLOURS * 4, strict=False):
        steps = box.trajectory
        trajectory.plot(steps["coverage"], steps["density"], ".-", color=colour, alpha=0.7,
                        label=f"box {box.number}")  # fmt: skip
        trajectory.plot(box.coverage, box.density, "o", markersize=11, markerfacecolor="none",
                        markeredgecolor=colour, markeredgewidth=2)  # fmt: skip
        trajectory.annotate(
            f"coverage {box.coverage:.2f}\ndensity {box.density:.2f}",
            (box.coverage, box.density),
            xytext=(-10, -28),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color=colour,
        )
    trajectory.set_xlabel("coverage: share of the cases of interest inside")
    trajectory.set_ylabel("density: share of the runs inside that are cases")
    trajectory.set_xlim(-0.02, 1.05)
    trajectory.set_ylim(-0.02, 1.05)
    trajectory.grid(alpha=0.3)
    trajectory.legend(fontsize=8, loc="lower left")
    trajectory.set_title(f"{found.condition}: {found.of_interest} of {found.runs} runs", fontsize=9)

    names = list(found.boxes[0].limits["parameter"]) if found.boxes else []
    y = np.arange(len(names))[::-1]
    limits.barh(y, 1.0, left=0.0, height=0.8, color="#DDDDDD", label="the sweep's range")
    width = 0.8 / max(len(found.boxes), 1)
    for k, (box, colour) in enumerate(zip(found.boxes, BOX_COLOURS * 4, strict=False)):
        table = box.limits.set_index("parameter").loc[names]
        low, high = _shares(table)
        offset = 0.4 - width * (k + 0.5)
        limits.barh(y + offset, high - low, left=low, height=width * 0.9, color=colour,
                    alpha=0.8, label=f"box {box.number}")  # fmt: skip
        for yi, row, lo, hi in zip(y + offset, table.itertuples(), low, high, strict=True):
            if row.restricted and isinstance(row.low, float):
                limits.annotate(f"{row.low:.3g}", (lo, yi), xytext=(-3, 0), ha="right",
                                va="center", textcoords="offset points", fontsize=7)  # fmt: skip
                limits.annotate(f"{row.high:.3g}", (hi, yi), xytext=(3, 0), ha="left",
                                va="center", textcoords="offset points", fontsize=7)  # fmt: skip
    labels = [f"{n} ({found.roles.get(n, '')})" if found.roles.get(n) else n for n in names]
    limits.set_yticks(y, labels, fontsize=8)
    limits.set_xlim(-0.25, 1.25)
    limits.set_xticks([0, 0.5, 1], ["low end", "middle", "high end"])
    limits.set_title("box limits within the sweep's range", fontsize=9)
    handles, names = limits.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower right", ncols=4, fontsize=8, frameon=False)
    return fig


def write_prim(found: Discovery, folder: Path) -> tuple[Path, Path]:
    """``prim.csv`` and ``prim.png`` in ``folder``, each written atomically (the helpers
    every results file goes through; a full disk raises WriteFailed, the files there are
    left as they were)."""
    table, figure = folder / "prim.csv", folder / "prim.png"
    with atomic_file(figure) as partial:
        prim_figure(found).savefig(partial, dpi=120)
    write_csv(found.table(), table, index=False)
    return table, figure


def _parameters(found: Discovery) -> int:
    return len(found.boxes[0].limits) if found.boxes else 1


def _shares(table) -> tuple[np.ndarray, np.ndarray]:
    """Box limits as shares of the sweep's range (0: its low end, 1: its high end); a list
    of values a box keeps in full or in part spans the whole range or half of it."""
    low, high = [], []
    for row in table.itertuples():
        if isinstance(row.low, str):  # switches or names: kept values
            kept = len(str(row.low).split("|")) / len(str(row.range_low).split("|"))
            low.append(0.0)
            high.append(kept)
            continue
        span = (row.range_high - row.range_low) or 1.0
        low.append((row.low - row.range_low) / span)
        high.append((row.high - row.range_low) / span)
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)
