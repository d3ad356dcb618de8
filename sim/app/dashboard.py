"""The classroom dashboard: Mesa's SolaraViz around the model, with the lesson's levers.

    multivector dashboard [SCENARIO] --port 8765     # or: solara run sim.app.dashboard:Page

The page is Mesa's SolaraViz around the plain :class:`~sim.model.model.MultivectorModel`:
its sidebar holds play, step and reset, and the levers as sliders and switches
(:func:`levers`: the schema's parameters that carry a ``lesson`` range, and every mechanism's
switch; range, label and help come from the schema's fields). Its main area holds the
lesson card (scenario, seed, any other parameter, with the command line's checks and
messages), the charts (drawn by :mod:`sim.results.plots` from the run's tables, as on the
command line and in notebooks), and sentences on what just happened.

At Reset, SolaraViz builds ``MultivectorModel(**model_params)``: the fixed entries of
:func:`model_params` (the lesson's scenario with its extra settings applied, its country
profile and the seed) and each lever by its keyword (``state__balance_strength``,
``powers__West__efficiency``, ``mechanisms__backlash``). Levers take effect when the model
is reset, as in every SolaraViz app: the teacher sets them, presses Reset, then Play or Step.
A value refused by the checks is reported in the lesson card and the running model is kept.
A change the lesson card accepts (scenario, seed, a parameter) rebuilds the sidebar for the
next Reset, its levers at the running model's values.
"""

from __future__ import annotations

import os
import textwrap
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure

from sim.inputs.assignments import parse_assignment
from sim.inputs.errors import COMMAND_LINE, ScenarioError, refuse
from sim.inputs.scenario import DEFAULT_SCENARIO, load_with_profile, shipped_scenarios
from sim.inputs.schema import (
    ROLES,
    Parameters,
    bounds,
    get_value,
    leaf_paths,
    month_name,
    resolve,
    role,
)
from sim.model.model import MultivectorModel
from sim.results import plots
from sim.results.saved import Saved, from_model

SCENARIO_ENV = "MULTIVECTOR_DASHBOARD_SCENARIO"
"""The scenario ``multivector dashboard`` opens with (a shipped name or a file path)."""

ROLE_HEADINGS = {
    "lever": "The state's levers",
    "uncertainty": "What the powers do",
    "setting": "Mechanisms (each switch turns one off)",
}
"""How the help names each role (:data:`sim.inputs.schema.ROLES`) of the sidebar's levers."""


# --- levers, from the schema -------------------------------------------------------------


def _extra(params: Parameters, path: str) -> dict:
    _, _, info = resolve(params, path)
    return (info.json_schema_extra if info is not None else None) or {}


def offered(params: Parameters, path: str) -> bool:
    """Whether a lesson offers this parameter in the sidebar: it has a ``lesson`` range in
    the schema, or it is a mechanism's switch."""
    return path.startswith("mechanisms.") or "lesson" in _extra(params, path)


def lever_paths(params: Parameters) -> list[str]:
    """The dotted paths of the levers for these parameters (a power's fields for every
    power), grouped by role: the state's levers, the powers', the mechanisms' switches."""
    powers = list(params.powers)
    plain, per_power = [], []
    for template in leaf_paths():
        if "<name>" not in template:
            plain += [template] if offered(params, template) else []
        elif offered(params, template.replace("<name>", powers[0])):
            per_power.append(template.removeprefix("powers.<name>."))
    paths = [*plain, *(f"powers.{p}.{name}" for p in powers for name in per_power)]
    return sorted(paths, key=lambda path: ROLES.index(role(params, path)))


def lever(params: Parameters, path: str) -> dict:
    """A SolaraViz user parameter for one lever: its type, value, range and label, from the
    schema field at ``path`` and the value in ``params``."""
    value = get_value(params, path)
    if isinstance(value, bool):
        return {"type": "Checkbox", "value": value, "label": path}
    low, high = lever_range(params, path)
    return {
        "type": "SliderFloat",
        "value": float(value),
        "min": low,
        "max": high,
        "step": float(f"{(high - low) / 100:.2g}"),
        "label": path,
    }


def lever_range(params: Parameters, path: str) -> tuple[float, float]:
    """The slider's span: the schema's ``lesson`` range, else its bounds."""
    _, _, info = resolve(params, path)
    low, high = _extra(params, path).get("lesson", bounds(info))
    return float(low), float(high)


