"""The classroom dashboard: a lesson, its question, the levers in plain words, Play, and the
command line's charts.

    multivector dashboard [SCENARIO] --port 8765     # or: solara run sim.app.dashboard:Page

The page is built here from Solara's components around the plain
:class:`~sim.model.model.MultivectorModel` (not Mesa's SolaraViz, whose page shows its own
controls: a "PAGE 0" tab, "Use Threads", "Render Interval", a bare "▶"; importing
``mesa.visualization`` would also add seconds to the start). The sidebar holds the lesson
picker (:data:`LESSONS_FILE`: a shipped scenario and a question per lesson) with its question,
the month and the Play, Step and Reset buttons, and the levers (:func:`levers`: the schema's
parameters with a ``lesson`` range, and every mechanism's switch), each under its plain
``label`` with its value, unit and one line of help. The main area holds the charts (drawn by
:mod:`sim.results.plots` from :func:`sim.results.saved.from_model`, as on the command line,
shares on 0-1 axes), sentences on what just happened, what the numbers mean
(:func:`glossary`), and the settings card (any scenario, seed or parameter, checked and
refused with the command line's messages).

Reset builds ``MultivectorModel(**kwargs)`` from :func:`model_params` (SolaraViz's form: the
fixed ``spec``, ``profile`` and ``seed``, and each lever by its keyword such as
``state__balance_strength``), the moved levers applied: levers take effect at Reset. Play
steps the model in a thread and redraws every :data:`MONTHS_PER_DRAW` months.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipyvuetify as v
import numpy as np
import pandas as pd
import solara
import solara.lab
from matplotlib.figure import Figure

from sim.inputs.assignments import keyword_of, parse_assignment, path_of
from sim.inputs.errors import COMMAND_LINE, ScenarioError, refuse
from sim.inputs.lessons import LessonPlan, glossary, lesson_plans
from sim.inputs.scenario import (
    DEFAULT_SCENARIO,
    load_with_profile,
    shipped_profiles,
    shipped_scenarios,
)
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
FOLDER_ENV = "MULTIVECTOR_DASHBOARD_FOLDER"
"""The one folder whose scenario files the page may open (``--scenarios DIR``); unset: none.
A page can be reached by anyone who can reach the server, so it opens no other file: the
shipped scenarios, the files in that folder, and the scenario the command was given."""
MAX_LISTED = 200
"""Scenario files listed from the folder at most (a picker, not a file browser)."""


def scenario_folder() -> Path | None:
    folder = os.environ.get(FOLDER_ENV)
    return Path(folder).resolve() if folder else None


def scenario_choices() -> list[str]:
    """What the page may open: shipped scenario names, the files of the folder named at
    start, and the scenario the command was given."""
    names = list(shipped_scenarios())
    folder = scenario_folder()
    if folder is not None and folder.is_dir():
        files = sorted(p for p in folder.glob("*.toml") if p.is_file())[:MAX_LISTED]
        names += [str(p) for p in files]
    opened = os.environ.get(SCENARIO_ENV)
    if opened and opened not in names:
        names.append(opened)
    return names


"""The lessons (name, scenario, question, population) and the short glossary, as data."""

MONTHS_PER_DRAW = 3
"""While playing, the charts are redrawn every this many months at least (a quarter). A month
of the model takes milliseconds at a lesson's 20,000 persons; a redraw of the charts takes a
few tenths of a second, more on a busy computer. Redrawn every month, the 252 months from
2015-01 to 2035-12 would take two minutes or more; every quarter about half a minute, and a
quarter's change is still a small step on the charts."""

PLAY_SECONDS = 40.0
"""Play aims to run a whole run in about this many seconds: where a redraw takes longer than
that allows (a slow or busy computer), it redraws less often (:func:`months_per_draw`)."""

PAUSE_BETWEEN_DRAWS = 0.02
"""Seconds the Play loop rests after each redraw, so that the page's own events (Pause,
a slider) are handled between frames."""


def months_per_draw(seconds_per_draw: float, months: int) -> int:
    """Months between Play's redraws: :data:`MONTHS_PER_DRAW`, or more where a redraw takes
    so long that the run's ``months`` would take more than :data:`PLAY_SECONDS`."""
    return max(MONTHS_PER_DRAW, math.ceil(seconds_per_draw * months / PLAY_SECONDS))


