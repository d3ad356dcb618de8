"""The survey data file: its figures, and the split between what may be fitted (fielded in
2021 or earlier) and what is only ever compared (2022 on)."""

from __future__ import annotations

import pytest

from sim.inputs import surveys


def test_every_figure_has_a_source_a_year_and_a_sane_value():
    found = surveys.figures()
    assert len(found) > 20
    for f in found.values():
        assert f.source and f.last_year >= 1989, f.id
        if f.unit == "share":
            assert 0 <= f.value <= 1, f.id


def test_a_poll_from_2022_on_can_never_be_fitted():
    with pytest.raises(ValueError, match="never fit it"):
        surveys.figure("demoscope_change_worse_2023_05", "fit")
    with pytest.raises(ValueError, match="not out of sample"):
        surveys.figure("cab_russia_favourable_2017_2019", "check")


def test_the_targets_and_the_comparisons_draw_on_the_right_side_of_the_split():
    from sim.experiments import calibrate
    from sim.experiments.patterns import checks

    by_id = surveys.figures()
    fitted = {
        "cab_russia_favourable_2017_2019": checks.RUSSIA_FAVOURABLE[0],
        "gallup_ca_avg_russia_approval_2006_2018": calibrate.TARGETS[1].value,
        "gallup_ca_avg_china_approval_2006_2018": calibrate.TARGETS[2].value,
        "gallup_ca_avg_us_approval_2006_2018": calibrate.TARGETS[3].value,
    }
    for figure_id, value in fitted.items():
        assert by_id[figure_id].value == value
        assert by_id[figure_id].last_year <= surveys.LAST_FITTED_YEAR
    for answer, value in checks.DEMOSCOPE_2023.items():
        figure = by_id[f"demoscope_change_{answer}_2023_05"]
        assert figure.value == value and figure.last_year > surveys.LAST_FITTED_YEAR
