"""What the figures show, measured on the rendered figure (the Agg renderer's boxes), not
only that they render: labels that do not hide what they label, thresholds where they mean
what they say, group sizes, distinct markers, and the glossary's address on every figure."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, invoke
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

import sim
from sim.experiments import runner
from sim.results import compare, plots, sweep_figures
from sim.results import saved as results


def rendered(figure: Figure):
    """The figure drawn by Agg, and its renderer, to measure what was drawn."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def box(artist, renderer):
    """An artist's box on the page, a line's widened by its width."""
    extent = artist.get_window_extent(renderer)
    width = getattr(artist, "get_linewidth", lambda: 0)()
    if hasattr(artist, "get_xydata"):  # a line: its box has no height of its own
        pad = width / 72 * artist.figure.dpi / 2
        extent = extent.padded(pad)
    return extent


def by_gid(figure: Figure, prefix: str) -> dict[str, object]:
    found = figure.findobj(lambda a: (a.get_gid() or "").startswith(prefix))
    return {a.get_gid().split(":", 1)[-1]: a for a in found}


def fresh(until: str | None = None, reps: int | None = None) -> results.Saved:
    """The tiny scenario's tables; run to its end, with two snapshots (for the changes)."""
    snapshots = ["2016-06", "2017-12"] if until is None else None
    plan = runner.plan(TINY, overrides={"run.population": 200}, until=until, snapshots=snapshots)
    if reps is None:
        return results.from_result(runner.execute(plan))
    from sim.experiments.ensemble import run_ensemble

    return results.from_result(run_ensemble(plan, reps, workers=1))


@pytest.fixture(scope="module")
def ensemble() -> results.Saved:
    return fresh(reps=3)


# --- trajectories: the event timeline ------------------------------------------------------


@pytest.mark.parametrize("scenario", ["post2022_russia_weakening", "national_identity_first"])
def test_no_event_label_hides_a_bar(scenario):
    """The shipped events (ramps from 2015-01, a 2022-2026 ramp, one-month events): no
    label's box overlaps its own bar, another bar or another label."""
    marks = plots.event_marks(sim.load_scenario(scenario).events)
    figure = Figure(figsize=(10, 0.3 + plots.ROW_INCHES * len(marks)))
    ax = figure.subplots()
    plots.timeline(ax, marks, pd.Timestamp("2015-01"), pd.Timestamp("2035-12"))
    renderer = rendered(figure)
    bars, labels = by_gid(figure, "event-bar:"), by_gid(figure, "event-label:")
    assert set(bars) == set(labels) == {m["label"] for m in marks}
    for name, label in labels.items():
        mine = box(label, renderer)
        assert not mine.overlaps(box(bars[name], renderer)), f"{name!r} hides its own bar"
        for other, bar in bars.items():
            assert not mine.overlaps(box(bar, renderer)), f"{name!r} hides {other!r}"
        for other, text in labels.items():
            if other != name:
                assert not mine.overlaps(box(text, renderer)), f"{name!r} over {other!r}"
        axes = ax.get_window_extent(renderer)
        assert axes.x0 - 1 <= mine.x0 and mine.x1 <= axes.x1 + 1, f"{name!r} leaves the strip"


def test_a_bar_starts_where_its_event_starts():
    """A ramp from 2015-01 is drawn from 2015-01, not from where its label ends."""
    marks = plots.event_marks(sim.load_scenario("baseline").events)
    figure = Figure(figsize=(10, 2))
    ax = figure.subplots()
    plots.timeline(ax, marks, pd.Timestamp("2015-01"), pd.Timestamp("2035-12"))
    bar = by_gid(figure, "event-bar:")["Western grants shrink"]
    assert pd.Timestamp(bar.get_xdata()[0]) == pd.Timestamp("2015-01")


def test_a_one_month_table_draws_without_warnings():
    one = fresh(until="2015-01")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kind in plots.KINDS:
            if kind != "changes":  # it needs two snapshot dates, so two months
                rendered(plots.FIGURES[kind](one))


# --- alignment: the threshold where it means what it says ----------------------------------


def test_the_threshold_is_drawn_against_each_powers_share_not_the_stack(ensemble):
    figure = plots.alignment(ensemble)
    threshold = by_gid(figure, "threshold")["threshold"]
    stacked, own = figure.axes[0], threshold.axes
    assert own is not stacked
    assert [line.get_label() for line in own.get_lines()][: len(ensemble.powers)] == (
        ensemble.powers
    )
    assert threshold.get_ydata()[0] == pytest.approx(ensemble.threshold)
    for line in stacked.get_lines():  # no horizontal line across the stacked bands
        ys = np.asarray(line.get_ydata(), dtype=float)
        assert not (len(set(ys)) == 1 and ys[0] == pytest.approx(ensemble.threshold))
    assert figure.axes.index(own) == 1  # signature (saved, at=None) still draws both


# --- groups: sizes, and any month ---------------------------------------------------------


def test_group_labels_give_the_persons_in_each_group(ensemble):
    figure = plots.groups(ensemble)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    last = ensemble.groups[ensemble.groups["date"] == ensemble.groups["date"].iloc[-1]]
    sizes = last.groupby(["dimension", "group"], sort=False)["persons"].median()
    assert len(labels) == len(sizes)
    for label, ((dimension, group), persons) in zip(labels, sizes.items(), strict=True):
        plural = "" if persons == 1 else "s"
        assert label == f"{dimension}: {group} ({persons:,.0f} person{plural})"
    assert sum(sizes.xs("area", level="dimension")) == 200  # every person in one area