ROLE_HEADINGS = {
    "lever": "The state's levers",
    "uncertainty": "What the powers do",
    "setting": "Mechanisms (switch one off to see what it does)",
}
"""How the sidebar and the help name each role (:data:`sim.inputs.schema.ROLES`)."""

SYMBOLS = {"lambda": "λ", "theta": "θ", "tau": "τ", "kappa": "κ", "alpha": "α", "delta": "δ"}
"""Greek letters the schema spells out in its descriptions, shown as letters."""


# --- lessons and glossary, from the lessons file -------------------------------------------


def plan_named(name: str | None) -> LessonPlan | None:
    return next((plan for plan in lesson_plans() if plan.name == name), None)


def plan_for(scenario: str) -> LessonPlan | None:
    """The first lesson on this scenario, if any (``multivector dashboard SCENARIO``)."""
    return next((plan for plan in lesson_plans() if plan.scenario == scenario), None)


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


def plain_label(params: Parameters, path: str) -> str:
    """The lever's name in plain words (the schema's ``label``), a power's prefixed with the
    power: "West: how much of its effort reaches people"."""
    label = _extra(params, path).get("label") or path
    parts = path.split(".")
    if parts[0] == "powers" and len(parts) == 3:
        return f"{parts[1]}: {label[:1].lower()}{label[1:]}"
    return label


def plain(text: str) -> str:
    """A schema description or source for the classroom: Greek letters as letters, and a
    pattern code said in words."""
    for word, letter in SYMBOLS.items():
        text = re.sub(rf"\b{word}(_\w+)?\b", letter, text)
    text = re.sub(r"^lever: ", "", text)
    return re.sub(r"\((P\d+)\)", r"(pattern \1 in docs/ODD.md)", text)


def lever(params: Parameters, path: str) -> dict:
    """A lever in SolaraViz's form (type, value, range, label), for these parameters."""
    value = get_value(params, path)
    if isinstance(value, bool):
        return {"type": "Checkbox", "value": value, "label": plain_label(params, path)}
    low, high = lever_range(params, path)
    return {
        "type": "SliderFloat",
        "value": float(value),
        "min": low,
        "max": high,
        "step": slider_step(low, high),
        "label": plain_label(params, path),
    }


def slider_step(low: float, high: float) -> float:
    """A round step of about a hundredth of the span, so that round values (a scenario's
    2.0) lie on the slider and are not moved by it."""
    return 10.0 ** math.floor(math.log10((high - low) / 100))


def lever_range(params: Parameters, path: str) -> tuple[float, float]:
    """The slider's span: the schema's ``lesson`` range, else its bounds."""
    _, _, info = resolve(params, path)
    low, high = _extra(params, path).get("lesson", bounds(info))
    return float(low), float(high)


def unit(params: Parameters, path: str) -> str:
    return _extra(params, path).get("unit", "")


def shown(params: Parameters, path: str, value: Any) -> str:
    """A lever's value as the sidebar says it: "on"/"off", or the number and its unit."""
    if isinstance(value, bool):
        return "on" if value else "off"
    text = f"{value:.2f}"
    return f"{text} ({unit(params, path)})" if unit(params, path) else text


def span(params: Parameters, path: str) -> str:
    """The slider's range, and why it is narrower than the schema allows, where it is."""
    if isinstance(get_value(params, path), bool):
        return "on or off"
    _, _, info = resolve(params, path)
    low, high = lever_range(params, path)
    allowed = tuple(float(b) for b in bounds(info))
    text = f"slider {low:g} to {high:g}"
    if allowed != (low, high):
        text += (
            f" (scenarios may use {allowed[0]:g} to {allowed[1]:g}; the slider keeps to the "
            "range where a lesson sees a difference)"
        )
    return text


def lever_line(params: Parameters, path: str) -> str:
    """One line of help under a lever: what it is, in the schema's words made plain."""
    _, _, info = resolve(params, path)
    return f"{plain(info.description)}; {span(params, path)}."


