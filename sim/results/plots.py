"""Figures drawn from result tables (never from a live model), so the same picture comes from
a run, an ensemble or a saved folder. An ensemble is drawn as medians with 5-95 % bands.

Each power keeps its colour and line style in every figure: Okabe & Ito (2008) colours,
safe for colour-blind readers, with line styles that also tell powers apart in grey print.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.inputs.errors import refuse
from sim.inputs.schema import CHANNELS
from sim.results import bands
from sim.results.bands import band, runs
from sim.results.saved import Saved

KNOWN = {"West": "#0072B2", "Russia": "#D55E00", "China": "#009E73", "Turkey": "#E69F00"}
SPARE = ["#CC79A7", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
CHANNEL_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442"]
CHANNEL_HATCHES = ["", "//", "..", "xx", "\\\\", "oo", "--"]
KINDS = ("trajectories", "alignment", "balance", "groups", "channels", "changes")
FORMATS = ("png", "svg", "pdf")
GLOSSARY = "What the numbers mean: docs/glossary.md"
"""The footer of every figure: where each quantity is explained in plain words."""
FOOTER_INCHES = 0.24


def power_style(name: str, index: int) -> dict:
    """The colour and line style a power keeps in every figure."""
    colour = KNOWN.get(name, SPARE[index % len(SPARE)])
    return {"color": colour, "linestyle": LINESTYLES[index % len(LINESTYLES)], "linewidth": 2}


def draw(kind: str, saved: Saved, path: Path, at: str | None = None) -> Path:
    """Draw one kind of figure into ``path`` (PNG, SVG or PDF by its suffix).

    ``at`` is a month of interest: the heatmap's date, a marked month elsewhere.
    """
    FIGURES[kind](saved, at).savefig(path, dpi=120)
    return path


class Picture(Figure):
    """A matplotlib figure that shows itself as an image in Jupyter, whatever the backend:
    figures here are built without pyplot, so no backend draws them on its own."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def subplots(nrows: int = 1, ncols: int = 1, *, figsize, **options):
    """A figure and its axes, built without pyplot: nothing to close, safe in the dashboard's
    server threads, and no backend chosen for the caller (notebooks keep theirs)."""
    figure = Picture(figsize=figsize)
    return figure, figure.subplots(nrows, ncols, **options)


def _mark(ax, at: str | None) -> None:
    if at is not None:
        ax.axvline(pd.Timestamp(at), color="black", linewidth=1, linestyle="-.")


def footer(fig: Figure) -> None:
    """The glossary's address in small grey print at the figure's foot."""
    fig.text(0.006, 0.006, GLOSSARY, fontsize=7, color="0.35", ha="left", va="bottom",
             gid="glossary")  # fmt: skip


def finish(fig: Figure, layout: bool = True) -> Figure:
    """Add the footer and lay the figure out above it (``layout=False``: leave the layout to
    the caller, as the dashboard does: laying out costs more than drawing)."""
    footer(fig)
    if layout:
        fig.tight_layout(rect=(0, FOOTER_INCHES / fig.get_figheight(), 1, 1))
    return fig


def _subtitle(saved: Saved, with_band: bool = True) -> str:
    n = runs(saved.timeseries)
    if n == 1:
        return f"{saved.name}: one run"
    spread = f"({bands.source(saved.manifest)})"
    text = (
        f"{saved.name}: {n} runs, median and 5–95 % band"
        if with_band
        else (f"{saved.name}: median of {n} runs")
    )
    # a posterior's name makes the line long: its source then goes on a line of its own
    return f"{text}\n{spread}" if len(text) + len(spread) > 70 else f"{text} {spread}"


def _when(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates)


def lines_with_bands(ax, saved: Saved, measure: str) -> None:
    table = band(saved.timeseries, measure)
    many = runs(saved.timeseries) > 1
    for k, power in enumerate(saved.powers):
        one = table[table["power"] == power]
        style = power_style(power, k)
        if len(one) == 1:  # a one-month table: a line of one point shows nothing
            style["marker"] = "o"
        ax.plot(_when(one["date"]), one["median"], label=power, **style)
        if many:
            ax.fill_between(
                _when(one["date"]),
                one["low"],
                one["high"],
                color=style["color"],
                alpha=0.18,
                linewidth=0,
            )


def years(ax) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator(5))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.xaxis.set_minor_locator(mdates.YearLocator(1))
    ax.grid(alpha=0.3)


