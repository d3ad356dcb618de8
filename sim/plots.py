"""Figures drawn from result tables (never from a live model), so the same picture comes from
a run, a sweep or a saved file.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

# Okabe & Ito (2008) colour-blind-safe palette; line styles differ too, for grey print.
KNOWN = {"West": "#0072B2", "Russia": "#D55E00", "China": "#009E73", "Turkey": "#E69F00"}
SPARE = ["#CC79A7", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]


def power_style(name: str, index: int) -> dict:
    """The colour and line style a power keeps in every figure."""
    colour = KNOWN.get(name, SPARE[index % len(SPARE)])
    return {"color": colour, "linestyle": LINESTYLES[index % len(LINESTYLES)], "linewidth": 2}


def event_marks(events: list) -> list[dict]:
    """Scenario events as timeline marks: one per label, spanning its dates."""
    marks: dict[str, dict] = {}
    for event in events:
        label = (
            event.label or f"{event.action} {getattr(event, 'path', getattr(event, 'power', ''))}"
        )
        start = pd.Timestamp(event.date)
        end = pd.Timestamp(getattr(event, "until", None) or event.date)
        mark = marks.setdefault(label, {"label": label, "start": start, "end": end})
        mark["start"], mark["end"] = min(mark["start"], start), max(mark["end"], end)
    return sorted(marks.values(), key=lambda m: (m["start"], m["label"]))


def trajectories(timeseries: pd.DataFrame, events: list, title: str, path: Path) -> Path:
    """Attraction and alignment by power over time, the scenario's events on a timeline."""
    data = timeseries.assign(when=pd.to_datetime(timeseries["date"]))
    powers = list(dict.fromkeys(data["power"]))
    marks = event_marks(events)
    rows = max(1, len(marks))
    fig, (ax_events, ax_attr, ax_align) = plt.subplots(
        3,
        1,
        figsize=(10, 7.5 + 0.18 * rows),
        sharex=True,
        gridspec_kw={"height_ratios": [0.35 + 0.22 * rows, 3, 3]},
    )
    for k, power in enumerate(powers):
        one = data[data["power"] == power]
        style = power_style(power, k)
        ax_attr.plot(one["when"], one["attraction"], label=power, **style)
        ax_align.plot(one["when"], one["alignment"], label=power, **style)
    _timeline(ax_events, marks, data["when"].min(), data["when"].max())
    ax_attr.set_ylabel("mean attraction (0–1)")
    ax_attr.set_ylim(0, 1)
    ax_attr.legend(loc="upper left", ncols=len(powers), frameon=False)
    ax_align.set_ylabel("alignment share (0–1)")
    ax_align.set_ylim(0, max(0.6, float(data["alignment"].max()) * 1.1))
    ax_align.set_xlabel("month")
    for ax in (ax_attr, ax_align):
        ax.grid(alpha=0.3)
        for mark in marks:
            ax.axvline(mark["start"], color="0.5", linewidth=0.8, linestyle=":")
    ax_align.xaxis.set_major_locator(mdates.YearLocator(5))
    ax_align.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax_align.xaxis.set_minor_locator(mdates.YearLocator(1))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _timeline(ax, marks: list[dict], first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Events as a small Gantt strip: a dot for a one-month event, a bar for a ramp."""
    ax.set_xlim(first, last)
    ax.set_ylim(-0.7, max(1, len(marks)) - 0.3)
    ax.invert_yaxis()
    ax.axis("off")
    if not marks:
        ax.text(first, 0, "no scenario events", fontsize=8, color="0.4", va="center")
    for row, mark in enumerate(marks):
        if mark["end"] > mark["start"]:
            ax.plot(
                [mark["start"], mark["end"]],
                [row, row],
                color="0.45",
                linewidth=3,
                solid_capstyle="butt",
            )
        else:
            ax.plot([mark["start"]], [row], marker="v", color="0.2", markersize=6)
        when = mark["start"].strftime("%Y-%m")
        ax.annotate(
            f"{when}  {mark['label']}",
            (mark["start"], row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
        )