def lever_help(params: Parameters, path: str) -> str:
    """The lever's help in the settings card: plain name, meaning, unit, range, source."""
    extra = _extra(params, path)
    units = f" [{extra['unit']}]" if extra.get("unit") else ""
    source = f"; source: {plain(extra['source'])}" if extra.get("source") else ""
    _, _, info = resolve(params, path)
    return (
        f"{plain_label(params, path)}: {plain(info.description)}{units}, "
        f"{span(params, path)}{source}"
    )


def levers(params: Parameters) -> dict[str, dict]:
    """The levers in SolaraViz's form, keyed by the model's keyword for each (``__`` for the
    dots), valued as in ``params``."""
    return {keyword_of(path): lever(params, path) for path in lever_paths(params)}


# --- what the session holds --------------------------------------------------------------


@dataclass
class Lesson:
    """The settings a reset builds from, besides the levers: all checked when entered."""

    scenario: str = DEFAULT_SCENARIO
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other parameters, path -> value
    problems: list[str] = field(default_factory=list)  # the last refused input, explained
    plan: str | None = None  # the lesson picked, by name (None: a scenario of one's own)

    def setup(self) -> tuple:
        """What a model is built from (not the problems)."""
        return self.scenario, self.seed, tuple(self.extra.items())


def opening() -> Lesson:
    """The session's first settings: the scenario ``multivector dashboard`` was given, as
    its lesson where there is one."""
    scenario = os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO)
    plan = plan_for(scenario)
    return Lesson(scenario=scenario, plan=plan.name) if plan else Lesson(scenario=scenario)


lesson = solara.reactive(opening())

current = solara.reactive(None)
"""The running model (per browser session)."""

chosen = solara.reactive({})
"""The levers as moved since the last Reset (keyword -> value), applied at the next one."""

playing = solara.reactive(False)

drawn = solara.reactive(0)
"""Counts redraws: the charts and the month follow it (Step, Reset, Play's frames)."""


def redraw() -> None:
    drawn.value += 1


_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_locks_lock = threading.Lock()


def lock_of(model: MultivectorModel) -> threading.RLock:
    """The model's lock: Play steps it in a thread while the page's own events may redraw,
    so stepping and reading its tables take turns."""
    with _locks_lock:
        return _locks.setdefault(model, threading.RLock())


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


# --- the model Reset builds ----------------------------------------------------------------


def model_params(settings: Lesson, running: MultivectorModel) -> dict[str, Any]:
    """The model's keywords in SolaraViz's form: fixed ``spec`` (the lesson's scenario, its
    extra settings applied), ``profile`` and ``seed``, and one lever per keyword, valued as
    the running model was built."""
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


def running_model() -> MultivectorModel:
    if current.value is None:
        current.value = build(lesson.value)
    return current.value


def step() -> None:
    """One month, then a redraw."""
    model = running_model()
    with lock_of(model):
        if model.running:
            model.step()
    redraw()


def reset() -> None:
    """A new model of the lesson's settings with the levers as set in the sidebar."""
    playing.value = False
    params = model_params(lesson.value, running_model())
    kwargs = {
        k: v["value"] if isinstance(v, dict) and "type" in v else v for k, v in params.items()
    }
    kwargs.update({k: value for k, value in chosen.value.items() if k in kwargs})
    try:
        current.value = MultivectorModel(**kwargs)
    except ScenarioError as err:
        lesson.value = _with(problems=messages(err))
        return
    chosen.value = {}
    redraw()


def play() -> None:
    """Play's loop (in a thread): some months, a redraw, until paused or at the end; the
    months between redraws follow the time a frame takes (:func:`months_per_draw`)."""
    every, slowest = MONTHS_PER_DRAW, 0.0
    while playing.value:
        began = time.perf_counter()
        model = running_model()
        for _ in range(every):
            if not model.running or not playing.value:
                break
            with lock_of(model):
                model.step()
        redraw()
        if not model.running:
            playing.value = False
            break
        time.sleep(PAUSE_BETWEEN_DRAWS)
        took = time.perf_counter() - began
        slowest = max(took, (slowest + took) / 2)  # slow to trust a quick frame
        every = months_per_draw(slowest, model.last_month - model.first_month + 1)


