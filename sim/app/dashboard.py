"""The classroom dashboard: Mesa's SolaraViz around the model, with the lesson's levers.

    multivector dashboard [SCENARIO] --port 8765     # or: solara run sim.app.dashboard:Page

The page is Mesa's SolaraViz: its sidebar holds play, step and reset, and the levers as
sliders and switches (:func:`levers`, built from the scenario schema: range, label and help
come from the schema's fields, not from a list of their own). Its main area holds the
lesson card (scenario, seed, any other parameter, with the command line's checks and
messages), the charts, and sentences on what just happened.

Levers take effect when the model is reset, as in every SolaraViz app: the teacher sets
them, presses Reset, then Play or Step. A value refused by the checks is reported in the
lesson card and the running model is kept.
"""

from __future__ import annotations

import inspect
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure

from sim.inputs.errors import COMMAND_LINE, ScenarioError, refuse
from sim.inputs.scenario import DEFAULT_SCENARIO, load_with_profile, shipped_scenarios
from sim.inputs.schema import Mechanisms, Parameters, bounds, get_value, resolve
from sim.model import measures
from sim.model.model import MultivectorModel

SCENARIO_ENV = "MULTIVECTOR_DASHBOARD_SCENARIO"
"""The scenario ``multivector dashboard`` opens with (a shipped name or a file path)."""

STATE_LEVERS = ("state.balance_strength", "identity.promotion", "state.screening")
POWER_LEVERS = ("efficiency", "capacity")
"""The levers a lesson needs; each becomes a slider or a switch with the schema's range,
label and help. Every mechanism's switch is added to these."""


# --- levers, from the schema -------------------------------------------------------------


def lever_paths(powers: list[str]) -> list[str]:
    """The dotted paths of the levers for a scenario with these powers."""
    switches = [f"mechanisms.{name}" for name in Mechanisms.model_fields]
    per_power = [f"powers.{p}.{name}" for p in powers for name in POWER_LEVERS]
    return [*STATE_LEVERS, *per_power, *switches]


def keyword(path: str) -> str:
    """A lever's keyword argument name (dots are not allowed there)."""
    return path.replace(".", "__")


def lever(params: Parameters, path: str) -> dict:
    """A SolaraViz user parameter for one lever: its type, value, range and label, from the
    schema field at ``path`` and the scenario's current value."""
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
    """The slider's span: the schema's bounds, or its narrower ``lesson`` range."""
    _, _, info = resolve(params, path)
    low, high = (info.json_schema_extra or {}).get("lesson", bounds(info))
    return float(low), float(high)


def lever_help(params: Parameters, path: str) -> str:
    """One line of help for a lever, from its schema field: meaning, unit, range, source."""
    _, _, info = resolve(params, path)
    extra = info.json_schema_extra or {}
    unit = f" [{extra['unit']}]" if extra.get("unit") else ""
    if isinstance(get_value(params, path), bool):
        span = "on or off"
    else:
        low, high = lever_range(params, path)
        span = f"{low:g} to {high:g}"
    source = f"; source: {extra['source']}" if extra.get("source") else ""
    return f"{path}: {info.description}{unit}, {span}{source}"


def levers(params: Parameters, powers: list[str]) -> dict[str, dict]:
    """SolaraViz ``model_params`` for every lever, keyed by keyword name."""
    return {keyword(path): lever(params, path) for path in lever_paths(powers)}


# --- what the lesson card holds (per browser session) --------------------------------------


@dataclass
class Lesson:
    """The settings a reset builds from, besides the sliders: all checked when entered."""

    scenario: str = DEFAULT_SCENARIO
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other parameters, path -> value
    problems: list[str] = field(default_factory=list)  # the last refused input, explained


lesson = solara.reactive(Lesson(scenario=os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO)))


def check(scenario: str, overrides: dict[str, Any]) -> list[str]:
    """The command line's messages for a scenario and overrides (empty when all is well)."""
    try:
        load_with_profile(scenario, overrides)
    except ScenarioError as err:
        return [f"error: {problem}" for problem in err.problems]
    return []


# --- the model SolaraViz resets ----------------------------------------------------------


class DashboardModel(MultivectorModel):
    """A model built from the lesson card and the levers.

    SolaraViz rebuilds a model by calling its class with the levers as keyword arguments;
    :func:`model_class` makes a subclass whose signature names the levers of one scenario's
    powers (SolaraViz checks the names against it).
    """

    def __init__(self, **levers: Any):
        settings = lesson.value
        overrides = {**settings.extra}
        overrides |= {name.replace("__", "."): value for name, value in levers.items()}
        spec, profile, _ = load_with_profile(settings.scenario, overrides)
        super().__init__(spec, profile=profile, seed=settings.seed)


