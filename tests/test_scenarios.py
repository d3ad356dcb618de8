"""Scenario files: the shipped library, extends, overrides, events, and dead parameters."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny, tiny_model
from pydantic import BaseModel

from sim.inputs import schema
from sim.inputs.scenario import load_scenario, load_with_profile, shipped_scenarios
from sim.inputs.schema import Parameters, get_value
from sim.model.model import MultivectorModel


@pytest.mark.parametrize("name", list(shipped_scenarios()))
def test_every_shipped_scenario_validates_and_runs(name):
    scenario, profile, _ = load_with_profile(name, {"run.population": 500})
    assert scenario.description.strip()
    model = MultivectorModel(scenario, profile).run_to("2016-06")
    assert model.date == "2016-06"


def test_the_default_is_the_baseline():
    assert load_scenario().name == "baseline"


def test_extends_merges_parameters_and_appends_events():
    base = load_scenario("baseline")
    child = load_scenario("post2022_russia_weakening")
    assert child.powers["China"] == base.powers["China"]
    assert child.events[: len(base.events)] == base.events
    assert len(child.events) > len(base.events)


def test_overrides_set_any_parameter_by_path():
    scenario = load_scenario(None, {"state.balance_strength": 0.7, "powers.Turkey.capacity": 9})
    assert scenario.state.balance_strength == 0.7
    assert scenario.powers["Turkey"].capacity == 9.0


def test_set_scale_add_and_ramp_events_change_live_parameters():
    model = tiny_model(**{"mechanisms.adaptation": False})  # the scenario's split stands
    grants = "powers.Gamma.effort.grants"
    assert get_value(model.params, grants) == 1.0
    model.run_to("2016-01")
    assert get_value(model.params, grants) == pytest.approx(0.5)  # scaled
    economy = "powers.Beta.effort.economy"
    # ramp 2015-06 -> 2017-06 toward 2.0; the scenario's own value stays untouched
    assert get_value(model.spec, economy) == 1.0


def test_ramp_reaches_its_target_without_adaptation():
    model = tiny_model(**{"mechanisms.adaptation": False}).run_to("2016-06")
    assert get_value(model.params, "powers.Beta.effort.economy") == pytest.approx(1.5)
    model.run_to("2017-06")
    assert get_value(model.params, "powers.Beta.effort.economy") == pytest.approx(2.0)


def test_a_shock_reaches_only_the_chosen_group():
    model = tiny_model(**{"mechanisms.stochastic_exposure": False})
    pop = model.public.persons
    model.run_to("2016-05")
    before = pop.attraction[:, 0].copy()
    model.step()  # 2016-06: Alpha scandal among ethnic Kazakhs, half of them
    kazakh = pop.ethnicity == pop.labels["ethnicity"].index("Kazakh")
    drop = before - pop.attraction[:, 0]
    assert drop[kazakh].max() > 0.15
    assert drop[~kazakh].max() < 0.05
    assert 0.2 < (drop[kazakh] > 0.15).mean() < 0.8


def test_a_shock_chunk_by_chunk_is_the_rule_on_the_chosen_persons(monkeypatch):
    """Chosen persons and the shock are taken a chunk of persons at a time (small
    temporaries): the chosen are those of the filter's groups (numpy's isin), and exactly
    their attraction moves, as the rule says."""
    from sim.inputs.schema import GroupFilter
    from sim.model import population, rules

    monkeypatch.setattr(population, "CHUNK", 37)
    model = tiny_model(seed=4)
    pop = model.public.persons
    groups = GroupFilter(ethnicity=["Kazakh", "Russian"], area=["urban"])
    expected = np.isin(
        pop.ethnicity, [pop.labels["ethnicity"].index(g) for g in ("Kazakh", "Russian")]
    )
    expected &= pop.urban
    chosen = model.public.members(groups)
    np.testing.assert_array_equal(chosen, expected)
    before = pop.attraction.copy()
    model.public.shock(1, -0.3, chosen)
    after = before.copy()
    after[chosen, 1] = rules.shock(before[chosen, 1].astype(np.float64), -0.3)
    np.testing.assert_array_equal(pop.attraction, after)


def _leaf_fields(model: type[BaseModel], prefix: str = ""):
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _leaf_fields(ann, f"{prefix}{name}.")
        else:
            yield model, name, f"{prefix}{name}"


def test_every_schema_field_is_read_by_the_model(monkeypatch):
    """A parameter the model never reads is a lie to its users: fail on any dead one."""
    read: set[tuple[type, str]] = set()
    classes = (
        {cls for cls, _, _ in _leaf_fields(Parameters)}
        | {cls for cls, _, _ in _leaf_fields(schema.PowerSettings)}
        | {Parameters}
    )

    def recording(self, name):
        cls = type(self)
        if name in cls.model_fields:
            read.add((cls, name))
        return object.__getattribute__(self, name)

    for cls in classes:
        monkeypatch.setattr(cls, "__getattribute__", recording)
    scenario, profile, _ = load_with_profile("baseline", {"run.population": 400})
    model = MultivectorModel(scenario, profile).run_to("2016-12")
    model.public.attitudes(model.params)
    fields = list(_leaf_fields(Parameters))
    fields += list(_leaf_fields(schema.PowerSettings, "powers.<name>."))
    dead = [path for cls, name, path in fields if (cls, name) not in read]
    # the change question is asked of two snapshots, after the run (sim.results.changes)
    dead = [path for path in dead if path != "survey.change_tolerance"]
    assert not dead, f"parameters never read by the model: {dead}"


def test_schema_documents_every_parameter():
    for _, name, path in _leaf_fields(Parameters):
        if path == "powers":
            continue
        cls = next(c for c, n, p in _leaf_fields(Parameters) if p == path)
        info = cls.model_fields[name]
        assert info.description, f"{path} has no description"


def test_tiny_fixture_is_tiny():
    scenario, _ = tiny()
    assert len(scenario.powers) == 3 and scenario.run.population == 300


@pytest.mark.parametrize("document", ["docs/ODD.md", "docs/calibration.md"])
def test_the_generated_tables_of_the_docs_are_current(document):
    """The ODD's parameter table and the calibration's tables are what the code writes."""
    from pathlib import Path

    from sim.app.reference import DOCUMENTS, between

    start, end, table = DOCUMENTS[document]
    text = (Path(__file__).parents[1] / document).read_text()
    assert between(text, start, end) == table(), "run: uv run python -m sim.app.reference"


def test_adaptation_never_leaks_effort_through_a_ramped_channel():
    """A channel held on a ramp is the scenario's; the power adapts its other channels, so
    its total effort never shrinks unless its capacity does (Turkey's culture ramps in the
    baseline, and Turkey starts 10 % below its capacity)."""
    model = MultivectorModel(*load_with_profile("baseline", {"run.population": 1000})[:2])
    turkey = model.power_agents[model.powers.index("Turkey")]
    culture = list(schema.CHANNELS).index("culture")
    start = turkey.effort.sum()
    for _ in range(5 * 12):
        model.step()
        assert turkey.effort.sum() >= start - 1e-9, model.date
    ramp_value = 1.0 + 0.5 * (model.month - schema.month_index("2015-01")) / (21 * 12 - 1)
    assert turkey.effort[culture] == pytest.approx(ramp_value, rel=1e-6)


def test_a_model_is_built_with_the_profile_its_scenario_names():
    """Loading finds the profile the scenario names (not another's); the model itself reads
    no file, so it is given both."""
    import sim
    from sim.inputs.errors import ScenarioError

    with pytest.raises(ScenarioError, match="unknown country profile 'atlantis'"):
        sim.build("baseline", run__population=300, run__profile="atlantis")
    assert sim.build("baseline", run__population=300).profile.name == "Kazakhstan"
    with pytest.raises(TypeError):
        MultivectorModel(sim.load_scenario("baseline"))  # no profile: nothing is loaded
