"""Country profiles as data: any state, from any path, with no language or group in the code.

The invented country of ``tests/profiles/synthetic.toml`` has invented languages and groups,
and no Russian, no English and no titular-language role; Kyrgyzstan is the second shipped
state (docs/profiles.md).
"""

from __future__ import annotations

import ast
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_refused, invoke

import sim
from sim.inputs.errors import ScenarioError
from sim.inputs.scenario import load_scenario, load_with_profile, shipped_profiles
from sim.model.model import MultivectorModel
from sim.model.population import synthesize

HERE = Path(__file__).parent / "profiles"
ROOT = Path(__file__).parents[1]
SYNTHETIC = HERE / "synthetic_baseline.toml"


# --- any state, from any path ----------------------------------------------------------------


def test_an_invented_country_runs_with_its_own_languages_and_groups():
    spec, profile, _ = load_with_profile(SYNTHETIC, {"run.population": 400})
    assert profile.name == "Freedonia"
    assert spec.run.profile == str((HERE / "synthetic.toml").resolve())  # found beside it
    model = MultivectorModel(spec, profile).run_to("2016-06")
    pop = model.public.persons
    assert pop.labels["ethnicity"] == ["Hillfolk", "Seafolk"]
    assert pop.labels["language"] == ["aa", "bb", "cc"]
    assert np.all(pop.culture[:, 1] < 0.2 + 5 * 0.1)  # no Russian role: everyone at russian_none
    groups = model.groups()
    assert {"Hillfolk", "Seafolk", "aa", "bb", "young", "old"} <= set(groups["group"])
    assert np.isfinite(model.timeseries()["attraction"]).all()


def test_a_profile_path_is_read_from_the_scenario_file_that_names_it(tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(HERE / "synthetic.toml", tmp_path / "data" / "country.toml")
    text = SYNTHETIC.read_text().replace('"synthetic.toml"', '"data/country.toml"')
    (tmp_path / "mine.toml").write_text(text)
    child = tmp_path / "child.toml"  # extends it from the same folder, sets no profile
    child.write_text('name = "child"\nextends = "mine"\ndescription = "x"\n')
    assert load_with_profile(child, {"run.population": 300})[1].name == "Freedonia"


def test_an_override_path_is_read_from_the_working_directory(tmp_path, monkeypatch):
    shutil.copy(HERE / "synthetic.toml", tmp_path / "country.toml")
    monkeypatch.chdir(tmp_path)
    spec, profile, _ = load_with_profile(SYNTHETIC, {"run.profile": "country.toml"})
    assert profile.name == "Freedonia"
    assert Path(spec.run.profile) == (tmp_path / "country.toml").resolve()
    assert sim.load_profile("country.toml").name == "Freedonia"


def test_a_shipped_name_stays_a_name():
    assert load_scenario("baseline").run.profile == "kazakhstan"
    assert set(shipped_profiles()) >= {"kazakhstan", "kyrgyzstan"}


def test_a_missing_profile_is_refused_with_the_line_and_what_is_shipped(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SYNTHETIC.read_text().replace('"synthetic.toml"', '"nowhere.toml"'))
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    (problem,) = err.value.problems
    assert problem.key == "run.profile" and problem.line == 10
    assert "kazakhstan" in problem.message and str(tmp_path) in problem.message


@pytest.mark.parametrize(
    "old, new, key, fragment",
    [
        ("russian_none = 0.2", "russian_none = 0.2\ncolour = 1", "culture.colour", "allowed:"),
        (
            "spread = 0.1",
            'spread = 0.1\nrussian_language = "ru"\nrussian_main = 0.9\nrussian_spoken = 0.6',
            "",
            "'ru' is not one of the profile's languages (aa, bb, cc)",
        ),
        ("spread = 0.1", 'spread = 0.1\nrussian_language = "aa"', "culture", "russian_main"),
        ("spread = 0.1", 'spread = 0.1\nenglish_language = "cc"', "", "english_by_age"),
        ("share = 0.3\n", "share = 0.4\n", "", "group shares must sum to 1"),
    ],
)
def test_an_invalid_profile_is_refused_with_its_file_and_key(tmp_path, old, new, key, fragment):
    text = (HERE / "synthetic.toml").read_text()
    assert old in text
    (tmp_path / "synthetic.toml").write_text(text.replace(old, new, 1))
    shutil.copy(SYNTHETIC, tmp_path / "s.toml")
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "s.toml")
    problem = err.value.problems[0]
    assert problem.source == str(tmp_path / "synthetic.toml")
    assert problem.key == key and fragment in problem.message, problem