def set_lever(key: str, value: Any) -> None:
    """A lever moved (applied at the next Reset); moved back to the running value, it is
    no longer a change."""
    params = running_model().spec.parameters()
    path = path_of(key)
    now = get_value(params, path)
    moved = {k: v for k, v in chosen.value.items() if k != key}
    if isinstance(now, bool):
        if value != now:
            moved[key] = value
    elif abs(value - now) > slider_step(*lever_range(params, path)) / 2 + 1e-9:
        moved[key] = value  # not just the slider rounding the value to its step
    if moved != chosen.value:
        chosen.value = moved


# --- inputs of the lesson picker and the settings card ----------------------------------------


def start(settings: Lesson) -> None:
    """Open these settings: a new model, the levers at its values."""
    playing.value = False
    current.value = build(settings)
    chosen.value = {}
    lesson.value = settings
    redraw()


def choose_lesson(name: str) -> None:
    """Load a lesson: its scenario at its population, its question shown."""
    plan = plan_named(name)
    if plan is None:
        return
    problems = check(plan.scenario, {})
    if problems:
        lesson.value = _with(problems=problems)
        return
    extra = {"run.population": plan.population}
    if load_with_profile(plan.scenario)[0].run.population == plan.population:
        extra = {}
    start(Lesson(scenario=plan.scenario, seed=lesson.value.seed, extra=extra, plan=plan.name))


def choose_scenario(name: str) -> None:
    """Switch to a shipped scenario or a file of the folder named at start: checked first;
    a new model on success. Any other path is refused without being read."""
    name = name.strip()
    if name not in scenario_choices():
        folder = scenario_folder()
        where = f"files in {folder}" if folder else "no files (start with --scenarios DIR)"
        problem = refuse(
            COMMAND_LINE,
            "scenario",
            f"this page opens the shipped scenarios and {where}; not {name[:80]!r}",
        )
        lesson.value = _with(problems=[f"error: {p}" for p in problem.problems])
        return
    problems = check(name, {})
    if problems:
        lesson.value = _with(problems=problems)
        return
    plan = plan_for(name)
    start(Lesson(scenario=name, seed=lesson.value.seed, plan=plan.name if plan else None))


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
    if path == "run.profile" and value not in shipped_profiles():
        problem = refuse(  # a path would read a file of the server's: names only here
            COMMAND_LINE,
            path,
            f"this page takes a shipped profile: {', '.join(shipped_profiles())}",
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

WIDTH = 6.2
"""A chart's width in inches (about 600 pixels: the browser shows an SVG figure at 96 pixels
an inch), the left column of the main area."""

PAGE = {
    "trajectories": ((WIDTH, 4.2), (0.85, 0.1, 0.45, 0.45)),
    "balance": ((WIDTH * 0.75, 3.0), (0.75, 0.1, 0.3, 0.5)),
    "groups": ((WIDTH, 4.8), None),
}
"""Each chart's size in inches (the trajectories' grows by a row per event) and its margins
in inches (left, right, top, bottom). The time charts, redrawn while playing, are drawn
without the command line's automatic layout (``layout=False``) and get fixed margins: laying
them out costs more than drawing them. The heatmap, redrawn yearly and labelled with the
profile's groups, is laid out."""

EVENT_ROW = 0.25
"""Inches per row of the trajectories' event timeline."""

LABEL_WIDTH = 24
"""Axis labels longer than this many characters are wrapped on the page's smaller charts."""

SHARE = "0–1"
"""An axis whose label says this holds a share or an attraction: it spans 0 to 1 on the
page, as in the command line's figures, whatever the data so far."""


def for_the_page(figure: Figure, model: MultivectorModel, kind: str) -> Figure:
    """A figure of :mod:`sim.results.plots` fitted to its place: smaller, its long axis
    labels wrapped, shares on 0-1 axes, and, on a time axis, the run's whole span, so that
    its lines grow across a fixed axis."""
    (width, height), margins = PAGE[kind]
    if kind == "trajectories":
        height += EVENT_ROW * max(1, len(plots.event_marks(model.spec.events)))
    figure.set_size_inches(width, height)
    for ax in figure.axes:
        label = ax.yaxis.label
        if SHARE in label.get_text():
            ax.set_ylim(0, 1)
        label.set_text(textwrap.fill(label.get_text(), LABEL_WIDTH))
        label.set_fontsize(9)
    if margins is None:
        figure.tight_layout()
        return figure
    first = pd.Timestamp(month_name(model.first_month))
    for ax in figure.axes:  # every axis of the time charts is a time axis
        ax.set_xlim(first, pd.Timestamp(month_name(model.last_month)))
    left, right, top, bottom = margins
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height
    )
    return figure


