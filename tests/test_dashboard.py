"""The dashboard's components, rendered with Solara's own test tools (no browser).

Solara's sidebar is a portal that ``solara.render`` does not show, so the sidebar's parts are
rendered one by one: the lesson picker, the controls (Play, Step, Reset) and the levers.
"""

from __future__ import annotations

import time

import ipyvuetify as v
import ipywidgets
import matplotlib.dates as mdates
import pandas as pd
import pytest
import solara
from conftest import TINY
from mesa.visualization.solara_viz import _check_model_params, split_model_params
from pydantic import BaseModel
from test_cli import cli

from sim.app import dashboard
from sim.inputs.scenario import load_with_profile, shipped_scenarios
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
    dashboard.chosen.value = {}
    dashboard.playing.value = False
    yield
    dashboard.playing.value = False
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


def sliders(rc) -> dict[str, v.Slider]:
    return {s.widget.attributes["data-lever"]: s.widget for s in rc.find(v.Slider)}


def texts(rc) -> list[str]:
    return [str(w.widget.children[0]) for w in rc.find(v.Html) if w.widget.children]


def test_the_levers_are_built_from_the_schema_in_plain_words():
    model = small()
    params = model.spec.parameters()
    rc = render(dashboard.Levers(model))
    slid = sliders(rc)
    boxes = [c.widget.label for c in rc.find(v.Checkbox)]
    lines = texts(rc)
    offered = offered_paths(params)
    switches = {p for p in offered if p.startswith("mechanisms.")}
    assert {k.replace("__", ".") for k in slid} | switches == offered
    assert len(boxes) == len(Mechanisms.model_fields)
    for path in offered:
        extra = resolve(params, path)[2].json_schema_extra
        assert extra.get("label"), f"{path} has no plain label in the schema"
        value = dashboard.get_value(params, path)
        name = dashboard.plain_label(params, path)
        if isinstance(value, bool):
            assert f"{name}: on" in boxes
            continue
        widget = slid[path.replace(".", "__")]
        assert (widget.min, widget.max) == tuple(extra["lesson"])
        assert widget.v_model == pytest.approx(value)
        said = dashboard.shown(params, path, value)
        assert f"{name}: {said}" in lines  # plain label, value and unit
        if extra.get("unit"):
            assert extra["unit"] in said
    assert "How strongly officials balance the powers: 2.50" in lines
    assert "West: how much it can spend on soft power: 8.00 (2015 level)" in lines
    shown = " ".join(lines)
    assert "slider 0.1 to 10 (scenarios may use 0.001 to 100" in shown  # the range, and why
    assert "lambda" not in shown and "theta" not in shown and "λ: penalty" in shown
    order = [role(params, path) for path in dashboard.lever_paths(params)]
    assert order == sorted(order, key=ROLES.index)  # grouped by role in the sidebar
    headings = [t for t in lines if t in dashboard.ROLE_HEADINGS.values()]
    assert headings == [dashboard.ROLE_HEADINGS[r] for r in ROLES]
    help_card = render(dashboard.LeverHelp(model))  # shown in the settings card on demand
    help_lines = texts(help_card)
    for path in offered:  # each lever's help is the schema's own, made plain
        _, _, info = resolve(params, path)
        name = dashboard.plain_label(params, path)
        line = next(k for k, text in enumerate(help_lines) if text.startswith(f"{name}: "))
        assert dashboard.plain(info.description) in help_lines[line]
        if info.json_schema_extra.get("unit"):
            assert f"[{info.json_schema_extra['unit']}]" in help_lines[line]
        assert "source: " in help_lines[line]
        heading = next(
            t for t in reversed(help_lines[:line]) if t in dashboard.ROLE_HEADINGS.values()
        )
        assert heading == dashboard.ROLE_HEADINGS[role(params, path)]
    assert "pattern P7 in docs/ODD.md" in " ".join(help_lines)


def test_a_slider_rounding_a_value_is_not_a_move():
    model = small()
    levers = render(dashboard.Levers(model))
    shipped = model.spec.powers["West"].efficiency
    rounded = round(shipped, 2)  # what the slider shows and sends back
    assert rounded != shipped
    sliders(levers)["powers__West__efficiency"].v_model = rounded - 0.0001
    assert dashboard.chosen.value == {}
    sliders(levers)["powers__West__efficiency"].v_model = 0.5
    assert dashboard.chosen.value == {"powers__West__efficiency": 0.5}
    sliders(levers)["powers__West__efficiency"].v_model = rounded  # moved back
    assert dashboard.chosen.value == {}