def test_groups_at_a_month_between_yearly_dates_uses_the_last_year_before_it(ensemble):
    figure = plots.groups(ensemble, "2016-07")  # recorded: 2015-01, 2015-12, 2016-12, ...
    title = figure.axes[0].get_title()
    assert "2015-12" in title and "at or before 2016-07" in title
    assert "2015-01" in plots.groups(ensemble, "2014-03").axes[0].get_title()
    assert plots.recorded_at(pd.Series(["2015-01", "2015-12"]), "2015-12") == "2015-12"


# --- compare: the months of the table -----------------------------------------------------


def test_compared_months_look_like_no_power(ensemble, tmp_path, monkeypatch):
    captured = {}
    finish = plots.finish
    monkeypatch.setattr(plots, "finish", lambda fig: finish(captured.setdefault("figure", fig)))
    compare.figure([ensemble, ensemble], tmp_path / "c.png", ["2016-06"])
    figure = captured["figure"]
    marks = by_gid(figure, "compared-month:")
    assert marks, "the compared month is not drawn"
    styles = {(line.get_color(), line.get_linestyle()) for ax in figure.axes
              for line in ax.get_lines() if line.get_label() in ensemble.powers}  # fmt: skip
    for line in figure.findobj(lambda a: (a.get_gid() or "") == "compared-month:2016-06"):
        assert (line.get_color(), line.get_linestyle()) not in styles
        assert line.get_linestyle() != "-." and line.get_linewidth() >= 4  # a band, not a line
    labels = by_gid(figure, "compared-month-label:")
    assert labels["2016-06"].get_text() == "2016-06"


# --- sweeps --------------------------------------------------------------------------------


def morris_table() -> pd.DataFrame:
    """Indices where several points fall on one another, as in a small screening."""
    names = ["state.balance_strength", "identity.promotion", "state.screening",
             "powers.Russia.efficiency", "persuasion.rate", "social.confidence"]  # fmt: skip
    mu = [0.001, 0.001, 0.0012, 0.2, 0.0011, 0.001]
    return pd.DataFrame({
        "outcome": "russia_alignment",
        "parameter": names,
        "mu_star": mu,
        "mu_star_conf": [0.0005] * 6,
        "sigma": [0.002, 0.0021, 0.002, 0.1, 0.0019, 0.002],
    })  # fmt: skip


def test_morris_labels_do_not_overprint():
    figure = sweep_figures.indices_plot(morris_table(), "morris")
    renderer = rendered(figure)
    labels = figure.findobj(lambda a: a.get_gid() == "point-label")
    assert len(labels) == 6
    boxes = [Text.get_window_extent(label, renderer) for label in labels]  # without leaders
    for i, one in enumerate(boxes):
        for j in range(i):
            assert not one.overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())


GRID = """
name = "tiny_grid"
scenario = "tiny.toml"
[parameters]
"persuasion.rate" = { values = [0.01, 0.1, 0.3] }
"mechanisms.counter_measures" = { values = [true, false] }
[design]
method = "grid"
replications = 1
seed = 3
[[outcomes]]
name = "alpha_attraction"
measure = "attraction"
power = "Alpha"
at = "2016-12"
"""


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    spec = folder / "grid.toml"
    spec.write_text(GRID)
    shutil.copy(TINY, folder / "tiny.toml")
    done = invoke("sweep", spec, "--out", folder / "out", "--workers", "1", "--quiet")
    assert done.exit_code == 0, done.output
    return folder / "out"


def test_a_sweep_line_never_pools_silently(grid_sweep):
    split = sweep_figures.sweep_plot(grid_sweep, "alpha_attraction", "persuasion.rate", None)
    names = [line.get_label() for line in split.axes[0].get_lines()]
    assert names == [
        "mechanisms.counter_measures = False: median",
        "mechanisms.counter_measures = True: median",
    ]
    heat = sweep_figures.sweep_plot(
        grid_sweep, "alpha_attraction", "persuasion.rate", "mechanisms.counter_measures"
    )
    assert "mean over" not in heat.axes[0].get_title()


def test_a_pooled_sweep_line_says_over_what(tmp_path):
    spec = tmp_path / "grid.toml"
    shutil.copy(TINY, tmp_path / "tiny.toml")
    text = GRID.replace(
        '"mechanisms.counter_measures" = { values = [true, false] }',
        '"mechanisms.counter_measures" = { values = [true, false] }\n'
        '"persuasion.relaxation" = { values = [0.02, 0.04] }',
    )
    spec.write_text(text)
    assert (
        invoke("sweep", spec, "--out", tmp_path / "o", "--workers", "1", "--quiet").exit_code == 0
    )
    figure = sweep_figures.sweep_plot(tmp_path / "o", "alpha_attraction", "persuasion.rate", None)
    title = figure.axes[0].get_title(loc="left")
    assert "pooled over mechanisms.counter_measures, persuasion.relaxation" in title


# --- every figure --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", plots.KINDS)
def test_every_figure_names_the_glossary_below_everything_else(kind, ensemble):
    figure = plots.FIGURES[kind](ensemble, "2016-06")
    renderer = rendered(figure)
    (footer,) = by_gid(figure, "glossary").values()
    assert footer.get_text() == "What the numbers mean: docs/glossary.md"
    below = footer.get_window_extent(renderer)
    for ax in figure.axes:
        assert not below.overlaps(ax.get_tightbbox(renderer)), f"the footer overlaps {ax}"
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # shows itself in Jupyter
