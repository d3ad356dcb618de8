"""The dashboard's components, rendered with Solara's own test tools (no browser).

Mesa's SolaraViz lays its sidebar out in portals that ``solara.render`` does not show, so its
parts are tested one by one: the levers (Mesa's ModelCreator fed by our schema-built
parameters), play/step/reset (Mesa's ModelController on our model), and our own cards.
"""

from __future__ import annotations

import ipyvuetify as v
import ipywidgets
import matplotlib.dates as mdates
import pandas as pd
import pytest
import solara
from mesa.visualization.solara_viz import (
    ModelController,
    ModelCreator,
    _check_model_params,
    split_model_params,
)
from pydantic import BaseModel
from test_cli import cli

from sim.app import dashboard
from sim.inputs.schema import ROLES, Mechanisms, resolve, role
from sim.model.model import MultivectorModel
from sim.results import plots
from sim.results.saved import from_model

OPEN: list = []


def render(component):
    """``solara.render``, closed when the test ends (before the next test resets the
    session's reactive values, which live components would otherwise react to)."""
    _, rc = solara.render(component, handle_error=False)
    OPEN.append(rc)
    return rc


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts as a new browser session would: the baseline, no model yet."""
    dashboard.lesson.value = dashboard.Lesson()
    dashboard.current.value = None
    yield
    while OPEN:
        OPEN.pop().close()


def small():
    """The baseline at 1,000 persons, so that a reset is quick."""
    dashboard.lesson.value = dashboard.Lesson(extra={"run.population": 1000})
    return dashboard.running_model()


def offered_paths(params) -> set[str]:
    """What a lesson should offer, read from the schema's fields here (not through the
    dashboard's code): every field with a ``lesson`` range (a power's for every power), and
    every mechanism's switch."""
    found = {f"mechanisms.{m}" for m in Mechanisms.model_fields}

    def walk(model, prefix):
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
            elif name == "powers":
                for power, settings in value.items():
                    walk(settings, f"{prefix}powers.{power}.")
            elif "lesson" in (info.json_schema_extra or {}):
                found.add(f"{prefix}{name}")

    walk(params, "")
    return found


def test_the_levers_are_built_from_the_schema():
    model = small()
    params = model.spec.parameters()
    rc = render(ModelCreator(dashboard.current, dashboard.levers(params)))
    sliders = {s.widget.label: s.widget for s in rc.find(v.Slider)}
    boxes = {c.widget.label: c.widget for c in rc.find(v.Checkbox)}
    assert set(boxes) == {f"mechanisms.{m}" for m in Mechanisms.model_fields}
    assert set(sliders) | set(boxes) == offered_paths(params)
    for power in model.powers:  # a power's levers for every power
        assert {f"powers.{power}.capacity", f"powers.{power}.efficiency"} <= set(sliders)
    assert {"state.balance_strength", "state.screening", "identity.promotion"} <= set(sliders)
    for path, widget in sliders.items():
        low, high = resolve(params, path)[2].json_schema_extra["lesson"]
        assert (widget.min, widget.max) == (low, high)
        assert widget.v_model == pytest.approx(dashboard.get_value(params, path))
    labels = [*sliders, *boxes]
    order = [role(params, path) for path in dashboard.lever_paths(params)]
    assert order == sorted(order, key=ROLES.index)  # grouped by role in the sidebar
    help_card = render(dashboard.LeverHelp(model))  # shown in the lesson card on demand
    lines = [str(w.widget.children[0]) for w in help_card.find(v.Html) if w.widget.children]
    shown = " ".join(lines)
    for path in labels:  # each lever's help is the schema's own, under its role's heading
        _, _, info = resolve(params, path)
        line = next(k for k, text in enumerate(lines) if text.startswith(f"{path}: "))
        assert lines[line].startswith(f"{path}: {info.description}")
        if info.json_schema_extra.get("unit"):
            assert f"[{info.json_schema_extra['unit']}]" in lines[line]
        assert f"source: {info.json_schema_extra['source']}" in lines[line]
        heading = next(t for t in reversed(lines[:line]) if t in dashboard.ROLE_HEADINGS.values())
        assert heading == dashboard.ROLE_HEADINGS[role(params, path)]
    assert "The state's levers" in shown and "What the powers do" in shown


def controller(values):
    return ModelController(
        dashboard.current,
        model_parameters=values,
        play_interval=solara.reactive(50),
        render_interval=solara.reactive(1),
        use_threads=solara.reactive(False),
    )


def sidebar():
    """The sidebar's levers and buttons as SolaraViz builds them, sharing one reactive of
    model parameters; returns the model parameters given to SolaraViz and both parts."""
    params = dashboard.model_params(dashboard.lesson.value, dashboard.running_model())
    values = solara.reactive({})
    creator = render(ModelCreator(dashboard.current, params, model_parameters=values))
    return params, creator, render(controller(values))


