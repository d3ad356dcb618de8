"""Calibration: its objective, its output, and its stability at the shipped values."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from sim.experiments import calibrate
from sim.inputs.errors import ScenarioError
from sim.inputs.scenario import load_with_profile


def test_unit_cube_round_trip():
    values = calibrate.current()
    back = calibrate.to_values(calibrate.to_unit(values))
    assert back == pytest.approx(values, abs=1e-4)


def test_shipped_values_lie_within_the_bounds():
    for free in calibrate.FREE:
        assert free.low <= calibrate.current()[free.path] <= free.high, free.path


def test_loss_is_zero_on_target_and_grows_with_distance():
    target = np.array([t.value for t in calibrate.TARGETS])
    band = np.array([t.band for t in calibrate.TARGETS])
    assert calibrate.loss(target) == 0
    assert calibrate.loss(target + band) == pytest.approx(len(target))
    assert calibrate.loss(target + 2 * band) > calibrate.loss(target + band)


def test_fitted_toml_loads_as_overrides():
    fit = calibrate.Fit(calibrate.current(), calibrate.current(), None, None, 0, 0.0)
    data = tomllib.loads(calibrate.fitted_toml(fit))
    assert data["powers"]["China"]["stereotype"] == calibrate.current()["powers.China.stereotype"]
    overrides = {f.path: v for f, v in zip(calibrate.FREE, fit.fitted.values(), strict=True)}
    load_with_profile("baseline", overrides)  # every path is a real, settable parameter


@pytest.mark.slow
def test_calibrating_again_from_the_shipped_values_does_not_move_them():
    """At the settings the shipped values were fitted with (3 seeds, 4,000 persons), a new
    search from them stays within a tenth of each parameter's range."""
    fit = calibrate.calibrate(max_evaluations=40)
    moved = np.abs(calibrate.to_unit(fit.fitted) - calibrate.to_unit(fit.start))
    assert moved.max() < 0.1, dict(zip(fit.fitted, moved.round(3), strict=True))
    assert fit.residuals["measured"].notna().all()


def _setup(tmp_path, text: str):
    path = tmp_path / "calibration.toml"
    path.write_text(text)
    return path


FREE_ROW = '[[free]]\npath = "persuasion.idiosyncrasy"\nlow = 0.05\nhigh = 0.3\nwhy = "none"\n'
TARGET_ROW = (
    '[[target]]\nname = "t"\nmeasure = "russia_favourable_2017_2019"\nband = 0.07\nsource = "s"\n'
)


def test_the_calibration_file_gives_the_free_parameters_and_targets(tmp_path):
    free, targets = calibrate.load_setup(
        _setup(tmp_path, FREE_ROW + TARGET_ROW + 'figure = "cab_russia_favourable_2017_2019"\n')
    )
    assert free[0].path == "persuasion.idiosyncrasy" and (free[0].low, free[0].high) == (0.05, 0.3)
    assert targets[0].value == calibrate.TARGETS[0].value and targets[0].band == 0.07


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        (
            TARGET_ROW + 'figure = "demoscope_change_worse_2023_05"\n',
            "target[0].figure",
            "never fit",
        ),
        (
            TARGET_ROW.replace("russia_favourable", "nope") + "count = [1, 2]\n",
            "measure",
            "allowed",
        ),
        (TARGET_ROW + 'count = [1, 2]\nfigure = "x"\n', "target[0]", "one of figure"),
        (FREE_ROW.replace("0.3", "0.01"), "free[0]", "below high"),
        (FREE_ROW.replace("persuasion.idiosyncrasy", "persuasion.nope"), "free[0].path", "nope"),
        ("[[free]]\n", "free[0]", "needs exactly"),
        (FREE_ROW.replace("0.3", "1.5"), "free[0]", "within 0 to 0.5"),
        (FREE_ROW.replace("persuasion.idiosyncrasy", "mechanisms.framing"), "path", "not a number"),
        ("[oops]\n", "oops", "unknown table"),
    ],
)
def test_a_bad_calibration_file_is_refused_naming_the_key(tmp_path, text, key, says):
    body = text if text.startswith(("[[free]]", "[oops]")) else FREE_ROW + text
    with pytest.raises(ScenarioError) as caught:
        calibrate.load_setup(_setup(tmp_path, body))
    message = str(caught.value)
    assert "calibration.toml" in message and key in message and says in message, message
