"""The synthetic population reproduces the census rows it is built from."""

from __future__ import annotations

import numpy as np
import pytest

from sim.inputs.scenario import load_with_profile
from sim.model.population import draw_attributes, synthesize

# facts file, "Population, 2021 census" (shares of the whole population)
ETHNIC = {"Kazakh": 0.704, "Russian": 0.155, "Uzbek": 0.032, "Ukrainian": 0.020, "Uyghur": 0.015}
SPEAKS = {"ru": 0.837, "kk": 0.801, "en": 0.351}


@pytest.fixture(scope="module")
def population():
    """Persons drawn for a run that starts in the census year (a run starting earlier draws
    the census projected back: tests/test_generations.py)."""
    scenario, profile, _ = load_with_profile("baseline", {"run.population": 40_000})
    params = scenario.parameters()
    params.run.start = "2021-01"
    return synthesize(profile, params, np.random.default_rng(7)), profile


def test_ethnic_shares_match_the_census_within_one_point(population):
    pop, _ = population
    for group, share in ETHNIC.items():
        drawn = np.mean(pop.ethnicity == pop.labels["ethnicity"].index(group))
        assert drawn == pytest.approx(share, abs=0.01), group


def test_language_shares_match_the_census_within_one_point(population):
    pop, profile = population
    for lang, share in SPEAKS.items():
        drawn = pop.speaks[:, profile.languages.index(lang)].mean()
        assert drawn == pytest.approx(share, abs=0.01), lang


def test_daily_kazakh_among_ethnic_kazakhs_matches_the_census(population):
    pop, _ = population
    kazakh = pop.ethnicity == pop.labels["ethnicity"].index("Kazakh")
    daily = pop.language[kazakh] == pop.labels["language"].index("kk")
    assert daily.mean() == pytest.approx(0.635, abs=0.01)  # facts: 63.5 % of ethnic Kazakhs


def test_everyone_speaks_their_daily_language(population):
    pop, profile = population
    for code, lang in enumerate(pop.labels["language"]):
        users = pop.language == code
        assert pop.speaks[users, profile.languages.index(lang)].all()


def test_network_is_undirected_homophilous_and_connected_enough(population):
    pop, _ = population
    net = pop.network
    assert (net != net.T).nnz == 0
    assert net.diagonal().sum() == 0
    degree = np.diff(net.indptr)
    assert degree.min() >= 1 and 6 <= degree.mean() <= 10
    rows = np.repeat(np.arange(pop.size), degree)
    same_ethnicity = np.mean(pop.ethnicity[rows] == pop.ethnicity[net.indices])
    by_chance = sum(s * s for s in ETHNIC.values())
    assert same_ethnicity > by_chance + 0.2


def test_elites_are_the_stated_share(population):
    pop, _ = population
    assert pop.elite.mean() == pytest.approx(0.01, abs=0.003)


def test_drawing_no_newcomer_gives_empty_attributes():
    scenario, profile, _ = load_with_profile("baseline", {})
    none = np.array([], np.int8)
    drawn = draw_attributes(
        profile, scenario, np.random.default_rng(0), none, none.astype(bool), none,
        none.astype(np.int16), 2015,
    )  # fmt: skip
    assert drawn and all(values.shape[0] == 0 for values in drawn.values())