def controls():
    return render(dashboard.Controls(dashboard.running_model()))


def button(rc, name: str):
    return rc.find(v.Btn, children=[name]).widget


def test_the_model_is_the_plain_model_with_fixed_and_lever_parameters():
    model = small()
    assert type(model) is MultivectorModel
    params = dashboard.model_params(dashboard.lesson.value, model)
    user, fixed = split_model_params(params)
    assert set(fixed) == {"spec", "profile", "seed"}
    assert set(user) == set(dashboard.levers(model.spec.parameters()))
    assert fixed["spec"].run.population == 1000  # the lesson card's settings applied
    _check_model_params(model, params)  # in SolaraViz's form: what it checks passes
    assert not hasattr(dashboard, "DashboardModel") and not hasattr(dashboard, "model_class")


def test_step_advances_the_model_and_the_month_is_a_date():
    model = small()
    buttons = controls()
    assert "Month: 2015-01" in texts(buttons)
    button(buttons, "Step one month").click()
    button(buttons, "Step one month").click()
    assert dashboard.current.value is model
    assert "Month: 2015-03" in texts(buttons)
    assert not any("Time" in text for text in texts(buttons))
    assert model.date == "2015-03" and len(model.timeseries()) == 3 * len(model.powers)


def test_reset_rebuilds_the_model_with_the_moved_slider():
    model = small()
    buttons, levers = controls(), render(dashboard.Levers(model))
    button(buttons, "Step one month").click()
    sliders(levers)["state__balance_strength"].v_model = 0.5  # the teacher drags the slider
    label = "Hostile words and incidents lower attraction: on"
    levers.find(v.Checkbox, label=label).widget.v_model = False
    assert "now running with 2.50" in texts(levers)
    assert "Levers moved: press Reset to start again with them." in texts(buttons)
    assert model.params.state.balance_strength == 2.5  # not before Reset
    button(buttons, "Reset").click()
    rebuilt = dashboard.current.value
    assert type(rebuilt) is MultivectorModel
    assert rebuilt is not model and rebuilt.date == "2015-01"
    assert rebuilt.params.state.balance_strength == 0.5
    assert rebuilt.params.mechanisms.backlash is False
    assert rebuilt.params.run.population == 1000  # the lesson card's settings are kept


def test_reset_with_a_power_lever_sets_that_power_only():
    model = small()
    before = {p: s.efficiency for p, s in model.params.powers.items()}
    params = dashboard.model_params(dashboard.lesson.value, model)
    label = params["powers__West__efficiency"]["label"]
    assert label == "West: how much of its effort reaches people"
    buttons, levers = controls(), render(dashboard.Levers(model))
    sliders(levers)["powers__West__efficiency"].v_model = 0.4
    button(buttons, "Reset").click()
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
    dashboard.set_seed("minus one")  # refused
    assert dashboard.lesson.value.setup() == before
    dashboard.set_seed("7")
    assert dashboard.lesson.value.setup() != before
    assert dashboard.current.value is model  # kept until Reset
    button(controls(), "Reset").click()
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


def test_the_scenario_picker_switches_and_refuses_a_bad_file(tmp_path, monkeypatch):
    monkeypatch.setenv(dashboard.FOLDER_ENV, str(tmp_path))  # multivector dashboard --scenarios
    model = small()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[run]\nstart = "2015-13"\n')
    assert str(bad) in dashboard.scenario_choices()
    dashboard.choose_scenario(str(bad))
    assert any("bad.toml:3: run.start" in p for p in dashboard.lesson.value.problems)
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


def test_the_lessons_are_data_each_a_shipped_scenario_and_a_question():
    plans = dashboard.lesson_plans()
    assert len(plans) >= 6
    scenarios = {plan.scenario for plan in plans}
    assert {"post2022_russia_weakening", "china_charm_offensive", "western_disengagement",
            "hostile_russian_rhetoric", "national_identity_first",
            "no_multivector_balancing"} <= scenarios  # fmt: skip
    for plan in plans:
        assert plan.scenario in shipped_scenarios()
        assert plan.question.endswith("?") and "  " not in plan.question
        load_with_profile(plan.scenario, {"run.population": plan.population})
    assert "lessons" not in shipped_scenarios()  # the lessons file is not a scenario
    terms = " ".join(term for term, _ in dashboard.glossary())
    for term in ("attraction", "favourable", "alignment", "effective number of vectors",
                 "λ", "θ"):  # fmt: skip
        assert term in terms