def test_the_model_is_the_plain_model_with_fixed_and_lever_parameters():
    model = small()
    assert type(model) is MultivectorModel
    params = dashboard.model_params(dashboard.lesson.value, model)
    user, fixed = split_model_params(params)
    assert set(fixed) == {"spec", "profile", "seed"}
    assert set(user) == set(dashboard.levers(model.spec.parameters()))
    assert fixed["spec"].run.population == 1000  # the lesson card's settings applied
    _check_model_params(model, params)  # what SolaraViz checks: no error
    assert not hasattr(dashboard, "DashboardModel") and not hasattr(dashboard, "model_class")


def test_step_advances_the_model():
    model = small()
    _, _, buttons = sidebar()
    buttons.find(v.Btn, children=["Step"]).widget.click()
    buttons.find(v.Btn, children=["Step"]).widget.click()
    assert dashboard.current.value is model
    assert model.date == "2015-03" and len(model.timeseries()) == 3 * len(model.powers)


def test_reset_rebuilds_the_model_with_the_moved_slider():
    model = small()
    params, creator, buttons = sidebar()
    buttons.find(v.Btn, children=["Step"]).widget.click()
    slider = creator.find(v.Slider, label=params["state__balance_strength"]["label"]).widget
    slider.v_model = 0.5  # the teacher drags the slider
    box = creator.find(v.Checkbox, label=params["mechanisms__backlash"]["label"]).widget
    box.v_model = False
    buttons.find(v.Btn, children=["Reset"]).widget.click()
    rebuilt = dashboard.current.value
    assert type(rebuilt) is MultivectorModel  # SolaraViz rebuilt the plain model
    assert rebuilt is not model and rebuilt.date == "2015-01"
    assert rebuilt.params.state.balance_strength == 0.5
    assert rebuilt.params.mechanisms.backlash is False
    assert rebuilt.params.run.population == 1000  # the lesson card's settings are kept


def test_reset_with_a_power_lever_sets_that_power_only():
    model = small()
    before = {p: s.efficiency for p, s in model.params.powers.items()}
    params, creator, buttons = sidebar()
    assert params["powers__West__efficiency"]["label"] == "powers.West.efficiency"
    creator.find(v.Slider, label="powers.West.efficiency").widget.v_model = 0.4
    buttons.find(v.Btn, children=["Reset"]).widget.click()
    rebuilt = dashboard.current.value
    assert type(rebuilt) is MultivectorModel and rebuilt is not model
    assert rebuilt.params.powers["West"].efficiency == 0.4
    assert rebuilt.spec.powers["West"].efficiency == 0.4
    assert {p: s.efficiency for p, s in rebuilt.params.powers.items() if p != "West"} == {
        p: e for p, e in before.items() if p != "West"
    }


def test_a_seed_from_the_lesson_card_is_used_at_the_next_reset():
    model = small()
    before = dashboard.lesson.value.setup()
    dashboard.set_seed("minus one")  # refused: SolaraViz is not rebuilt
    assert dashboard.lesson.value.setup() == before
    dashboard.set_seed("7")
    assert dashboard.lesson.value.setup() != before  # SolaraViz is rebuilt with it (its key)
    assert dashboard.current.value is model  # kept until Reset
    _, _, buttons = sidebar()  # the sidebar as rebuilt for the new lesson settings
    buttons.find(v.Btn, children=["Reset"]).widget.click()
    assert dashboard.current.value.params.run.seed == 7


def type_into(rc, label_start: str, text: str) -> None:
    field = next(f.widget for f in rc.find(v.TextField) if f.widget.label.startswith(label_start))
    field.v_model = text
    field.fire_event("keyup.enter", None)  # as if the teacher pressed Enter


