"""Ensembles that draw their parameters from a posterior sample (``--posterior``): which row
each run takes, that the runs use it, what the outputs say of the band, and bad files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, assert_refused, invoke

from sim.experiments import draws, runner

POSTERIOR = pd.DataFrame(
    {
        "survey.favourable_cut": [0.30, 0.70, 0.50],
        "powers.Alpha.efficiency": [0.3, 0.6, 0.45],
        "distance": [1.2, 1.4, 1.1],  # no dot: not a parameter
    }
)


@pytest.fixture
def posterior(tmp_path):
    path = tmp_path / "posterior.csv"
    POSTERIOR.to_csv(path, index=False)
    return path


def test_each_run_takes_a_row_drawn_by_the_seed(posterior):
    spec = runner.plan(TINY).spec
    first = draws.load(posterior, spec, reps=20, seed=5)
    assert first == draws.load(posterior, spec, reps=20, seed=5)  # the seed decides
    assert first.rows != draws.load(posterior, spec, reps=20, seed=6).rows
    assert set(first.rows) == {0, 1, 2}  # with replacement, from every row
    for row, values in zip(first.rows, first.values, strict=True):
        assert values == {
            "survey.favourable_cut": POSTERIOR["survey.favourable_cut"][row],
            "powers.Alpha.efficiency": POSTERIOR["powers.Alpha.efficiency"][row],
        }


def test_a_set_parameter_keeps_its_value(posterior):
    plan = runner.plan(TINY, overrides={"survey.favourable_cut": 0.42})
    plan.draws = draws.load(posterior, plan.spec, 4, 1, set(plan.overrides))
    for run in range(4):
        spec = plan.spec_of(run)
        assert spec.survey.favourable_cut == 0.42
        row = plan.draws.rows[run]
        assert spec.powers["Alpha"].efficiency == POSTERIOR["powers.Alpha.efficiency"][row]


def test_the_runs_use_their_rows_and_the_outputs_say_what_the_band_spans(posterior, tmp_path):
    out = tmp_path / "drawn"
    result = invoke("run", TINY, "--reps", "6", "--posterior", posterior, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["posterior"]["row_of_run"]
    assert len(rows) == 6 and manifest["posterior"]["rows_in_file"] == 3
    assert manifest["band"] == "seed noise and parameter uncertainty: posterior posterior.csv"
    # the favourable share answers the cut-off of each run's row: lower cut, more favourable
    table = pd.read_csv(out / "timeseries.csv")
    first = table[(table["step"] == 0) & (table["power"] == "Alpha")].set_index("run")
    cut = POSTERIOR["survey.favourable_cut"].to_numpy()[rows]
    order = np.argsort(cut, kind="stable")
    favourable = first["favourable"].to_numpy()[order]
    assert np.all(np.diff(favourable)[np.diff(cut[order]) > 0] < 0)
    assert np.ptp(cut) > 0.3 and np.ptp(favourable) > 0.1  # seed noise alone is far smaller

    plain = tmp_path / "plain"
    assert invoke("run", TINY, "--reps", "2", "--out", plain, "--quiet").exit_code == 0
    manifest = json.loads((plain / "manifest.json").read_text())
    assert manifest["posterior"] is None and manifest["band"] == "seed noise"


def test_compare_gives_the_same_row_to_the_same_run_of_every_scenario(posterior, tmp_path):
    out = tmp_path / "compared"
    result = invoke(
        "compare", TINY, TINY, "--reps", "3", "--posterior", posterior, "--out", out, "--quiet"
    )
    assert result.exit_code == 0, result.output
    rows = [
        json.loads(m.read_text())["posterior"]["row_of_run"]
        for m in sorted(out.glob("*/manifest.json"))
    ]
    assert len(rows) == 2 and rows[0] == rows[1]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("survey.favourable_cut,powers.Mars.efficiency\n0.4,0.3\n", [":2: powers.Mars", "Alpha"]),
        ("survey.favourable_cut\n0.4\nabc\n", [":3: survey.favourable_cut", "'abc'"]),
        ("survey.favourable_cut\n4\n", [":2: survey.favourable_cut", "less than or equal"]),
        ("a,b\n1,2\n", ["no parameter column"]),
        ("survey.favourable_cut\n", ["no row"]),
        ("", ["not a CSV table"]),
        ("survey.favourable_cut\n0.4\n\n\nabc\n", [":3: survey.favourable_cut", "empty cell"]),
        ("survey.favourable_cut\n0.4\n0.5\n0.6\nabc\n", [":5: survey.favourable_cut", "'abc'"]),
        ("survey.favourable_cut\nnan\n", [":2:", "'nan' is not a finite number"]),
        ("survey.favourable_cut,survey.favourable_cut\n0.4,0.5\n", ["appears twice"]),
        ("survey.favourable_cut,weight\n0.4,-1\n", ["weight", "at least 0"]),
        ("survey.favourable_cut,weight\n0.4,heavy\n", [":2: weight", "'heavy'"]),
    ],
)
def test_a_bad_posterior_is_refused_before_any_run(tmp_path, text, fragments):
    path = tmp_path / "posterior.csv"
    path.write_text(text)
    out = tmp_path / "out"
    result = invoke("run", TINY, "--reps", "2", "--posterior", path, "--out", out, "--quiet")
    assert_refused(result, str(path), *fragments)
    assert not out.exists()


def test_a_posterior_needs_an_ensemble_and_a_file(posterior, tmp_path):
    out = tmp_path / "out"
    assert_refused(
        invoke("run", TINY, "--posterior", posterior, "--out", out), "--posterior", "--reps"
    )
    assert_refused(
        invoke("run", TINY, "--reps", "2", "--posterior", tmp_path / "none.csv", "--out", out),
        "is not a file",
    )
    assert not out.exists()


def _sweep_with_posterior(tmp_path, posterior_text: str):
    """The tiny Sobol sweep, made small, beside a copy of the tiny scenario, drawing its
    replications' other parameters from a posterior."""
    from test_sweep import TINY_SOBOL

    (tmp_path / "scenarios").mkdir(exist_ok=True)
    (tmp_path / "scenarios" / "tiny.toml").write_text(TINY.read_text())
    folder = tmp_path / "sweeps"
    folder.mkdir(exist_ok=True)
    (folder / "posterior.csv").write_text(posterior_text)
    text = TINY_SOBOL.read_text().replace("samples = 8", "samples = 4")
    text = text.replace('method = "sobol"', 'method = "lhs"')
    text = text.replace('timeseries = ["alignment"]', 'posterior = "posterior.csv"')
    path = folder / "drawn.toml"
    path.write_text(text)
    return path


