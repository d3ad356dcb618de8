"""Scenario discovery (``multivector analyze --method prim``) on a sweep whose answer is
known: in the tiny scenario a weak balance lets one power take most of the alignment, and
the tolerance of the survey's change question (read only by the change table, never by the
model) changes nothing."""

from __future__ import annotations

import importlib.util
import shutil

import pandas as pd
import pytest
from conftest import TINY, assert_refused, invoke

from sim.experiments import discovery
from sim.inputs.errors import ScenarioError

pytest.importorskip("ema_workbench", reason="needs multivector[analysis]")

SWEEP = """
name = "tiny_prim"
scenario = "tiny.toml"
until = "2016-06"

[parameters]
"state.balance_strength" = { low = 0.2, high = 2.5 }
"survey.change_tolerance" = { low = 0.05, high = 0.3 }

[design]
method = "lhs"
samples = 64
seed = 11

[[outcomes]]
name = "dominant_share_end"
measure = "dominant_share"
at = "2016-06"
"""
CONDITION = "dominant_share_end > 0.5"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The sweep run once (64 runs of a year and a half, in this process)."""
    here = tmp_path_factory.mktemp("prim")
    shutil.copy(TINY, here / "tiny.toml")
    (here / "sweep.toml").write_text(SWEEP)
    out = here / "out"
    result = invoke("sweep", here / "sweep.toml", "--out", out, "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    return out


def test_the_box_restricts_balance_to_low_values_and_leaves_the_irrelevant_parameter(sweep):
    result = invoke("analyze", sweep, "--method", "prim", "--condition", CONDITION)
    assert result.exit_code == 0, result.output
    assert "coverage" in result.stdout and "density" in result.stdout
    assert "state.balance_strength" in result.stdout
    table = pd.read_csv(sweep / "prim.csv").set_index("parameter")
    balance, decay = table.loc["state.balance_strength"], table.loc["survey.change_tolerance"]
    assert balance["restricted"] and not decay["restricted"]
    assert balance["low"] == balance["range_low"]  # low values: only the top is cut
    assert balance["high"] < 2.0
    assert balance["qp_high"] < 0.01  # the restriction is significant
    span = (decay["high"] - decay["low"]) / (decay["range_high"] - decay["range_low"])
    assert span == pytest.approx(1.0)
    assert balance["coverage"] >= 0.8 and balance["density"] >= 0.8
    assert (balance["role"], table["condition"].iloc[0]) == ("lever", CONDITION)
    assert (sweep / "prim.png").read_bytes()[:4] == b"\x89PNG"
    leftovers = [p.name for p in sweep.iterdir() if "prim" in p.name and p.name[0] == "."]
    assert leftovers == []  # written atomically: no temporary file stays


def test_the_python_api_finds_the_same_box(sweep):
    found = discovery.prim(sweep, CONDITION, boxes=3)
    assert found.runs == 64 and 5 < found.of_interest < 40
    assert len(found.boxes) == 1  # every case of interest is in the first box
    box = found.boxes[0]
    assert box.restricted == ["state.balance_strength"]
    assert box.trajectory["density"].iloc[box.chosen] == box.density
    assert found.roles == {
        "state.balance_strength": "lever",
        "survey.change_tolerance": "uncertainty",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dominant_share_end > 0.4", ("dominant_share_end", ">", 0.4)),
        ("  dominant_share_end<=-1.5e-2 ", ("dominant_share_end", "<=", -0.015)),
        ("dominant_share_end >= .5", ("dominant_share_end", ">=", 0.5)),
        ("dominant_share_end < 3", ("dominant_share_end", "<", 3.0)),
    ],
)
def test_the_condition_is_an_outcome_a_comparison_and_a_number(text, expected):
    condition = discovery.parse_condition(text, ["dominant_share_end"])
    assert (condition.outcome, condition.operator, condition.threshold) == expected


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--condition", "share > 0.5"], "unknown outcome 'share'; the sweep recorded"),
        (["--condition", "dominant_share_end == 0.5"], "cannot read"),
        (["--condition", "dominant_share_end > high"], "OUTCOME OP NUMBER"),
        ([], "--method prim needs --condition EXPR"),
        (["--condition", "dominant_share_end > 2"], "holds for none of the 64 runs"),
        (["--condition", "dominant_share_end > 0"], "holds for all of the 64 runs"),
    ],
)
def test_a_condition_that_cannot_be_used_is_refused(sweep, arguments, fragment):
    assert_refused(invoke("analyze", sweep, "--method", "prim", *arguments), fragment)


def test_an_unknown_method_and_a_stray_condition_are_refused(sweep):
    assert_refused(invoke("analyze", sweep, "--method", "cart"), "unknown value 'cart'")
    assert_refused(invoke("analyze", sweep, "--condition", CONDITION), "only with --method prim")


def test_without_the_analysis_extra_one_line_says_what_to_install(sweep, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ema_workbench" else real(name, *a),
    )
    result = invoke("analyze", sweep, "--method", "prim", "--condition", CONDITION)
    assert_refused(result, "pip install 'multivector[analysis]'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_chosen_step_has_most_coverage_among_the_dense_enough():
    steps = pd.DataFrame({"coverage": [1.0, 0.9, 0.7, 0.4], "density": [0.3, 0.6, 0.85, 0.95]})
    assert discovery.choose(steps, 0.8) == 2
    assert discovery.choose(steps, 0.99) == 3  # none reaches it: the densest


def test_no_finished_runs_is_refused(tmp_path, sweep):
    empty = tmp_path / "empty"
    shutil.copytree(sweep, empty, ignore=shutil.ignore_patterns("results", "prim.*"))
    with pytest.raises(ScenarioError, match="holds no finished runs"):
        discovery.prim(empty, CONDITION)
