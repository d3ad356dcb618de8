"""Scenarios side by side: a table of differences at chosen months, and a figure.

Both read saved results (:class:`sim.results.saved.Saved`), so a comparison of fresh runs and one of
folders saved last week are the same computation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.results import bands, plots
from sim.results.bands import runs
from sim.results.saved import Saved

COMPARED = ("attraction", "favourable", "alignment")


def labels(saved: list[Saved]) -> list[str]:
    """A distinct label per compared result: its scenario's name, numbered if repeated."""
    names = [s.name for s in saved]
    return [f"{k + 1}-{n}" if names.count(n) > 1 else n for k, n in enumerate(names)]


def medians_at(saved: Saved, date: str) -> pd.DataFrame:
    """Median over runs of each compared measure, per power, at one month."""
    rows = saved.timeseries[saved.timeseries["date"] == date]
    return rows.groupby("power", sort=False)[list(COMPARED)].median()


def differences(saved: list[Saved], dates: list[str]) -> pd.DataFrame:
    """Each result against the first, per month, power and measure: value, reference and
    difference (value - reference) of the medians over runs."""
    names = labels(saved)
    rows = []
    for date in dates:
        reference = medians_at(saved[0], date)
        for name, other in zip(names[1:], saved[1:], strict=True):
            values = medians_at(other, date)
            for power in values.index:
                for measure in COMPARED:
                    value, base = values.at[power, measure], reference.at[power, measure]
                    rows.append(
                        {
                            "date": date,
                            "scenario": name,
                            "reference": names[0],
                            "power": power,
                            "measure": measure,
                            "value": value,
                            "reference_value": base,
                            "difference": value - base,
                        }
                    )
    return pd.DataFrame(rows)


def unlike(saved: list[Saved]) -> list[str]:
    """How the compared results differ besides their scenarios (seed, size, profile, runs,
    span): then their differences include chance and size, not only the scenarios. Results
    run here together share all of these; folders saved earlier may not."""
    facts = {
        "root seed": [s.manifest.get("seed") for s in saved],
        "population": [s.scenario.get("run", {}).get("population") for s in saved],
        "country profile": [s.scenario.get("run", {}).get("profile") for s in saved],
        "number of runs": [runs(s.timeseries) for s in saved],
        "last month": [s.timeseries["date"].iloc[-1] for s in saved],
        "posterior sample (SHA-256)": [
            ((s.manifest.get("posterior") or {}).get("sha256") or "none")[:12] for s in saved
        ],
    }
    return [
        f"the results compared differ in {what} ({', '.join(map(str, values))}): their "
        "differences are not the scenarios' alone"
        for what, values in facts.items()
        if len(set(map(str, values))) > 1
    ]


def common_dates(saved: list[Saved]) -> list[str]:
    """Months present in every result, in order."""
    shared = set.intersection(*(set(s.timeseries["date"]) for s in saved))
    return [d for d in saved[0].timeseries["date"].drop_duplicates() if d in shared]


def figure(saved: list[Saved], path: Path, at: list[str] | None = None) -> Path:
    """Attraction (top) and alignment (bottom) by power, one column per result, events and
    the months compared marked."""
    names = labels(saved)
    fig, axes = plots.subplots(
        2, len(saved), figsize=(5.2 * len(saved), 7.5), sharey="row", squeeze=False
    )
    for column, (name, one) in enumerate(zip(names, saved, strict=True)):
        top, bottom = axes[0][column], axes[1][column]
        plots.lines_with_bands(top, one, "attraction")
        plots.lines_with_bands(bottom, one, "alignment")
        for ax in (top, bottom):
            plots.years(ax)
            for mark in plots.event_marks(one.events):
                ax.axvline(mark["start"], color="0.5", linewidth=0.8, linestyle=":")
            for date in at or []:  # a wide grey band: no power's line looks like it
                ax.axvline(pd.Timestamp(date), color="0.55", linewidth=7, alpha=0.3, zorder=0,
                           solid_capstyle="butt", gid=f"compared-month:{date}")  # fmt: skip
        for date in at or []:
            bottom.annotate(date, (pd.Timestamp(date), 0), xycoords=("data", "axes fraction"),
                            xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, color="0.25",
                            gid=f"compared-month-label:{date}")  # fmt: skip
        point_events = [m for m in plots.event_marks(one.events) if m["end"] == m["start"]]
        for row, mark in enumerate(point_events):
            top.annotate(
                mark["label"],
                (mark["start"], 0.98 - 0.05 * row),
                fontsize=7,
                xytext=(3, 0),
                textcoords="offset points",
                va="top",
            )
        n = runs(one.timeseries)
        spread = bands.source(one.manifest)
        top.set_title(
            f"{name} ({n} runs: median, 5–95 %,\n{spread})" if n > 1 else f"{name} (one run)",
            fontsize=9,
        )
        top.set_ylim(0, 1)
        top_share = max(float(s.timeseries["alignment"].max()) for s in saved)
        bottom.set_ylim(0, min(1.0, max(0.6, top_share * 1.1)))  # shared: every panel alike
        bottom.set_xlabel("month")
    axes[0][0].set_ylabel("mean attraction (0–1)")
    axes[1][0].set_ylabel("alignment share (0–1)")
    axes[0][0].legend(loc="lower left", ncols=2, frameon=False, fontsize=8)
    fig.suptitle("Scenarios compared (dotted: events; grey bands: the months in the table)")
    plots.finish(fig)
    fig.savefig(path, dpi=120)
    return path