_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tables(model: MultivectorModel) -> Saved:
    """The model's tables so far (:func:`sim.results.saved.from_model`), read once a step
    for all the charts."""
    with lock_of(model):
        steps, saved = _tables.get(model, (None, None))
        if steps != model.steps:
            saved = from_model(model)
            _tables[model] = (model.steps, saved)
        return saved


def chart(model: MultivectorModel, kind: str) -> Figure:
    """One of the command line's figures (``trajectories``, ``balance``, ``groups``) from
    the model's tables so far, fitted to the page; the current month is marked on the time
    axes, and the heatmap shows the model's latest yearly group table."""
    if kind == "groups":
        figure = plots.groups(tables(model), None)
    else:
        figure = plots.FIGURES[kind](tables(model), model.date, layout=False)
    return for_the_page(figure, model, kind)


def last_groups(model: MultivectorModel) -> str:
    """The date of the model's latest group table (it records one yearly)."""
    with lock_of(model):
        return str(model.groups()["date"].iloc[-1])


# --- components ---------------------------------------------------------------------------

SMALL = {"display": "block", "font-size": "0.8rem", "color": "#555", "line-height": "1.2"}
HEADING = {"display": "block", "font-weight": "bold", "margin-top": "0.8rem"}


@solara.component
def LessonPicker(model: MultivectorModel):
    """The lessons, the picked one's question, and the scenario it runs."""
    settings = lesson.value
    plan = plan_named(settings.plan)
    with solara.Card("Lesson", margin=0):
        solara.Select(
            label="Pick a lesson",
            values=[p.name for p in lesson_plans()],
            value=plan.name if plan else None,
            on_value=choose_lesson,
        )
        if plan is not None:
            solara.Markdown(f"**Question.** {plan.question}")
        else:
            solara.Text(f"Scenario: {settings.scenario} (no lesson picked)", style=SMALL)


@solara.component
def Controls(model: MultivectorModel):
    """The month, and Play/Pause, Step and Reset in words."""
    drawn.get()
    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)
    end = month_name(model.last_month)
    with solara.Card(margin=0):
        solara.Text(f"Month: {model.date}", style={"font-size": "1.6rem", "font-weight": "bold"})
        solara.Text(f"The run goes from {month_name(model.first_month)} to {end}.", style=SMALL)
        with solara.Row(gap="6px", style={"flex-wrap": "wrap", "margin-top": "0.5rem"}):
            solara.Button(
                "Pause" if playing.value else "Play",
                color="primary",
                on_click=lambda: playing.set(not playing.value),
                disabled=not model.running,
            )
            solara.Button(
                "Step one month",
                color="primary",
                outlined=True,
                on_click=step,
                disabled=playing.value or not model.running,
            )
            solara.Button("Reset", on_click=reset, outlined=True)
        if not model.running:
            solara.Text(f"The run has reached {end}. Reset to run it again.", style=SMALL)
        if chosen.value:
            solara.Text("Levers moved: press Reset to start again with them.",
                        style={**SMALL, "color": "#b00020"})  # fmt: skip


def levers_by_role(params: Parameters) -> list[tuple[str, list[str]]]:
    """The levers grouped under their role's heading, in the schema's order of roles."""
    paths = lever_paths(params)
    grouped = [(kind, [p for p in paths if role(params, p) == kind]) for kind in ROLES]
    return [(ROLE_HEADINGS.get(kind, kind), mine) for kind, mine in grouped if mine]