def test_picking_a_lesson_loads_its_scenario_and_shows_its_question():
    small()
    plan = dashboard.lesson_plans()[1]
    picker = render(dashboard.LessonPicker(dashboard.running_model()))
    picker.find(v.Select).widget.v_model = plan.name
    model = dashboard.current.value
    assert model.spec.name == plan.scenario and model.date == "2015-01"
    assert model.params.run.population == plan.population
    assert dashboard.lesson.value.plan == plan.name
    render(dashboard.LessonPicker(model))  # its question (in Markdown): the browser test
    render(dashboard.Glossary())
    dashboard.choose_lesson("no such lesson")  # ignored
    assert dashboard.current.value is model


def test_the_command_opens_a_scenario_as_its_lesson(monkeypatch):
    monkeypatch.setenv(dashboard.SCENARIO_ENV, "no_multivector_balancing")
    assert dashboard.opening().plan == "No balancing"
    monkeypatch.setenv(dashboard.SCENARIO_ENV, "baseline")
    assert dashboard.opening().plan is None


def test_play_runs_to_the_end_redrawing_every_few_months():
    # the tiny scenario's three years here (the browser test plays a lesson's whole run)
    dashboard.lesson.value = dashboard.Lesson(scenario=str(TINY))
    dashboard.running_model()
    buttons = controls()
    charts = [render(component(dashboard.running_model())) for component in dashboard.CHARTS]
    drawn = dashboard.drawn.value
    button(buttons, "Play").click()
    assert button(buttons, "Pause")
    deadline = time.time() + 120
    while dashboard.playing.value and time.time() < deadline:
        time.sleep(0.1)
    model = dashboard.current.value
    assert model.date == "2017-12" and not model.running
    frames = dashboard.drawn.value - drawn
    assert 1 <= frames <= 35 // dashboard.MONTHS_PER_DRAW + 1  # not every month
    assert "The run has reached 2017-12. Reset to run it again." in texts(buttons)
    assert button(buttons, "Play").disabled
    assert charts


def test_months_per_draw_keeps_a_run_within_its_time():
    assert dashboard.months_per_draw(0.1, 252) == dashboard.MONTHS_PER_DRAW
    slow = dashboard.months_per_draw(2.0, 252)
    assert 252 / slow * 2.0 <= dashboard.PLAY_SECONDS


def test_share_axes_span_0_to_1_as_on_the_command_line():
    model = small()
    model.run_to("2016-06")
    for kind in ("trajectories", "balance"):
        for ax in dashboard.chart(model, kind).axes:
            if dashboard.SHARE in ax.get_ylabel().replace("\n", " "):
                assert ax.get_ylim() == (0, 1)


def test_the_page_opens_no_file_outside_its_folder(tmp_path, monkeypatch):
    """Anyone who reaches the page could type a path: it opens the shipped scenarios and
    the files of the folder named at start, reads nothing else, and quotes nothing of it."""
    folder, elsewhere = tmp_path / "lessons", tmp_path / "private"
    folder.mkdir(), elsewhere.mkdir()
    secret = elsewhere / "secret.toml"
    secret.write_text('name = "s"\ndescription = "s"\npassword = "hunter2"\n')
    monkeypatch.setenv(dashboard.FOLDER_ENV, str(folder))
    model = small()
    for path in (secret, folder / ".." / "private" / "secret.toml", "/etc/hostname"):
        dashboard.choose_scenario(str(path))
        said = " ".join(dashboard.lesson.value.problems)
        assert "this page opens the shipped scenarios and files in" in said
        assert "hunter2" not in said and "password" not in said
        assert dashboard.current.value is model
    dashboard.set_parameter(f"run.profile = {str(secret)!r}")
    assert "this page takes a shipped profile: kazakhstan" in str(dashboard.lesson.value.problems)
    monkeypatch.delenv(dashboard.FOLDER_ENV)
    dashboard.choose_scenario(str(folder / "anything.toml"))
    assert "no files (start with --scenarios DIR)" in str(dashboard.lesson.value.problems)


def test_only_loopback_addresses_count_as_this_computer():
    from sim.app.cli import _loopback

    assert all(map(_loopback, ("127.0.0.1", "localhost", "::1", "127.0.0.2")))
    assert not any(map(_loopback, ("0.0.0.0", "192.168.1.5", "example.org", "::")))
