"""Events a power's capacity cuts are reported (docs/scenarios.md, "When an event is cut"):
by the model, by `run` (standard error and the manifest) and by `check`."""

from __future__ import annotations

import json

import pytest
from conftest import TINY, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.inputs.scenario import load_with_profile, shipped_scenarios
from sim.model.model import MultivectorModel

TOO_MUCH = """
[[events]]
date = "2015-06"
label = "Alpha floods the schools"
action = "set"
path = "powers.Alpha.effort.education"
value = 5.0
"""
IDLE_ROOM = """
[[events]]
date = "2015-06"
label = "Gamma gets a budget it never spends"
action = "set"
path = "powers.Gamma.capacity"
value = 12.0
"""


def _scenario(tmp_path, *events: str):
    path = tmp_path / "cut.toml"
    path.write_text(TINY.read_text() + "".join(events))
    return path


def test_an_effort_the_capacity_cuts_is_reported_with_how_much_got_through(tmp_path):
    spec, profile, _ = load_with_profile(_scenario(tmp_path, TOO_MUCH))
    warnings = MultivectorModel(spec, profile, until="2015-08").run_to().cut_events()
    assert len(warnings) == 1
    assert "Alpha floods the schools" in warnings[0] and "2015-06" in warnings[0]
    assert "% of the change" in warnings[0] and "raise its capacity too" in warnings[0]


def test_a_capacity_that_never_binds_is_reported_and_one_that_does_is_not(tmp_path):
    spec, profile, _ = load_with_profile(_scenario(tmp_path, IDLE_ROOM))
    warnings = MultivectorModel(spec, profile).run_to().cut_events()
    assert len(warnings) == 1 and "never spends" in warnings[0]
    used = IDLE_ROOM.replace("value = 12.0", "value = 12.0\n") + TOO_MUCH.replace(
        "Alpha", "Gamma"
    ).replace("floods the schools", "spends it")
    spec, profile, _ = load_with_profile(_scenario(tmp_path, used))
    assert MultivectorModel(spec, profile).run_to().cut_events() == []


def test_run_warns_and_records_the_cut_in_the_manifest(tmp_path):
    scenario = _scenario(tmp_path, TOO_MUCH)
    done = invoke("run", scenario, "--out", tmp_path / "out", "--quiet")
    assert done.exit_code == 0, done.output
    assert "warning:" in done.stderr and "Alpha floods the schools" in done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["event_warnings"]) == 1


def test_check_warns_without_failing(tmp_path):
    done = invoke("check", _scenario(tmp_path, TOO_MUCH))
    assert done.exit_code == 0, done.output
    assert "ok" in done.stdout and "Alpha floods the schools" in done.stderr
    clean = invoke("check", TINY)
    assert clean.exit_code == 0 and "warning" not in clean.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", list(shipped_scenarios()))
def test_no_shipped_scenario_holds_an_event_its_capacity_silences(name):
    spec, profile, _ = load_with_profile(name, {"run.population": 300})
    assert MultivectorModel(spec, profile, tables=False).run_to().cut_events() == []


def test_a_capacity_cut_still_on_its_way_down_is_not_reported_before_its_end():
    """The baseline ramps Russia's capacity down to where it binds by 2035: a run that stops
    in 2015-02 has not seen it bind, and says nothing of it; a run to the ramp's end would
    (the slow test above checks that the shipped ramp does bind)."""
    spec, profile, _ = load_with_profile("baseline", {"run.population": 300})
    model = MultivectorModel(spec, profile, tables=False, until="2015-02").run_to()
    effects = [e for e in model.events.effects.values() if e.capacity]
    assert effects and all(e.share < 0.1 for e in effects)  # it has not bound yet ...
    assert model.cut_events() == []  # ... and the ramp is not over: no warning


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.sampled_from("abc")),
        max_size=5,
    ),
    st.lists(st.integers(-5, 40), min_size=1, max_size=30),
)
def test_the_paths_held_are_the_ramps_of_the_month_asked_in_any_order(ramps, months):
    """EventSchedule.held keeps its set for the months until a ramp starts or ends: asked
    in any order, it is each month's ramps' paths."""
    from sim.inputs.schema import RampEvent, SetEvent, month_index, month_name
    from sim.model.events import EventSchedule

    start = month_index("2015-01")
    events = [
        RampEvent(
            action="ramp",
            path=f"powers.{path}.capacity",
            value=1.0,
            date=month_name(start + min(a, b)),
            until=month_name(start + max(a, b) + 1),
        )
        for a, b, path in ramps
    ]
    events.append(SetEvent(action="set", path="state.screening", value=0.5, date="2015-03"))
    schedule = EventSchedule(events)
    for offset in months:
        month = start + offset
        expected = {
            e.path
            for e in events
            if isinstance(e, RampEvent) and month_index(e.date) <= month <= month_index(e.until)
        }
        assert schedule.held(month) == expected