@solara.component
def Levers(model: MultivectorModel):
    """Every lever under its role's heading: plain name and value, the control, one line of
    help. Moved levers apply at the next Reset."""
    params = model.spec.parameters()
    moved = chosen.value
    for heading, paths in levers_by_role(params):
        solara.Text(heading, style=HEADING)
        for path in paths:
            key = keyword_of(path)
            now = get_value(params, path)
            value = moved.get(key, now)
            name = plain_label(params, path)
            if isinstance(now, bool):
                solara.Checkbox(
                    label=f"{name}: {shown(params, path, value)}",
                    value=value,
                    on_value=lambda on, key=key: set_lever(key, on),
                )
            else:
                low, high = lever_range(params, path)
                solara.Text(f"{name}: {shown(params, path, value)}", style={"display": "block"})
                v.Slider.element(
                    v_model=float(value),
                    on_v_model=lambda moved, key=key: set_lever(key, float(moved)),
                    min=low,
                    max=high,
                    step=slider_step(low, high),
                    thumb_label=True,
                    dense=True,
                    hide_details=True,
                    attributes={"data-lever": key},
                )
            if key in moved and moved[key] != now:
                solara.Text(f"now running with {shown(params, path, now)}",
                            style={**SMALL, "color": "#b00020"})  # fmt: skip
            solara.Text(lever_line(params, path), style=SMALL)


@solara.component
def Glossary():
    """What the numbers mean, in the words of docs/glossary.md."""
    with solara.Card("What the numbers mean"):
        for term, meaning in glossary():
            solara.Markdown(f"**{term}**: {meaning}", style={"font-size": "0.9rem"})
        solara.Text("More in docs/glossary.md.", style=SMALL)


@solara.component
def LessonCard(model: MultivectorModel):
    """Any scenario, seed and other parameter, each checked as the command line checks it,
    and what each lever means."""
    settings = lesson.value
    names = scenario_choices()
    show_help, set_show_help = solara.use_state(False)
    with solara.Card("Scenario and settings"):
        solara.Select(
            label="scenario (shipped, or a file of the folder given with --scenarios)",
            values=names if settings.scenario in names else [settings.scenario, *names],
            value=settings.scenario,
            on_value=choose_scenario,
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
            label="what each lever in the sidebar means",
            value=show_help,
            on_value=set_show_help,
        )
        if show_help:
            LeverHelp(model)


@solara.component
def LeverHelp(model: MultivectorModel):
    """What each lever in the sidebar means, from the schema, under its role's heading."""
    params = model.spec.parameters()
    for heading, paths in levers_by_role(params):
        solara.Text(heading, style=HEADING)
        for path in paths:
            solara.Text(
                lever_help(params, path), style={"display": "block", "font-size": "0.85rem"}
            )


@solara.component
def Now(model: MultivectorModel):
    """Sentences on what just happened, and the balance of the alignment."""
    drawn.get()
    when = [model, model.steps]
    figure = solara.use_memo(lambda: chart(model, "balance"), dependencies=when)
    with solara.Card("What just happened"):
        with lock_of(model):
            said = sentences(model)
        for text in said:
            solara.Text(text, style={"display": "block", "font-size": "1.05rem"})
        solara.FigureMatplotlib(figure, dependencies=when)


@solara.component
def Trajectories(model: MultivectorModel):
    """Attraction and alignment by power, the scenario's events on a timeline above."""
    drawn.get()
    when = [model, model.steps]
    figure = solara.use_memo(lambda: chart(model, "trajectories"), dependencies=when)
    solara.FigureMatplotlib(figure, dependencies=when)


@solara.component
def Groups(model: MultivectorModel):
    """The favourable share by group, from the model's yearly group table: redrawn when the
    table grows (its many labels make it the costliest chart to draw)."""
    drawn.get()
    when = [model, last_groups(model)]
    figure = solara.use_memo(lambda: chart(model, "groups"), dependencies=when)
    solara.FigureMatplotlib(figure, dependencies=when)


CHARTS = [Trajectories, Now, Groups]
"""The components a redraw redraws."""

CSS = """
.v-navigation-drawer { width: 380px !important; }
.v-application .v-card .v-card__text { padding-top: 4px; }
"""


@solara.component
def Page():
    """The whole dashboard: lesson, controls and levers in the sidebar; charts, what just
    happened, what the numbers mean and the settings in the main area."""
    settings = lesson.value
    model = running_model()
    plan = plan_named(settings.plan)
    solara.Style(CSS)
    solara.Title("multivector: a classroom dashboard")
    with solara.AppBarTitle():
        solara.Text(f"multivector: {plan.name if plan else model.spec.name}")
    with solara.Sidebar():
        LessonPicker(model)
        Controls(model)
        Levers(model)
    with solara.Columns([3, 2]):
        with solara.Column():
            Trajectories(model)
            Groups(model)
        with solara.Column():
            Now(model)
            Glossary()
            LessonCard(model)