def lever_help(params: Parameters, path: str) -> str:
    """One line of help for a lever, from its schema field: meaning, unit, range, source."""
    _, _, info = resolve(params, path)
    extra = _extra(params, path)
    unit = f" [{extra['unit']}]" if extra.get("unit") else ""
    if isinstance(get_value(params, path), bool):
        span = "on or off"
    else:
        low, high = lever_range(params, path)
        span = f"{low:g} to {high:g}"
    source = f"; source: {extra['source']}" if extra.get("source") else ""
    return f"{path}: {info.description}{unit}, {span}{source}"


def levers(params: Parameters) -> dict[str, dict]:
    """SolaraViz user parameters for every lever, keyed by the model's keyword for it
    (``__`` for the dots), valued as in ``params``."""
    return {path.replace(".", "__"): lever(params, path) for path in lever_paths(params)}


# --- what the lesson card holds (per browser session) --------------------------------------


@dataclass
class Lesson:
    """The settings a reset builds from, besides the sliders: all checked when entered."""

    scenario: str = DEFAULT_SCENARIO
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other parameters, path -> value
    problems: list[str] = field(default_factory=list)  # the last refused input, explained

    def setup(self) -> tuple:
        """What a model is built from (not the problems): SolaraViz is rebuilt when it
        changes, so that its Reset uses it."""
        return self.scenario, self.seed, tuple(self.extra.items())


lesson = solara.reactive(Lesson(scenario=os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO)))


def messages(error: ScenarioError) -> list[str]:
    """A refusal as the command line prints it, one line per problem."""
    return [f"error: {problem}" for problem in error.problems]


def check(scenario: str, overrides: dict[str, Any]) -> list[str]:
    """The command line's messages for a scenario and overrides (empty when all is well)."""
    try:
        load_with_profile(scenario, overrides)
    except ScenarioError as err:
        return messages(err)
    return []


# --- the model SolaraViz resets ----------------------------------------------------------


def model_params(settings: Lesson, running: MultivectorModel) -> dict[str, Any]:
    """SolaraViz's ``model_params``: fixed ``spec`` (the lesson's scenario, its extra
    settings applied), ``profile`` and ``seed``, and one lever per keyword, valued as the
    running model was built."""
    spec, profile, _ = load_with_profile(settings.scenario, settings.extra)
    return {
        "spec": spec,
        "profile": profile,
        "seed": settings.seed,
        **levers(running.spec.parameters()),
    }


def build(settings: Lesson) -> MultivectorModel:
    """A fresh model of the lesson's scenario, extra settings and seed."""
    spec, profile, _ = load_with_profile(settings.scenario, settings.extra)
    return MultivectorModel(spec, profile, seed=settings.seed)


current = solara.reactive(None)
"""The running model (per browser session)."""


def running_model() -> MultivectorModel:
    if current.value is None:
        current.value = build(lesson.value)
    return current.value


# --- inputs of the lesson card ------------------------------------------------------------


def choose_scenario(name: str) -> None:
    """Switch to a shipped scenario or a file: checked first; a new model on success."""
    name = name.strip()
    problems = check(name, {})
    if problems:
        lesson.value = _with(problems=problems)
        return
    settings = Lesson(scenario=name, seed=lesson.value.seed)
    current.value = build(settings)
    lesson.value = settings  # last: the sidebar is rebuilt for the new model's powers


def set_seed(text: str) -> None:
    text = text.strip()
    if not text:
        lesson.value = _with(seed=None, problems=[])
        return
    try:
        seed = int(text)
        if seed < 0:
            raise ValueError
    except ValueError:
        problem = refuse(COMMAND_LINE, "--seed", f"{text!r} is not a whole number >= 0")
        lesson.value = _with(problems=messages(problem))
        return
    lesson.value = _with(seed=seed, problems=[])


def set_parameter(text: str) -> None:
    """``path = value``, read and checked as the command line's ``--set``."""
    try:
        path, value = parse_assignment(text, "--set")
    except ScenarioError as err:
        lesson.value = _with(problems=messages(err))
        return
    if current.value is not None and path in lever_paths(current.value.spec.parameters()):
        problem = refuse(
            COMMAND_LINE, path, "is a lever: set it with its slider or switch in the sidebar"
        )
        lesson.value = _with(problems=messages(problem))
        return
    extra = {**lesson.value.extra, path: value}
    problems = check(lesson.value.scenario, extra)
    if problems:
        lesson.value = _with(problems=problems)
    else:
        lesson.value = _with(extra=extra, problems=[])


def clear_parameters() -> None:
    lesson.value = _with(extra={}, problems=[])