_CLASSES: dict[tuple[str, ...], type[DashboardModel]] = {}


def model_class(powers: list[str], params: Parameters) -> type[DashboardModel]:
    """A DashboardModel subclass whose ``__init__`` takes exactly these powers' levers.

    The signature's defaults only serve SolaraViz's check of the names: every model is built
    with all its lever values given (:func:`build`, or the sidebar's values at Reset)."""
    key = tuple(powers)
    if key not in _CLASSES:
        defaults = levers(params, powers)
        signature = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=spec["value"])
                for name, spec in defaults.items()
            ]
        )

        def __init__(self, **values: Any) -> None:
            DashboardModel.__init__(self, **values)

        __init__.__signature__ = signature  # type: ignore[attr-defined]
        _CLASSES[key] = type(
            f"Multivector{len(_CLASSES)}", (DashboardModel,), {"__init__": __init__}
        )
    return _CLASSES[key]


def build(settings: Lesson) -> DashboardModel:
    """A fresh model of the lesson's scenario with its own lever values (``settings`` must
    be the session's current lesson: the model reads its seed and extra settings there)."""
    spec, _, _ = load_with_profile(settings.scenario, settings.extra)
    params = spec.parameters()
    cls = model_class(list(spec.powers), params)
    return cls(**{name: p["value"] for name, p in levers(params, list(spec.powers)).items()})


current = solara.reactive(None)
"""The running model (per browser session)."""


def running_model() -> DashboardModel:
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
    lesson.value = Lesson(scenario=name, seed=lesson.value.seed)  # what the new model reads
    current.value = build(lesson.value)


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
        lesson.value = _with(problems=[f"error: {p}" for p in problem.problems])
        return
    lesson.value = _with(seed=seed, problems=[])


def set_parameter(text: str) -> None:
    """``path = value`` (the command line's ``--set``), checked against the schema."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        problem = refuse(COMMAND_LINE, "--set", f"{text!r} is not of the form path=value")
        lesson.value = _with(problems=[f"error: {p}" for p in problem.problems])
        return
    if current.value is not None and path in lever_paths(current.value.powers):
        problem = refuse(
            COMMAND_LINE, path, "is a lever: set it with its slider or switch in the sidebar"
        )
        lesson.value = _with(problems=[f"error: {p}" for p in problem.problems])
        return
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
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


# --- charts -------------------------------------------------------------------------------

FULL, DPI = (5.8, 4.1), 90
"""A chart fills one cell of SolaraViz's grid (half the width, about 380 pixels high).
Figures are built with matplotlib's ``Figure`` (no pyplot: nothing to close) and fixed
margins: a constrained layout tripled the time to draw them."""


def trajectories_figure(model: MultivectorModel):
    """Attraction and alignment by power, the scenario's events on the time axis."""
    from sim.results.plots import power_style, years

    ts = model.timeseries()
    first = pd.Timestamp(model.params.run.start)
    last = pd.Timestamp(model.spec.run.end)
    fig = Figure(figsize=FULL, dpi=DPI)
    axes = fig.subplots(2, 1, sharex=True)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.93, bottom=0.08, hspace=0.08)
    for k, power in enumerate(model.powers):
        one = ts[ts["power"] == power]
        when = pd.to_datetime(one["date"])
        style = power_style(power, k)
        axes[0].plot(when, one["attraction"], label=power, **style)
        axes[1].plot(when, one["alignment"], label=power, **style)
    axes[0].set_ylabel("mean attraction")
    axes[1].set_ylabel("alignment share")
    axes[1].axhline(
        model.params.state.dominance_threshold, color="black", linewidth=1, linestyle="--"
    )
    fig.legend(*axes[0].get_legend_handles_labels(), ncols=len(model.powers), fontsize=7,
               loc="upper center", frameon=False)  # fmt: skip
    for ax in axes:
        ax.axvline(pd.Timestamp(model.date), color="0.5", linewidth=1)
        years(ax)
    axes[0].set_xlim(first, last)
    placed: list[tuple[pd.Timestamp, list[str]]] = []  # numbers placed close together
    for number, mark in enumerate(dated_events(model), 1):  # the events on the time axis
        for ax in axes:
            ax.axvline(mark["start"], color="0.3", linewidth=0.8, linestyle=":")
        if placed and (mark["start"] - placed[-1][0]).days < 200:
            placed[-1][1].append(str(number))
        else:
            placed.append((mark["start"], [str(number)]))
    for when, numbers in placed:
        axes[1].annotate(
            ",".join(numbers),
            (when, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            va="bottom",
            fontsize=7,
            color="0.2",
        )
    return fig


def dated_events(model: MultivectorModel) -> list[dict]:
    """The scenario's events after its first month, one mark per label (trends that run
    from the start are in the scenario's description, not on the axis)."""
    from sim.results.plots import event_marks

    first = pd.Timestamp(model.params.run.start)
    return [m for m in event_marks(model.spec.events) if m["start"] > first]


def balance_figure(model: MultivectorModel):
    """The effective number of vectors, and the largest share against the threshold."""
    from sim.results.plots import years

    ts = model.timeseries().drop_duplicates("date")
    when = pd.to_datetime(ts["date"])
    fig = Figure(figsize=(FULL[0], 2.0), dpi=DPI)
    left, right = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.96, bottom=0.12, wspace=0.25)
    left.plot(when, ts["effective_vectors"], color="black", linewidth=2)
    left.set_ylim(1, len(model.powers))
    left.set_ylabel("effective vectors")
    right.plot(when, ts["dominant_share"], color="#D55E00", linewidth=2, label="largest share")
    theta = model.params.state.dominance_threshold
    right.axhline(theta, color="black", linestyle="--", linewidth=1, label=f"threshold {theta}")
    right.set_ylim(0, 1)
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xlim(pd.Timestamp(model.params.run.start), pd.Timestamp(model.spec.run.end))
        years(ax)
    return fig