def trajectories(saved: Saved, at: str | None = None, *, layout: bool = True) -> Figure:
    """Attraction and alignment by power over time, the scenario's events on a timeline."""
    marks = event_marks(saved.events)
    rows = max(1, len(marks))
    fig, (ax_events, ax_attr, ax_align) = subplots(
        3,
        1,
        figsize=(10, 7.5 + ROW_INCHES * rows),
        sharex=True,
        gridspec_kw={"height_ratios": [0.3 + ROW_INCHES * rows, 3, 3]},
    )
    lines_with_bands(ax_attr, saved, "attraction")
    lines_with_bands(ax_align, saved, "alignment")
    when = _when(saved.timeseries["date"])
    timeline(ax_events, marks, when.min(), when.max())
    ax_attr.set_ylabel("mean attraction (0–1)")
    ax_attr.set_ylim(0, 1)
    ax_attr.legend(loc="upper left", ncols=len(saved.powers), frameon=False)
    ax_align.set_ylabel("alignment share (0–1)")
    ax_align.set_ylim(0, max(0.6, float(saved.timeseries["alignment"].max()) * 1.1))
    ax_align.set_xlabel("month")
    for ax in (ax_attr, ax_align):
        years(ax)
        _mark(ax, at)
        for mark in marks:
            ax.axvline(mark["start"], color="0.5", linewidth=0.8, linestyle=":")
    fig.suptitle(_subtitle(saved))
    return finish(fig, layout)