def _with(**changes: Any) -> Lesson:
    settings = lesson.value
    return Lesson(**{**settings.__dict__, **changes})


# --- what just happened -------------------------------------------------------------------


def sentences(model: MultivectorModel) -> list[str]:
    """Plain sentences on the latest turns of the run, newest first: alignment rankings
    that swapped, the dominance threshold crossed, the effective number of vectors."""
    ts = model.timeseries()
    wide = ts.pivot(index="date", columns="power", values="alignment")[model.powers]
    dates = wide.index.to_numpy()
    said: list[tuple[str, str]] = []
    values = wide.to_numpy()
    for i, a in enumerate(model.powers):
        for j, b in enumerate(model.powers):
            if i == j:
                continue
            above = values[:, i] > values[:, j]
            for k in np.flatnonzero(above[:-1] & ~above[1:]):
                said.append((dates[k + 1], f"{a}'s alignment fell below {b}'s in {dates[k + 1]}."))
    theta = model.params.state.dominance_threshold
    share = ts.drop_duplicates("date")["dominant_share"].to_numpy()
    leader = ts.drop_duplicates("date")["dominant_power"].to_numpy()
    over = share > theta
    for k in np.flatnonzero(~over[:-1] & over[1:]):
        said.append(
            (
                dates[k + 1],
                f"{leader[k + 1]}'s alignment passed the dominance threshold ({theta:.2f}) in "
                f"{dates[k + 1]}: counter-measures begin.",
            )
        )
    for k in np.flatnonzero(over[:-1] & ~over[1:]):
        said.append((dates[k + 1], f"No power is above the threshold since {dates[k + 1]}."))
    said.sort(key=lambda item: item[0], reverse=True)
    vectors = ts.drop_duplicates("date")["effective_vectors"].to_numpy()
    now = (
        f"{model.date}: the effective number of vectors is {vectors[-1]:.2f} "
        f"({vectors[0]:.2f} at the start); {leader[-1]} has the largest share, {share[-1]:.2f}."
    )
    return [now, *(text for _, text in said[:2])]


# --- charts: sim.results.plots, fitted to the page ---------------------------------------

WIDTH = 5.8
"""A chart's width in inches: one cell of SolaraViz's grid, half the main area (about 560
pixels, as the browser shows an SVG figure at 96 pixels an inch)."""

PAGE = {
    "trajectories": ((WIDTH, 4.2), {"left": 0.14, "right": 0.98, "top": 0.93, "bottom": 0.1}),
    "balance": ((WIDTH, 3.0), {"left": 0.14, "right": 0.98, "top": 0.9, "bottom": 0.14}),
    "groups": ((WIDTH, 4.8), None),
}
"""Each chart's size in inches and its margins on the page. A cell is about 380 pixels
high; the balance chart shares its cell with the sentences, and the group heatmap may run
longer (the cell scrolls). The time charts, redrawn every step, get fixed margins: laying
them out again would add a third of the redraw's time. The heatmap, redrawn yearly and
labelled with the profile's groups, is laid out again."""

LABEL_WIDTH = 24
"""Axis labels longer than this many characters are wrapped on the page's smaller charts."""


def for_the_page(figure: Figure, model: MultivectorModel, kind: str) -> Figure:
    """A figure of :mod:`sim.results.plots` fitted to its cell: smaller, its long axis
    labels wrapped, and, on a time axis, the run's whole span, so that its lines grow across
    a fixed axis."""
    size, margins = PAGE[kind]
    figure.set_size_inches(*size)
    for ax in figure.axes:
        label = ax.yaxis.label
        label.set_text(textwrap.fill(label.get_text(), LABEL_WIDTH))
        label.set_fontsize(9)
    if margins is None:
        figure.tight_layout()
        return figure
    first = pd.Timestamp(month_name(model.first_month))
    for ax in figure.axes:  # every axis of the time charts is a time axis
        ax.set_xlim(first, pd.Timestamp(month_name(model.last_month)))
    figure.subplots_adjust(**margins)
    return figure


_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tables(model: MultivectorModel) -> Saved:
    """The model's tables so far (:func:`sim.results.saved.from_model`), read once a step
    for all the charts."""
    steps, saved = _tables.get(model, (None, None))
    if steps != model.steps:
        saved = from_model(model)
        _tables[model] = (model.steps, saved)
    return saved


def chart(model: MultivectorModel, kind: str) -> Figure:
    """One of the command line's figures (``trajectories``, ``balance``, ``groups``) from
    the model's tables so far, fitted to the page; the current month is marked on the time
    axes, and the heatmap shows the model's latest yearly group table."""
    at = None if kind == "groups" else model.date
    return for_the_page(plots.FIGURES[kind](tables(model), at), model, kind)