def test_profile_option_on_the_command_line(tmp_path):
    assert_refused(
        invoke("run", SYNTHETIC, "--profile", "nowhere.toml", "--out", tmp_path / "x"),
        "run.profile",
        "kazakhstan",
    )
    shutil.copy(HERE / "synthetic.toml", tmp_path / "country.toml")
    done = invoke(
        "run", SYNTHETIC, "--profile", tmp_path / "country.toml", "--population", "300",
        "--until", "2015-06", "--out", tmp_path / "out", "--quiet",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    manifest = (tmp_path / "out" / "manifest.json").read_text()
    assert "country.toml" in manifest


# --- no language code or group name in the code --------------------------------------------


def _names_in_profiles() -> set[str]:
    names = set()
    for path in shipped_profiles().values():
        data = tomllib.loads(path.read_text())
        names |= set(data["languages"]) | set(data["groups"]) | set(data["regions"])
    return names


def test_no_language_code_group_or_region_name_in_inputs_or_model_code():
    names = _names_in_profiles()
    found = []
    for folder in ("inputs", "model"):
        for path in sorted((ROOT / "sim" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in names:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, found


# --- the neutral base ---------------------------------------------------------------------


def test_base_holds_only_the_powers_own_parameters_and_no_events():
    base = tomllib.loads((ROOT / "scenarios" / "base.toml").read_text())
    assert "events" not in base and "sources" not in base and "run" not in base
    own = {"prestige", "efficiency", "capacity", "effort", "message", "presence", "languages"}
    for power in base["powers"].values():
        assert set(power) == own
        assert power["languages"] == {} and not any(power["presence"].values())
    for name in ("baseline", "kyrgyzstan_baseline"):
        scenario = tomllib.loads((ROOT / "scenarios" / f"{name}.toml").read_text())
        assert scenario["extends"] == "base"
        for power in scenario["powers"].values():
            assert not {"prestige", "efficiency", "capacity", "effort", "message"} & set(power)


def test_both_baselines_share_the_powers_own_parameters():
    kz, kg = load_scenario("baseline"), load_scenario("kyrgyzstan_baseline")
    for name in kz.powers:
        for field in ("prestige", "efficiency", "capacity", "effort", "message"):
            assert getattr(kz.powers[name], field) == getattr(kg.powers[name], field)


# --- Kyrgyzstan reproduces its census rows ------------------------------------------------

# NSC 2022 census, ethnic composition (scenarios/profiles/kyrgyzstan.toml, [C22])
KG_ETHNIC = {"Kyrgyz": 0.776, "Uzbek": 0.142, "Russian": 0.041, "Dungan": 0.010}
# 2009 census rates by group on the 2022 composition (the profile's header); urban [KF];
# Bishkek and Chui [C22r]
KG_SPEAKS = {"ru": 0.450, "ky": 0.818, "uz": 0.160}


@pytest.fixture(scope="module")
def kyrgyz():
    scenario, profile, _ = load_with_profile("kyrgyzstan_baseline", {"run.population": 40_000})
    return synthesize(profile, scenario.parameters(), np.random.default_rng(7)), profile


def test_kyrgyzstan_reproduces_the_census_within_one_point(kyrgyz):
    pop, profile = kyrgyz
    for group, share in KG_ETHNIC.items():
        drawn = np.mean(pop.ethnicity == pop.labels["ethnicity"].index(group))
        assert drawn == pytest.approx(share, abs=0.01), group
    for lang, share in KG_SPEAKS.items():
        drawn = pop.speaks[:, profile.languages.index(lang)].mean()
        assert drawn == pytest.approx(share, abs=0.01), lang
    assert pop.urban.mean() == pytest.approx(0.349, abs=0.01)
    capital = np.mean(pop.region == pop.labels["region"].index("capital"))
    assert capital == pytest.approx(0.343, abs=0.01)


# --- Kyrgyzstan's patterns (docs/profiles.md, "Kyrgyzstan against the patterns") -----------


def _ensemble(overrides: dict, seeds: int = 4, population: int = 2500):
    out = []
    for seed in range(seeds):
        model = sim.build(
            "kyrgyzstan_baseline",
            seed=1000 + seed,
            until="2030-12",
            run__population=population,
            **overrides,
        )
        model.run_to()
        out.append(model.timeseries())
    return out


def _mean(frames, measure, power, first, last):
    return np.array(
        [f.query("power == @power and @first <= date <= @last")[measure].mean() for f in frames]
    )


@pytest.mark.slow
def test_kyrgyzstan_meets_p1_p4_p7_p8():
    base = _ensemble({})
    powers = list(base[0]["power"].dropna().unique())
    window = ("2015-01", "2021-12")
    for measure in ("attraction", "alignment"):  # P1: Russia leads before 2022
        russia = _mean(base, measure, "Russia", *window)
        others = np.max([_mean(base, measure, p, *window) for p in powers if p != "Russia"], 0)
        assert (russia > others).all(), measure
    for frame in base:  # P4 (first half): China's elites above its public, every month
        china = frame.query("power == 'China'")
        assert (china["elite_attraction"] > china["attraction"]).all()
    threshold = load_scenario("kyrgyzstan_baseline").state.dominance_threshold
    for frame in base:  # P7: balancing on, no power dominates
        state = frame.drop_duplicates("date")  # the state's measures repeat on every power's row
        assert state["dominant_share"].max() <= threshold
        assert state["effective_vectors"].min() >= 2.5
    off = _ensemble({"mechanisms__balancing": False, "mechanisms__counter_measures": False})
    for frame in off:  # ... balancing off: one power dominates
        state = frame.drop_duplicates("date")
        assert state["dominant_share"].iloc[-12:].mean() > 0.5
        assert state["effective_vectors"].iloc[-12:].mean() < 2
    strong = _ensemble({"identity__promotion": 0.7})  # P8: identity lowers every attraction
    late = ("2028-01", "2030-12")
    for p in powers:
        assert (_mean(strong, "attraction", p, *late) < _mean(base, "attraction", p, *late)).all()


def test_a_profile_a_scenario_file_names_stays_inside_the_scenario_folders(tmp_path):
    """Like ``extends``: a scenario file cannot make the loader read a file outside its own
    folder and the shipped scenarios; the command line's --profile can."""
    import shutil

    from conftest import assert_refused, invoke

    here = Path(__file__).parent / "profiles"
    shutil.copy(here / "synthetic.toml", tmp_path / "synthetic.toml")
    (tmp_path / "sub").mkdir()
    text = (here / "synthetic_baseline.toml").read_text()
    escaping = tmp_path / "sub" / "escaping.toml"
    escaping.write_text(text.replace('profile = "synthetic.toml"', 'profile = "../synthetic.toml"'))
    assert_refused(invoke("check", escaping), "run.profile", "outside the scenario folders")
    done = invoke(
        "run", escaping, "--profile", tmp_path / "synthetic.toml", "--until", "2015-02",
        "--population", "200", "--out", tmp_path / "out", "--quiet",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
