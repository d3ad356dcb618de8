"""The model from the tools researchers use: the EMA Workbench (levers and uncertainties
from the schema's roles, both evaluators) and Mesa's batch_run; docs/interop.md's recipes
run as written, at the tiny scenario's size."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY

from sim.experiments import ema
from sim.experiments.sweep import Outcome
from sim.inputs.errors import ScenarioError
from sim.inputs.scenario import load_scenario
from sim.inputs.schema import role

workbench = pytest.importorskip("ema_workbench", reason="needs multivector[analysis]")

INTEROP = Path(__file__).parents[1] / "docs" / "interop.md"
UNTIL = "2015-06"
OUTCOMES = [
    Outcome(name="alignment_last", measure="alignment", power="Alpha", at=UNTIL),
    Outcome(name="vectors_mean", measure="effective_vectors", period=("2015-01", UNTIL)),
]
TINY_SETTINGS = f"""
SCENARIO = {str(TINY)!r}
POWER = "Alpha"
UNTIL = {UNTIL!r}
POPULATION = 300
SCENARIOS, POLICIES = 3, 2
"""


def test_levers_and_uncertainties_come_from_the_schema_roles():
    spec = load_scenario(TINY)
    model = ema.model(TINY, uncertainties=["persuasion.rate", "social.degree"], outcomes=OUTCOMES)
    levers = [ema.path_of(p.name) for p in model.levers]
    assert levers == ema.numeric_paths(TINY, "lever")
    assert "state.balance_strength" in levers and "identity.promotion" in levers
    assert {role(spec, p) for p in levers} == {"lever"}
    uncertainties = {p.name: p for p in model.uncertainties}
    assert list(uncertainties) == ["persuasion__rate", "social__degree"]
    assert isinstance(uncertainties["social__degree"], workbench.IntegerParameter)
    assert [o.name for o in model.outcomes] == ["alignment_last", "vectors_mean"]
    balance = next(p for p in model.levers if p.name == "state__balance_strength")
    assert (balance.lower_bound, balance.upper_bound) == (0.1, 10.0)  # the lesson range
    every = ema.numeric_paths(TINY, "uncertainty")
    assert "powers.Beta.efficiency" in every and "run.population" not in every


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"uncertainties": ["state.balance_strength"]}, "has the role 'lever', not 'uncertainty'"),
        ({"uncertainties": ["persuasion.rate"], "levers": ["run.population"]}, "'setting'"),
        ({"uncertainties": ["persuasion.rat"]}, "no parameter 'rat'"),
        ({"uncertainties": {"persuasion.rate": (0.5, 2.0)}}, "within 0 to 1"),
        ({"uncertainties": ["mechanisms.backlash"]}, "not a number"),
        ({"uncertainties": ["persuasion.rate"], "until": "2015-03"}, "outside the run"),
    ],
)
def test_a_wrong_parameter_or_outcome_is_refused_before_anything_runs(arguments, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        ema.model(TINY, outcomes=OUTCOMES, **arguments)


def test_sequential_and_multiprocessing_evaluators_agree():
    model = ema.model(
        TINY,
        uncertainties={"persuasion.rate": (0.05, 0.3)},
        levers={"state.balance_strength": (0.3, 4.0)},
        outcomes=OUTCOMES,
        until=UNTIL,
    )
    samples = {"uncertainty_sampling_kwargs": {"rng": 3}, "lever_sampling_kwargs": {"rng": 4}}
    with workbench.SequentialEvaluator(model) as evaluator:
        experiments, here = evaluator.perform_experiments(scenarios=2, policies=2, **samples)
    with workbench.MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        again, there = evaluator.perform_experiments(scenarios=2, policies=2, **samples)
    columns = ["persuasion__rate", "state__balance_strength"]
    np.testing.assert_array_equal(experiments[columns], again[columns])
    for name in ("alignment_last", "vectors_mean"):
        assert here[name].shape == (4,)
        np.testing.assert_array_equal(here[name], there[name])
    # the outcome is the model's: the same run through the public face gives it
    import sim

    first = experiments.iloc[0]
    run = sim.build(TINY, until=UNTIL, **{c: float(first[c]) for c in columns}).run_to()
    ts = run.timeseries()
    expected = ts.loc[(ts["power"] == "Alpha") & (ts["date"] == UNTIL), "alignment"].iloc[0]
    assert here["alignment_last"][0] == pytest.approx(expected)
    # a stronger balance leaves the leading power less of the alignment
    strong = experiments["state__balance_strength"].to_numpy() > 2.0
    assert here["alignment_last"][strong].max() < here["alignment_last"][~strong].min()


def test_replications_give_one_value_each_from_the_ensemble_seeds():
    # the workbench registers an outcome's kind by its name, for the whole process: an
    # ArrayOutcome needs a name no ScalarOutcome has used
    short = [Outcome(name="alignment_by_seed", measure="alignment", power="Alpha", at="2015-03")]
    model = ema.model(TINY, uncertainties=["persuasion.rate"], levers=[], outcomes=short,
                      until="2015-03", replications=2)  # fmt: skip
    assert isinstance(model, workbench.ReplicatorModel)
    with workbench.SequentialEvaluator(model) as evaluator:
        experiments, results = evaluator.perform_experiments(scenarios=1)
    values = results["alignment_by_seed"]
    assert values.shape == (1, 2) and values[0, 0] != values[0, 1]
    rate = float(experiments["persuasion__rate"].iloc[0])
    import sim

    run = sim.build(TINY, until="2015-03", persuasion__rate=rate)
    spec, profile = run.spec, run.profile
    second = sim.MultivectorModel(spec, profile, until="2015-03", replicate=1).run_to()
    ts = second.timeseries()
    expected = ts.loc[(ts["power"] == "Alpha") & (ts["date"] == "2015-03"), "alignment"]
    assert values[0, 1] == pytest.approx(expected.iloc[0])


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_recipes_of_docs_interop_run_as_written():
    """Every Python block of docs/interop.md, in order, in one namespace, with the settings
    block swapped for the tiny scenario (the EMA recipe on two processes)."""
    blocks = python_blocks(INTEROP.read_text())
    assert blocks[0].startswith("# settings")
    namespace: dict = {"__name__": "__main__"}
    for code in [TINY_SETTINGS, *blocks[1:]]:
        exec(compile(code, str(INTEROP), "exec"), namespace)  # our own docs, not user input
    experiments, results = namespace["experiments"], namespace["results"]
    assert len(experiments) == 3 * 2
    assert results["alignment_last"].shape == (6,)
    assert np.all((results["alignment_last"] > 0) & (results["alignment_last"] < 1))
    assert np.all(results["vectors_mean"] >= 1)
    assert len(namespace["few"]) == 2
    table = namespace["table"]
    assert len(table) == 2 * 2 * 2  # two values of two parameters, two seeds
    assert {"alignment_Alpha", "alignment_Beta", "alignment_Gamma"} <= set(table.columns)
    assert set(table["date"]) == {UNTIL}
    means = table.groupby("state__balance_strength")["dominant_share"].mean()
    assert means[0.5] > means[2.0]  # balancing harder spreads the alignment
    assert 0 <= namespace["box"].coverage <= 1
