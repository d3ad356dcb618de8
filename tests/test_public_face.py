"""The public face (``import sim``) and the Mesa conventions the model follows."""

from __future__ import annotations

import subprocess
import sys

import mesa
import numpy as np
import pandas as pd
import pytest
from conftest import TINY, tiny

import sim
from sim.model.agents import Official


def test_the_face_exports_what_it_lists():
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name


def test_importing_the_face_loads_neither_mesa_nor_the_model():
    """``import sim`` stays quick: the model, Mesa and matplotlib load on first use."""
    heavy = "('mesa', 'numba', 'matplotlib')"
    code = f"import sys, sim; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_build_run_and_draw_through_the_face():
    model = sim.build(TINY, seed=4, state__balance_strength=1.5)
    assert isinstance(model, sim.MultivectorModel)
    assert model.params.state.balance_strength == 1.5
    model.run_to("2015-06")
    assert model.date == "2015-06"
    figure = sim.draw("trajectories", sim.load_results(model))
    assert figure.axes and figure._repr_png_()[:4] == b"\x89PNG"


def test_run_and_ensemble_through_the_face_match_the_model():
    result = sim.run(TINY, until="2015-04", run__seed=5)
    model = sim.build(TINY, until="2015-04", seed=5).run_to()
    pd.testing.assert_frame_equal(result.timeseries, model.timeseries())
    ensemble = sim.run_ensemble(TINY, 2, workers=1, until="2015-03")
    assert sorted(ensemble.timeseries["run"].unique()) == [0, 1]
    assert sim.load_results(ensemble).name == "tiny"


def test_a_misspelt_keyword_parameter_is_refused_with_what_is_allowed():
    spec, profile = tiny()
    misspelt = r"unknown key 'balance_strenght'.*balance_strength"
    with pytest.raises(sim.ScenarioError, match=misspelt):
        sim.MultivectorModel(spec, profile, state__balance_strenght=1.0)
    with pytest.raises(sim.ScenarioError, match="less than or equal to 1"):
        sim.MultivectorModel(spec, profile, identity__promotion=3.0)


def test_keyword_parameters_equal_the_same_overrides_in_the_scenario():
    spec, profile = tiny()
    by_keyword = sim.MultivectorModel(spec, profile, powers__Alpha__efficiency=0.3).run_to()
    overridden, _ = tiny(**{"powers.Alpha.efficiency": 0.3})
    by_file = sim.MultivectorModel(overridden, profile).run_to()
    pd.testing.assert_frame_equal(by_keyword.timeseries(), by_file.timeseries())


def test_one_clock_mesa_steps_and_the_date_derived_from_them():
    spec, profile = tiny()
    model = sim.MultivectorModel(spec, profile)
    assert (model.steps, model.date) == (0, "2015-01")
    model.run_until(3)  # Mesa's own: a number of steps
    assert (model.steps, model.date) == (3, "2015-04")
    model.run_for(2)
    model.run_to("2015-12")  # ours: a date
    assert (model.steps, model.date) == (11, "2015-12")
    assert list(model.timeseries()["step"].unique()) == list(range(12))
    short = sim.MultivectorModel(spec, profile, until="2015-03").run_to()
    with pytest.raises(RuntimeError, match="the run ends at 2015-03"):
        short.run_for(1)  # no silent months past the run's end


def test_officials_are_an_agent_set():
    spec, profile = tiny()
    model = sim.MultivectorModel(spec, profile)
    assert isinstance(model.officials, mesa.agent.AgentSet)
    assert len(model.officials) == model.params.run.officials
    assert all(isinstance(o, Official) for o in model.officials)
    np.testing.assert_allclose(model.reports().sum(axis=1), 1.0)


def test_mesa_batch_run_varies_a_nested_parameter():
    spec, profile = tiny()
    rows = mesa.batch_run(
        sim.MultivectorModel,
        parameters={
            "spec": [spec],  # batch_run sweeps any iterable: a fixed object goes in a list
            "profile": [profile],
            "state__balance_strength": [0.2, 5.0],
        },
        rng=[7],
        max_steps=6,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    table = pd.DataFrame(rows)
    assert sorted(table["state__balance_strength"]) == [0.2, 5.0]
    assert (table["Step"] == 6).all()
    weak, strong = (
        table.set_index("state__balance_strength").loc[value, "dominant_share"]
        for value in (0.2, 5.0)
    )
    assert weak > strong  # a weaker balance lets one power take more of the alignment


def test_solaraviz_checks_and_resets_the_model_with_a_nested_parameter():
    """What Mesa's SolaraViz does with a model (its own functions): it checks the model
    parameters against the model's signature, then rebuilds the model at Reset, passing Mesa's
    Scenario too. A nested lever arrives as a keyword and takes effect."""
    from mesa.visualization import solara_viz

    spec, profile = tiny()
    model = sim.MultivectorModel(spec, profile)
    params = {
        "spec": spec,
        "profile": profile,
        "state__balance_strength": {"type": "SliderFloat", "value": 0.7, "min": 0.1, "max": 10},
    }
    solara_viz._check_model_params(model, params)
    chosen = {"spec": spec, "profile": profile, "state__balance_strength": 0.7}
    kwargs = solara_viz._build_model_init_kwargs(
        model, chosen, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    rebuilt = type(model)(**kwargs)
    assert type(rebuilt) is sim.MultivectorModel
    assert rebuilt.params.state.balance_strength == 0.7