def test_an_invalid_value_gets_the_command_lines_message_and_the_model_is_kept():
    model = small()
    model.step()
    rc = render(dashboard.LessonCard(model))
    type_into(rc, "set a parameter", "backlash.strength = 5")
    errors = [e.widget.children[0] for e in rc.find(v.Alert) if e.widget.type == "error"]
    done = cli("run", "--set", "backlash.strength=5", "--population", "200", "--quiet")
    assert done.returncode == 2
    assert errors == [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert dashboard.current.value is model and model.date == "2015-02"
    type_into(rc, "set a parameter", "backlash.strength 5")  # read as --set reads it
    errors = [e.widget.children[0] for e in rc.find(v.Alert) if e.widget.type == "error"]
    done = cli("run", "--set", "backlash.strength 5", "--population", "200", "--quiet")
    assert done.returncode == 2
    assert errors == [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: command line: --set: 'backlash.strength 5' is not of the form path=value"
    ]
    type_into(rc, "seed", "minus one")
    assert "--seed: 'minus one' is not a whole number" in str(dashboard.lesson.value.problems)
    type_into(rc, "set a parameter", "state.balance_strength = 0.5")
    assert "is a lever: set it with its slider" in str(dashboard.lesson.value.problems)
    type_into(rc, "set a parameter", "backlash.strength = 0.5")
    assert dashboard.lesson.value.problems == []
    assert dashboard.lesson.value.extra["backlash.strength"] == 0.5


def test_the_scenario_picker_switches_and_refuses_a_bad_file(tmp_path):
    model = small()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[run]\nstart = "2015-13"\n')
    dashboard.choose_scenario(str(bad))
    assert any("bad.toml" in p for p in dashboard.lesson.value.problems)
    assert dashboard.current.value is model
    dashboard.choose_scenario("post2022_russia_weakening")
    assert dashboard.current.value.spec.name == "post2022_russia_weakening"
    assert dashboard.lesson.value.problems == []


def test_charts_and_sentences_render_and_follow_the_model():
    dashboard.lesson.value = dashboard.Lesson(
        extra={"run.population": 500, "mechanisms.balancing": False}
    )
    model = dashboard.running_model()
    for component in (dashboard.Trajectories, dashboard.Now, dashboard.Groups):
        rc = render(component(model))
        assert rc.find(ipywidgets.Image).widget.value  # a drawn figure
    for _ in range(3):
        model.step()
    rc = render(dashboard.Now(model))
    text = " ".join(str(w.widget.children) for w in rc.find(v.Html))
    assert "2015-04" in text  # says where the run is now


def test_the_charts_are_the_command_lines_figures_over_the_whole_run():
    model = small()
    model.run_to("2015-03")
    figure = dashboard.chart(model, "trajectories")
    reference = plots.trajectories(from_model(model), model.date)
    assert [ax.get_ylabel() for ax in figure.axes] == [ax.get_ylabel() for ax in reference.axes]
    span = tuple(mdates.date2num(pd.Timestamp(d)) for d in ("2015-01", model.params.run.end))
    for kind in ("trajectories", "balance"):  # lines grow across a fixed axis
        for ax in dashboard.chart(model, kind).axes:
            assert ax.get_xlim() == pytest.approx(span)
    # The heatmap is the model's own yearly group table: the start's until December.
    assert "by group, 2015-01" in dashboard.chart(model, "groups").axes[0].get_title()
    model.run_to("2015-12")
    assert dashboard.last_groups(model) == "2015-12"
    assert "by group, 2015-12" in dashboard.chart(model, "groups").axes[0].get_title()


class Stub:
    """Just what :func:`dashboard.sentences` reads from a model."""

    def __init__(self, alignment: dict[str, list[float]]):
        from sim.inputs.schema import Parameters

        self.powers = list(alignment)
        months = len(next(iter(alignment.values())))
        dates = [f"2020-{m + 1:02d}" for m in range(months)]
        rows = []
        for k, date in enumerate(dates):
            shares = {p: alignment[p][k] for p in self.powers}
            top = max(shares, key=shares.get)
            for p in self.powers:
                rows.append(
                    {
                        "date": date,
                        "power": p,
                        "alignment": shares[p],
                        "dominant_share": shares[top],
                        "dominant_power": top,
                        "effective_vectors": 1 / sum(s * s for s in shares.values()),
                    }
                )
        self.frame = pd.DataFrame(rows)
        self.date = dates[-1]
        self.params = Parameters.model_validate(
            dashboard.load_with_profile("baseline")[0].parameters().model_dump()
        )

    def timeseries(self):
        return self.frame


def test_sentences_say_which_alignment_fell_below_which_and_when():
    stub = Stub({"Russia": [0.40, 0.36, 0.30, 0.29], "China": [0.30, 0.33, 0.35, 0.36],
                 "West": [0.30, 0.31, 0.35, 0.35]})  # fmt: skip
    said = dashboard.sentences(stub)
    assert said[0].startswith("2020-04: the effective number of vectors is")
    assert "Russia's alignment fell below China's in 2020-03." in said
    assert "Russia's alignment fell below West's in 2020-03." in said


def test_sentences_report_the_dominance_threshold():
    stub = Stub(
        {"Russia": [0.35, 0.45, 0.50], "China": [0.35, 0.30, 0.25], "West": [0.30, 0.25, 0.25]}
    )
    assert any(
        "passed the dominance threshold (0.40) in 2020-02" in s for s in dashboard.sentences(stub)
    )