def alignment(saved: Saved, at: str | None = None) -> Figure:
    """The state's alignment: each power's median share stacked (rescaled to 1), and below,
    each power's own share against the dominance threshold θ, which applies to one share,
    not to a stacked level."""
    table = band(saved.timeseries, "alignment").pivot(
        index="date", columns="power", values="median"
    )
    table = table[saved.powers]
    table = table.div(table.sum(axis=1), axis=0)
    fig, (ax, ax_each) = subplots(
        2, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    colours = [power_style(p, k)["color"] for k, p in enumerate(saved.powers)]
    areas = ax.stackplot(
        _when(table.index.to_series()),
        table.T.to_numpy(),
        labels=saved.powers,
        colors=colours,
        alpha=0.85,
    )
    for area, hatch in zip(areas, CHANNEL_HATCHES, strict=False):
        area.set_hatch(hatch)  # tells powers apart in grey print
    ax.set_ylim(0, 1)
    ax.set_ylabel("alignment shares\n(stacked, sum 1)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    lines_with_bands(ax_each, saved, "alignment")
    ax_each.axhline(saved.threshold, color="black", linestyle="--", linewidth=1.2,
                    gid="threshold")  # fmt: skip
    ax_each.text(
        _when(table.index.to_series()).iloc[0],
        saved.threshold,
        f" dominance threshold θ = {saved.threshold:g}: no one power's share should pass it",
        va="bottom",
        fontsize=8,
    )
    ax_each.set_ylim(0, max(saved.threshold, float(saved.timeseries["alignment"].max())) * 1.15)
    ax_each.set_ylabel("each power's share\n(0–1)")
    ax_each.set_xlabel("month")
    ax_each.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    when = _when(table.index.to_series())
    for one in (ax, ax_each):
        years(one)
        _mark(one, at)
        if when.iloc[-1] > when.iloc[0]:
            one.set_xlim(when.iloc[0], when.iloc[-1])
    ax.set_title(f"Alignment by power — {_subtitle(saved)}")
    return finish(fig)


def balance(saved: Saved, at: str | None = None, *, layout: bool = True) -> Figure:
    """Effective number of vectors 1/Σw², and the largest share against the threshold."""
    fig, (ax_n, ax_share) = subplots(2, 1, figsize=(10, 6.5), sharex=True)
    n_powers = len(saved.powers)
    for ax, measure, label in (
        (ax_n, "effective_vectors", "effective number of vectors 1/Σw²"),
        (ax_share, "dominant_share", "largest alignment share (0–1)"),
    ):
        table = band(saved.timeseries, measure)
        when = _when(table["date"])
        ax.plot(when, table["median"], color="black", linewidth=2, label="median")
        if runs(saved.timeseries) > 1:
            ax.fill_between(
                when,
                table["low"],
                table["high"],
                color="0.6",
                alpha=0.4,
                linewidth=0,
                label="5–95 % of runs",
            )
        ax.set_ylabel(label)
        years(ax)
        _mark(ax, at)
    ax_n.axhline(n_powers, color="0.4", linestyle=":", linewidth=1)
    ax_n.text(
        _when(saved.timeseries["date"]).iloc[0],
        n_powers,
        f" even split ({n_powers})",
        va="top",
        fontsize=8,
    )
    ax_n.set_ylim(0.9, n_powers + 0.3)
    ax_share.axhline(
        saved.threshold,
        color="#D55E00",
        linestyle="--",
        linewidth=1.5,
        label=f"dominance threshold ({saved.threshold:g})",
    )
    ax_share.set_ylim(0, 1)
    ax_share.set_xlabel("month")
    ax_share.legend(loc="upper right", frameon=False)
    fig.suptitle(f"Balance — {_subtitle(saved)}")
    return finish(fig, layout)


def recorded_at(dates: pd.Series, at: str | None) -> str:
    """The latest recorded date at or before ``at`` (the first if none is), or the last
    one: the group table is yearly, a month asked for may fall between its dates."""
    recorded = sorted(set(dates))
    if at is None:
        return recorded[-1]
    earlier = [date for date in recorded if date <= at]
    return earlier[-1] if earlier else recorded[0]


def _persons(n: float) -> str:
    return f"{n:,.0f} person" + ("" if round(n) == 1 else "s")


def groups(saved: Saved, at: str | None = None) -> Figure:
    """Favourable share by population group and power at a date (median over runs), with
    the number of persons in each group."""
    date = recorded_at(saved.groups["date"], at)
    table = saved.groups[saved.groups["date"] == date]
    by = table.groupby(["dimension", "group", "power"], sort=False)
    order = list(dict.fromkeys(zip(table["dimension"], table["group"], strict=True)))
    grid = by["favourable"].median().unstack("power").loc[order, saved.powers]
    persons = by["persons"].median().groupby(["dimension", "group"], sort=False).first()
    labels = [f"{dim}: {grp} ({_persons(persons.loc[(dim, grp)])})" for dim, grp in order]
    fig, ax = subplots(figsize=(3.2 + 1.3 * len(saved.powers), 1.5 + 0.34 * len(labels)))
    image = ax.imshow(grid.to_numpy(), cmap="cividis", vmin=0, vmax=1, aspect="auto")
    for (row, col), value in np.ndenumerate(grid.to_numpy()):
        ax.text(
            col,
            row,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=8,
            color="black" if value > 0.55 else "white",
        )
    ax.set_xticks(range(len(saved.powers)), saved.powers)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    fig.colorbar(image, ax=ax, label="favourable share (expected poll answers)")
    asked = f" (the last year recorded at or before {at})" if at not in (None, date) else ""
    ax.set_title(
        f"Favourable share by group, {date}{asked}\n{_subtitle(saved, with_band=False)}",
        fontsize=10,
    )
    return finish(fig)


def channels(saved: Saved, at: str | None = None) -> Figure:
    """Each power's effort by channel over time (median over runs), stacked."""
    table = saved.channels.groupby(["date", "power", "channel"], sort=False)["effort"].median()
    n = len(saved.powers)
    fig, axes = subplots(1, n, figsize=(3.4 * n, 4.2), sharey=True, squeeze=False)
    for ax, power in zip(axes[0], saved.powers, strict=True):
        one = table.xs(power, level="power").unstack("channel")[list(CHANNELS)]
        areas = ax.stackplot(
            _when(one.index.to_series()),
            one.T.to_numpy(),
            labels=CHANNELS,
            colors=CHANNEL_COLOURS,
            alpha=0.85,
        )
        for area, hatch in zip(areas, CHANNEL_HATCHES, strict=True):
            area.set_hatch(hatch)
        ax.set_title(power)
        ax.set_xlabel("month")
        _mark(ax, at)
        ax.xaxis.set_major_locator(mdates.YearLocator(10))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("effort (1 = the power's 2015 level per channel)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    fig.suptitle(f"Effort mix by channel — {_subtitle(saved, with_band=False)}")
    return finish(fig)


ANSWER_COLOURS = {"worse": "#B2182B", "unchanged": "#D9D9D9", "better": "#2166AC"}
"""Worse and better at the two ends of a red-blue scale (ColorBrewer RdBu, safe for
colour-blind readers), unchanged in a neutral grey; the answers in their order."""
ANSWER_HATCHES = {"worse": "//", "unchanged": "", "better": ""}
ANSWER_EDGES = {"worse": "#E58B80", "unchanged": "white", "better": "white"}
"""Worse is hatched as well, in a lighter red, so that it stays apart from better in grey
print and its percentage stays legible."""


MARGIN = 0.2
"""Room either side of a bar (in shares) for the worse and better shares."""


def _share_label(ax, answer: str, row: int, start: float, value: float) -> None:
    """The share of one answer: unchanged inside its segment (when there is room), worse
    left of the bar and better right of it, in their colours, however small."""
    if answer == "unchanged":
        if value >= 0.12:
            ax.text(start + value / 2, row, f"{value:.0%}", ha="center", va="center",
                    fontsize=8)  # fmt: skip
        return
    left = answer == "worse"
    ax.text(-0.02 if left else 1.02, row, f"{value:.0%}", ha="right" if left else "left",
            va="center", fontsize=8, fontweight="bold", color=ANSWER_COLOURS[answer],
            gid=f"share:{answer}")  # fmt: skip


def change_shares(
    table: pd.DataFrame, at: str | None = None, dimension: str = "ethnicity"
) -> tuple[str, str, pd.DataFrame, int]:
    """The pair of dates to draw (the last, or the last ending at or before ``at``) and the
    shares of each answer by power, for everyone and the groups of ``dimension``: the mean
    over runs, with the respondents per run (a group absent from a run counts 0 there)."""
    to = recorded_at(table["to"], at)
    pair = table[table["to"] == to]
    shown = pair[pair["dimension"].isin(["all", dimension])]
    runs = int(pair["run"].nunique()) if "run" in pair.columns else 1
    by = shown.groupby(["power", "dimension", "group"], sort=False)
    answers = list(ANSWER_COLOURS)
    shares = (
        by[answers]
        .mean()
        .reindex([(p, *key) for p in dict.fromkeys(shown["power"]) for key in _group_order(shown)])
    )
    shares = shares.dropna(how="all")  # a group some power lacks (none in a model's table)
    shares = shares.div(shares.sum(axis=1), axis=0)
    shares["respondents"] = by["respondents"].sum() / runs
    return str(pair["from"].iloc[0]), to, shares, runs


def _group_order(shown: pd.DataFrame) -> list[tuple[str, str]]:
    """(dimension, group) in the table's order: that of the run with the most groups (a
    small group may be missing from some runs), then any others."""
    runs = [one for _, one in shown.groupby("run")] if "run" in shown.columns else [shown]
    orders = [list(dict.fromkeys(zip(one["dimension"], one["group"], strict=True))) for one in runs]
    orders.sort(key=len, reverse=True)
    return list(dict.fromkeys(key for order in orders for key in order))


def changes(saved: Saved, at: str | None = None, *, dimension: str = "ethnicity") -> Figure:
    """Answers to "has your attitude toward <power> changed?" between two snapshot dates:
    for each power, one bar for everyone and one per group of ``dimension``, split into the
    shares answering worse, unchanged and better (the mean over runs of an ensemble). The
    dates are the last pair recorded, or the pair whose later date is the last at or before
    ``at``."""
    table = saved.changes
    if table is None or table.empty:
        raise refuse(
            "changes.csv",
            "",
            "no answers to draw: run with two --snapshot dates (e.g. --snapshot 2021-12 "
            "--snapshot 2023-06) to record changes",
        )
    since, to, means, n_runs = change_shares(table, at, dimension)
    powers = [p for p in saved.powers if p in set(means.index.get_level_values("power"))]
    rows = list(dict.fromkeys(means.index.droplevel("power")))
    fig, axes = subplots(
        1,
        len(powers),
        figsize=(2.4 + 3.2 * len(powers), 2.3 + 0.42 * len(rows)),
        sharey=True,
        squeeze=False,
    )
    for ax, power in zip(axes[0], powers, strict=True):
        one = means.xs(power, level="power").reindex(rows)
        left = np.zeros(len(rows))
        for answer in ANSWER_COLOURS:
            width = one[answer].fillna(0).to_numpy()
            ax.barh(
                range(len(rows)),
                width,
                left=left,
                height=0.72,
                color=ANSWER_COLOURS[answer],
                hatch=ANSWER_HATCHES[answer],
                edgecolor=ANSWER_EDGES[answer],
                linewidth=0.6,
                label=answer,
                gid=f"answer:{power}:{answer}",
            )
            for row, (start, value) in enumerate(zip(left, width, strict=True)):
                _share_label(ax, answer, row, start, value)
            left = left + width
        ax.set_xlim(-MARGIN, 1 + MARGIN)  # room for the worse and better shares
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "25", "50", "75", "100 %"], fontsize=8)
        ax.set_title(power, fontsize=11, fontweight="bold")
        ax.tick_params(axis="y", length=0)
        for side in ("left", "top", "right"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_bounds(0, 1)
        if len(rows) > 1:  # everyone above, the groups below
            ax.plot([0, 1], [0.5, 0.5], color="0.25", linewidth=0.8)
    ax0 = axes[0][0]
    per_run = " per run" if n_runs > 1 else ""
    labels = []
    for dim, group in rows:
        count = means["respondents"].xs((dim, group), level=("dimension", "group")).iloc[0]
        name = "everyone" if dim == "all" else group
        plural = "" if round(count) == 1 else "s"
        labels.append(f"{name}\n{count:,.0f} respondent{plural}{per_run}")
    ax0.set_yticks(range(len(rows)), labels, fontsize=8)
    ax0.set_ylim(len(rows) - 0.5, -0.5)  # everyone on top
    for ax in axes[0]:
        ax.set_xlabel("share of respondents", fontsize=8)
    handles, names = ax0.get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncols=3, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.62 / fig.get_figheight()))  # fmt: skip
    runs_text = "one run" if n_runs == 1 else f"mean of {n_runs} runs"
    by = f", by {dimension}" if len(rows) > 1 else ""
    survey = saved.scenario.get("survey") or {}
    rule = (
        f"; a change counts once attraction moved by more than {survey['change_tolerance']:g}"
        if "change_tolerance" in survey
        else ""
    )
    fig.suptitle(
        f"\u201cHas your attitude toward this power changed since {since}?\u201d asked in {to}"
        f"\n{saved.name}: {runs_text}{by}\nexpected answers of the persons present at both "
        f"dates{rule}",
        fontsize=10,
    )
    others = sorted(set(zip(table["from"], table["to"], strict=True)) - {(since, to)})
    if others:
        fig.text(0.5, FOOTER_INCHES / fig.get_figheight(), "also in changes.csv: "
                 + ", ".join(f"{a} \u2192 {b} (--at {b})" for a, b in others),
                 fontsize=7, color="0.35", ha="center", va="bottom")  # fmt: skip
    footer(fig)
    top = 1 - 0.4 / fig.get_figheight()
    bottom = (FOOTER_INCHES + (0.2 if others else 0)) / fig.get_figheight()
    fig.tight_layout(rect=(0, bottom, 1, top))
    return fig


