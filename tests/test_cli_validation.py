"""``multivector validate`` and ``multivector calibrate``, run in this process."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
from conftest import assert_refused, invoke

from sim.experiments import patterns
from sim.experiments.patterns import variants


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
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == 1 and manifest["checks"] == ["P9", "T1"]
    variants = {"open", "open_grants", "screened", "screened_grants", "baseline"}
    assert set(manifest["runs"]) == variants


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