def groups_figure(model: MultivectorModel):
    """Favourable share by ethnic group and daily language, now."""
    rows = pd.DataFrame(measures.group_rows(model))
    rows = rows[rows["dimension"].isin(["ethnicity", "language"])]
    table = rows.pivot_table(
        index=["dimension", "group"], columns="power", values="favourable", sort=False
    )[model.powers]
    fig = Figure(figsize=FULL, dpi=DPI)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.24, right=0.97, top=0.98, bottom=0.07)
    image = ax.imshow(table.to_numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(model.powers)), model.powers)
    ax.set_yticks(range(len(table)), [f"{g} ({d})" for d, g in table.index], fontsize=8)
    for (r, c), value in np.ndenumerate(table.to_numpy()):
        ax.text(c, r, f"{value:.0%}", ha="center", va="center", fontsize=7,
                color="white" if value < 0.5 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, label=f"favourable share, {model.date} (redrawn yearly)")
    return fig


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
    """What each lever in the sidebar means, from the schema."""
    params = model.spec.parameters()
    for path in lever_paths(model.powers):
        solara.Text(lever_help(params, path), style={"display": "block", "font-size": "0.85rem"})


@solara.component
def Now(model: MultivectorModel):
    """Sentences on what just happened, and the balance of the alignment."""
    from mesa.visualization.utils import update_counter

    update_counter.get()
    with solara.Card("What just happened"):
        for text in sentences(model):
            solara.Text(text, style={"display": "block", "font-size": "1.05rem"})
        solara.FigureMatplotlib(balance_figure(model), dependencies=[update_counter.value])
        events = [
            f"{number} {mark['start']:%Y-%m} {mark['label']}"
            for number, mark in enumerate(dated_events(model), 1)
        ]
        if events:
            solara.Text(
                "Events on the chart: " + " · ".join(events),
                style={"display": "block", "font-size": "0.8rem"},
            )


@solara.component
def Trajectories(model: MultivectorModel):
    from mesa.visualization.utils import update_counter

    update_counter.get()
    solara.FigureMatplotlib(trajectories_figure(model), dependencies=[update_counter.value])


@solara.component
def Groups(model: MultivectorModel):
    """Redrawn once a simulated year: group shares move slowly, and its 52 labels are the
    costliest part of a redraw."""
    from mesa.visualization.utils import update_counter

    update_counter.get()
    year = (id(model), model.date[:4])
    figure = solara.use_memo(lambda: groups_figure(model), dependencies=[year])
    solara.FigureMatplotlib(figure, dependencies=[year])


COMPONENTS = [(Trajectories, 0), (Now, 0), (Groups, 0), (LessonCard, 0)]
"""In SolaraViz's grid: charts on the left, sentences and the lesson card on the right."""


@solara.component
def Page():
    """The whole dashboard: SolaraViz with the levers of the current scenario."""
    import matplotlib
    from mesa.visualization import SolaraViz

    matplotlib.use("Agg")
    model = running_model()
    params = model.spec.parameters()
    SolaraViz(
        current,
        components=COMPONENTS,
        model_params=levers(params, model.powers),
        name=f"multivector: {model.spec.name}",
        play_interval=50,
    ).key(f"{model.spec.name}-{id(type(model))}")