def event_marks(events: list) -> list[dict]:
    """A scenario's events as timeline marks: one per label, spanning its dates."""
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


ROW_INCHES = 0.3
"""Height of one event's row on the timeline: its label above, its bar below."""


def timeline(ax, marks: list[dict], first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Events as a small Gantt strip, one row each: a bar for a ramp, a marker for a
    one-month event, and the label just above it, so that no label hides its own bar."""
    if first == last:  # a one-month table: half a month either side
        first, last = first - pd.Timedelta(days=15), last + pd.Timedelta(days=15)
    ax.set_xlim(first, last)
    ax.set_ylim(max(1, len(marks)) - 0.45, -0.95)  # row 0 on top, room for its label
    ax.axis("off")
    if not marks:
        ax.text(first, 0, "no scenario events", fontsize=8, color="0.4", va="center")
    late = first + (last - first) * 0.6
    for row, mark in enumerate(marks):
        ramp = mark["end"] > mark["start"]
        if ramp:
            ax.plot(
                [mark["start"], mark["end"]],
                [row, row],
                color="0.45",
                linewidth=3,
                solid_capstyle="butt",
                gid=f"event-bar:{mark['label']}",
            )
        else:
            ax.plot([mark["start"]], [row], marker="v", color="0.2", markersize=6,
                    gid=f"event-bar:{mark['label']}")  # fmt: skip
        when = mark["start"].strftime("%Y-%m")
        if ramp:
            when += "–" + mark["end"].strftime("%Y-%m")
        right = mark["start"] > late  # a late event: the label ends where the event does
        ax.annotate(
            f"{when}  {mark['label']}",
            (mark["end"] if right else mark["start"], row),
            xytext=(0, 5),
            textcoords="offset points",
            ha="right" if right else "left",
            va="bottom",
            fontsize=8,
            gid=f"event-label:{mark['label']}",
        )


FIGURES = {
    "trajectories": trajectories,
    "alignment": alignment,
    "balance": balance,
    "groups": groups,
    "channels": channels,
    "changes": changes,
}