def last_groups(model: MultivectorModel) -> str:
    """The date of the model's latest group table (it records one yearly)."""
    return str(model.groups()["date"].iloc[-1])


# --- components ---------------------------------------------------------------------------


@solara.component
def LessonCard(model: MultivectorModel):
    """Scenario, seed and any other parameter, each checked as the command line checks it,
    and what each lever of the sidebar means."""
    settings = lesson.value
    names = list(shipped_scenarios())
    show_help, set_show_help = solara.use_state(False)
    with solara.Card("Lesson"):
        solara.Select(
            label="scenario",
            values=names if settings.scenario in names else [settings.scenario, *names],
            value=settings.scenario,
            on_value=choose_scenario,
        )
        solara.InputText(
            label="or a scenario file (path), then Enter", value="", on_value=choose_scenario
        )
        solara.InputText(
            label="seed (empty: the scenario's), used at the next Reset",
            value="" if settings.seed is None else str(settings.seed),
            on_value=set_seed,
        )
        solara.InputText(
            label="set a parameter, e.g. backlash.strength = 0.5, then Enter",
            value="",
            on_value=set_parameter,
        )
        if settings.extra:
            solara.Text(
                "Set for the next Reset: "
                + ", ".join(f"{k} = {v}" for k, v in settings.extra.items())
            )
            solara.Button("clear these", on_click=clear_parameters, text=True)
        for problem in settings.problems:
            solara.Error(problem)
        if settings.problems:
            solara.Info(f"The model keeps running as it was ({model.date}).")
        solara.Checkbox(
            label="what each lever in the sidebar means (set levers, then Reset)",
            value=show_help,
            on_value=set_show_help,
        )
        if show_help:
            LeverHelp(model)


@solara.component
def LeverHelp(model: MultivectorModel):
    """What each lever in the sidebar means, from the schema, under its role's heading."""
    params = model.spec.parameters()
    paths = lever_paths(params)
    for kind in ROLES:
        mine = [path for path in paths if role(params, path) == kind]
        if mine:
            solara.Text(
                ROLE_HEADINGS.get(kind, kind),
                style={"display": "block", "font-weight": "bold", "margin-top": "0.4rem"},
            )
        for path in mine:
            solara.Text(
                lever_help(params, path), style={"display": "block", "font-size": "0.85rem"}
            )


@solara.component
def Now(model: MultivectorModel):
    """Sentences on what just happened, and the balance of the alignment."""
    from mesa.visualization.utils import update_counter

    update_counter.get()
    when = [model, model.steps]
    figure = solara.use_memo(lambda: chart(model, "balance"), dependencies=when)
    with solara.Card("What just happened"):
        for text in sentences(model):
            solara.Text(text, style={"display": "block", "font-size": "1.05rem"})
        solara.FigureMatplotlib(figure, dependencies=when)


@solara.component
def Trajectories(model: MultivectorModel):
    """Attraction and alignment by power, the scenario's events on a timeline above."""
    from mesa.visualization.utils import update_counter

    update_counter.get()
    when = [model, model.steps]
    figure = solara.use_memo(lambda: chart(model, "trajectories"), dependencies=when)
    solara.FigureMatplotlib(figure, dependencies=when)


@solara.component
def Groups(model: MultivectorModel):
    """The favourable share by group, from the model's yearly group table: redrawn when the
    table grows (its many labels are the costliest part of a redraw)."""
    from mesa.visualization.utils import update_counter

    update_counter.get()
    when = [model, last_groups(model)]
    figure = solara.use_memo(lambda: chart(model, "groups"), dependencies=when)
    solara.FigureMatplotlib(figure, dependencies=when)


COMPONENTS = [(Trajectories, 0), (Now, 0), (Groups, 0), (LessonCard, 0)]
"""In SolaraViz's grid: charts on the left, sentences and the lesson card on the right."""


@solara.component
def Page():
    """The whole dashboard: SolaraViz around the plain model, with the lesson's levers."""
    from mesa.visualization import SolaraViz

    settings = lesson.value
    model = running_model()
    setup = settings.setup()
    params = solara.use_memo(lambda: model_params(settings, model), dependencies=[setup, model])
    SolaraViz(
        current,
        components=COMPONENTS,
        model_params=params,
        name=f"multivector: {model.spec.name}",
        play_interval=50,
    ).key(repr(setup))