def test_a_sweep_gives_replication_r_of_every_point_the_same_row(tmp_path):
    posterior = "powers.Alpha.efficiency,persuasion.rate\n0.2,0.9\n0.7,0.9\n"
    path = _sweep_with_posterior(tmp_path, posterior)
    out = tmp_path / "out"
    result = invoke("sweep", path, "--out", out, "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["posterior"]["row_of_run"]  # one per replication
    assert len(rows) == 2
    from sim.experiments import sweep as sweeping

    runs = sweeping.results(out)
    efficiency = [0.2, 0.7]
    for replication, row in enumerate(rows):
        taken = runs.loc[runs["replication"] == replication, "powers.Alpha.efficiency"]
        assert (taken == efficiency[row]).all()
    assert runs["persuasion.rate"].nunique() == 4  # the swept parameter keeps the design's
    from sim.results import sweep_figures

    figure = sweep_figures.sweep_plot(out, "alpha_attraction", "persuasion.rate", None)
    assert "drawn from the posterior posterior.csv" in figure.axes[0].get_title("left")

    (path.parent / "posterior.csv").write_text(posterior.replace("0.2", "0.25"))
    resumed = invoke("sweep", path, "--out", out, "--resume", "--quiet")
    assert_refused(resumed, "posterior file changed")


def test_a_sweep_with_a_bad_posterior_is_refused_naming_the_key(tmp_path):
    path = _sweep_with_posterior(tmp_path, "powers.Alpha.efficiency\n7\n")
    out = tmp_path / "out"
    result = invoke("sweep", path, "--out", out, "--quiet")
    assert_refused(result, "posterior", "powers.Alpha.efficiency")
    assert not out.exists()


def test_rows_are_drawn_in_proportion_to_their_weights(tmp_path):
    path = tmp_path / "weighted.csv"
    path.write_text("survey.favourable_cut,weight\n0.3,0\n0.5,1e308\n0.7,1e308\n")
    drawn = draws.load(path, runner.plan(TINY).spec, reps=200, seed=3)
    assert set(drawn.rows) == {1, 2}  # never the row of weight 0; no overflow
    assert 60 < drawn.rows.count(1) < 140


def test_compare_refuses_a_posterior_when_it_runs_nothing(posterior, tmp_path):
    saved = tmp_path / "saved"
    assert invoke("run", TINY, "--until", "2015-03", "--out", saved, "--quiet").exit_code == 0
    out = tmp_path / "compared"
    result = invoke("compare", saved, saved, "--reps", "2", "--posterior", posterior, "--out", out)
    assert_refused(result, "--posterior", "saved results keep theirs")
    assert not out.exists()


def test_a_posterior_fixed_entirely_by_set_is_labelled_seed_noise(posterior, tmp_path):
    out = tmp_path / "fixed"
    sets = ["--set", "survey.favourable_cut=0.4", "--set", "powers.Alpha.efficiency=0.5"]
    args = ["run", TINY, "--reps", "2", "--posterior", posterior, *sets, "--out", out, "--quiet"]
    assert invoke(*args).exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["band"] == "seed noise"


def test_the_shipped_posterior_draws_the_calibration_files_free_parameters():
    """The shipped sample (docs/calibration.md) is the calibration file's free parameters,
    each within its bounds, with importance weights; it is found by its name."""
    from sim.experiments import calibrate

    free, _ = calibrate.load_setup(calibrate.setup_file())
    path = draws.resolve("kazakhstan")
    assert path == draws.shipped()["kazakhstan"] and path.is_file()
    table = pd.read_csv(path)
    assert [c for c in table.columns if "." in c] == [f.path for f in free]
    for f in free:
        assert table[f.path].between(f.low, f.high).all(), f.path
    assert (table["weight"] > 0).all()
    manifest = json.loads(path.with_name("kazakhstan_posterior.manifest.json").read_text())
    assert len(table) == manifest["kept"] and table["distance"].max() <= manifest["tolerance"]
    spec = runner.plan("baseline").spec
    drawn = draws.load("kazakhstan", spec, reps=5, seed=1)
    assert drawn.path == path and len(drawn.values) == 5


def test_a_file_of_the_name_wins_over_the_shipped_posterior(tmp_path, posterior):
    shipped = draws.shipped()["kazakhstan"]
    assert draws.resolve("kazakhstan", tmp_path) == shipped
    (tmp_path / "kazakhstan").mkdir()  # a folder of that name is not a posterior
    assert draws.resolve("kazakhstan", tmp_path) == shipped
    (tmp_path / "mine").write_bytes(posterior.read_bytes())
    assert draws.resolve("mine", tmp_path) == tmp_path / "mine"
    assert draws.resolve("none.csv", tmp_path) == tmp_path / "none.csv"  # read refuses it


def test_a_run_draws_from_the_shipped_posterior_by_name(tmp_path):
    out = tmp_path / "drawn"
    result = invoke(
        "run", "--reps", "2", "--population", "200", "--until", "2015-02",
        "--posterior", "kazakhstan", "--out", out, "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["posterior"]["path"] == str(draws.shipped()["kazakhstan"])
    assert (
        manifest["band"]
        == "seed noise and parameter uncertainty: posterior kazakhstan_posterior.csv"
    )


def test_a_posterior_name_is_refused_with_the_shipped_ones(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", TINY, "--reps", "2", "--posterior", "atlantis", "--out", out)
    assert_refused(result, "atlantis", "kazakhstan")
    assert not out.exists()
