"""``multivector validate`` and ``multivector calibrate``, run in this process."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
from conftest import assert_refused, invoke

from sim.experiments import patterns
from sim.experiments.patterns import variants
from sim.inputs.schema import bounds, get_value, resolve


def test_validate_prints_the_table_and_writes_figures(tmp_path):
    out = tmp_path / "validation"
    done = invoke(
        "validate", "--check", "P9", "--check", "t1", "--seeds", "1", "--population", "600",
        "--workers", "1", "--out", out, "--quiet",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "P9" in done.stdout and "T1" in done.stdout and "pass" in done.stdout
    table = pd.read_csv(out / "validation.csv")
    assert list(table["id"]) == ["P9", "T1"] and table["passed"].all()
    assert (out / "P9.png").stat().st_size > 0 and (out / "T1.png").stat().st_size > 0
    assert set(table["basis"]) == {"by construction", "in-sample"}
    assert table["margin"].ge(0).all() and table["margins"].str.contains("band").any()
    assert "margin:" in done.stdout and "in-sample" in done.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == 1 and manifest["checks"] == ["P9", "T1"]
    assert manifest["perturb"] == 0.0
    variants = {"open", "open_grants", "screened", "screened_grants", "baseline"}
    assert set(manifest["runs"]) == variants


def test_validate_perturbed_reports_which_checks_survive(tmp_path):
    out = tmp_path / "perturbed"
    done = invoke(
        "validate", "--check", "P9", "--seeds", "1", "--population", "600", "--workers", "1",
        "--perturb", "0.2", "--out", out, "--quiet",
    )  # fmt: skip
    assert done.exit_code in (0, 1), done.output  # which checks survive is the report
    assert "every parameter jittered by up to 20%" in done.stdout
    assert json.loads((out / "manifest.json").read_text())["perturb"] == 0.2
    measured = []
    for jitter in ("0.2", "0"):
        folder = tmp_path / f"t1-{jitter}"
        invoke(
            "validate", "--check", "T1", "--seeds", "1", "--population", "600", "--workers",
            "1", "--perturb", jitter, "--out", folder, "--quiet",
        )  # fmt: skip
        measured.append(pd.read_csv(folder / "validation.csv")["measured"][0])
    assert measured[0] != measured[1]  # the same seed, other parameters
    assert_refused(invoke("validate", "--perturb", "1.5"), "--perturb")


def test_validate_with_a_parameter_set_runs_every_check_with_it(tmp_path):
    """--set applies to every run, except where a check's own variant sets the parameter
    (P9 compares screening 0 and 0.6); a bad path is refused before any run."""
    out = tmp_path / "set"
    done = invoke(
        "validate", "--check", "T1", "--check", "P9", "--seeds", "1", "--population", "600",
        "--workers", "1", "--set", "state.screening=0.9", "--set", "survey.favourable_cut=0.9",
        "--out", out, "--quiet",
    )  # fmt: skip
    assert done.exit_code in (0, 1), done.output
    assert "with state.screening=0.9, survey.favourable_cut=0.9" in done.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["set"] == {"state.screening": 0.9, "survey.favourable_cut": 0.9}
    runs = {name: dict(map(tuple, run["overrides"])) for name, run in manifest["runs"].items()}
    assert runs["baseline"] == {"state.screening": 0.9, "survey.favourable_cut": 0.9}
    assert runs["open"] == {"survey.favourable_cut": 0.9, "state.screening": 0.0}
    favourable = pd.read_csv(out / "validation.csv").set_index("id").loc["T1", "measured"]
    plain = tmp_path / "plain"
    invoke(
        "validate", "--check", "T1", "--seeds", "1", "--population", "600", "--workers", "1",
        "--out", plain, "--quiet",
    )  # fmt: skip
    assert pd.read_csv(plain / "validation.csv")["measured"][0] != favourable
    refused = invoke("validate", "--check", "T1", "--set", "state.nope=1")
    assert_refused(refused, "state.nope")
    assert "allowed: balance_strength" in refused.output


def test_jitter_moves_every_parameter_alike_in_every_scenario_of_a_replicate():
    from conftest import tiny

    spec, _ = tiny()
    first = variants.jittered(spec, 0.2, 0, 7)
    assert first == variants.jittered(spec, 0.2, 0, 7)  # reproducible
    assert first != variants.jittered(spec, 0.2, 1, 7)  # another replicate, other draws
    assert "state.balance_strength" in first and "powers.Alpha.efficiency" in first
    assert "state.dominance_threshold" in first  # P7 reads each run's own theta
    assert not any(p.startswith(("run.", "mechanisms.")) for p in first)
    for path, value in first.items():
        base = get_value(spec, path)
        _, _, info = resolve(spec, path)
        low, high = bounds(info)
        assert low <= value <= high
        if info.annotation is float and low < base * 0.8 and base * 1.2 < high:
            assert abs(value - base) <= 0.2 * abs(base) + 1e-12, path
    # a path's factor does not depend on the scenario: the same path moves alike elsewhere
    other, _ = tiny(**{"state.balance_strength": 4.0})
    ratio = variants.jittered(other, 0.2, 0, 7)["state.balance_strength"] / 4.0
    assert ratio == pytest.approx(first["state.balance_strength"] / spec.state.balance_strength)


def test_validate_refuses_an_unknown_check():
    done = invoke("validate", "--check", "P99")
    assert_refused(done, "--check", "allowed: P1, P2")


def test_validate_exits_non_zero_when_a_check_fails(monkeypatch):
    """With screening and openness swapped, P9's claim is false and the command says so."""
    swapped = dict(patterns.VARIANTS)
    swapped["open"], swapped["screened"] = swapped["screened"], swapped["open"]
    swapped["open_grants"], swapped["screened_grants"] = (
        swapped["screened_grants"],
        swapped["open_grants"],
    )
    monkeypatch.setattr(patterns, "VARIANTS", swapped)
    monkeypatch.setattr(variants, "VARIANTS", swapped)  # where run_all looks them up
    result = invoke(
        "validate", "--check", "P9", "--seeds", "1", "--population", "600", "--workers", "1"
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output and "1 of 1 checks failed" in result.output


def test_calibrate_writes_fitted_values_and_residuals(tmp_path):
    out = tmp_path / "fit"
    done = invoke(
        "calibrate", "--evaluations", "3", "--seeds", "1", "--population", "300",
        "--workers", "1", "--out", out, "--quiet",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    fitted = tomllib.loads((out / "fitted.toml").read_text())
    assert 0.2 <= fitted["powers"]["West"]["efficiency"] <= 1.0
    residuals = pd.read_csv(out / "residuals.csv")
    assert {"target", "value", "band", "measured", "residual", "source"} <= set(residuals)
    history = pd.read_csv(out / "history.csv")
    assert len(history) >= 3 and "loss" in history
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluations"] == len(history) and manifest["seeds"] == 1


def test_calibrate_abc_writes_the_prior_the_posterior_and_its_summary(tmp_path):
    out = tmp_path / "abc"
    done = invoke(
        "calibrate", "--method", "abc", "--points", "6", "--accept", "0.5",
        "--population", "300", "--workers", "1", "--out", out,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "posterior: 3 of 6 runs" in done.output
    prior, kept = pd.read_csv(out / "prior.csv"), pd.read_csv(out / "posterior.csv")
    assert len(prior) == 6 and len(kept) == 3
    assert kept["distance"].max() <= prior["distance"].median() + 1e-12
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["q05"] <= summary["q95"]).all()
    assert json.loads((out / "manifest.json").read_text())["kept"] == 3


def test_calibrate_smc_writes_every_run_and_a_weighted_last_generation(tmp_path):
    out = tmp_path / "smc"
    done = invoke(
        "calibrate", "--method", "smc", "--points", "25", "--generations", "2",
        "--population", "300", "--workers", "1", "--out", out,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    runs, kept = pd.read_csv(out / "prior.csv"), pd.read_csv(out / "posterior.csv")
    assert set(runs["generation"]) == {0, 1} and len(kept) == 25
    assert kept["weight"].sum() == pytest.approx(1.0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generations_run"] == 2 and manifest["runs"] == len(runs)
    assert kept["distance"].max() <= manifest["tolerance"]
    drawn = invoke(
        "run", "--reps", "2", "--population", "300", "--until", "2015-03",
        "--posterior", out / "posterior.csv", "--out", tmp_path / "run", "--quiet",
    )  # fmt: skip
    assert drawn.exit_code == 0, drawn.output  # what smc writes, run can draw from


def test_calibrate_smc_refuses_too_few_particles_before_any_run(tmp_path):
    from sim.experiments import calibrate

    free, _ = calibrate.load_setup(calibrate.setup_file())
    few = str(2 * len(free))  # the kernel's covariance needs more than two per parameter
    done = invoke("calibrate", "--method", "smc", "--points", few, "--out", tmp_path / "x")
    assert done.exit_code == 2 and "--points" in done.output and f"more than {few}" in done.output
    assert not (tmp_path / "x").exists()


def test_calibrate_refuses_a_scenario_of_another_country(tmp_path):
    done = invoke("calibrate", "kyrgyzstan_baseline", "--out", tmp_path / "x")
    assert done.exit_code == 2 and "run.profile" in done.output and "kazakhstan" in done.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--method", "bayes"),
        ("--accept", "0"),
        ("--accept", "1.5"),
        ("--quantile", "1"),
        ("--generations", "0"),
    ],
)
def test_calibrate_refuses_a_bad_method_or_share(option, value, tmp_path):
    done = invoke("calibrate", option, value, "--out", tmp_path / "x")
    assert done.exit_code == 2 and option in done.output
    assert not (tmp_path / "x").exists()
