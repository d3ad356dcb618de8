"""The synthetic population reproduces the census rows it is built from."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.inputs.scenario import load_with_profile
from sim.model import streams
from sim.model.population import (
    Diets,
    Tables,
    _undirected_rows,
    age_bands,
    attribute_draws,
    categorical,
    diet_terms,
    draw_attributes,
    months_in_band,
    newcomers_drawn,
    place_newcomers,
    synthesize,
)

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
    net = pop.network.matrix()
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


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 200), st.integers(0, 200))
def test_a_diet_is_the_outlets_followed_and_their_terms(seed, first, second):
    """Persons hold the index of their media diet: for any rows of outlets followed, in two
    batches (the second as newcomers; few rows are looked up one by one, many at once),
    each row's diet is that row, its framing and outlet access are those computed for the
    row itself, and a diet keeps its index."""
    scenario, profile, _ = load_with_profile("baseline", {})
    tables = Tables(profile, list(scenario.powers))
    rng = np.random.default_rng(seed)
    outlets = len(profile.outlets)
    diets = Diets(tables)
    batches = [rng.random((n, outlets)) < rng.random(outlets) for n in (first, second)]
    ids = [diets.of(batches[0])]
    kept = diets.follows.copy()
    ids.append(diets.of(batches[1]))
    np.testing.assert_array_equal(diets.follows[: len(kept)], kept)
    for rows, diet in zip(batches, ids, strict=True):
        assert diet.shape == (rows.shape[0],)
        np.testing.assert_array_equal(diets.follows[diet], rows)
        valence, access = diet_terms(tables, rows)
        np.testing.assert_array_equal(diets.valence[diet], valence)
        np.testing.assert_array_equal(diets.access[diet], access)
    assert len(np.unique(diets.follows, axis=0)) == len(diets.follows)  # each diet once


def test_without_outlets_everyone_follows_none():
    """A profile without outlets (Kyrgyzstan's): one diet, whose framing is -1 (news heard
    as hostile) and whose outlet access is 1, as persons' were before diets were shared."""
    scenario, profile, _ = load_with_profile("kyrgyzstan_baseline", {})
    diets = Diets(Tables(profile, list(scenario.powers)))
    ids = diets.of(np.zeros((5, 0), bool))
    assert ids.tolist() == [0] * 5 and diets.follows.shape == (1, 0)
    np.testing.assert_array_equal(diets.valence, -np.ones((1, len(scenario.powers))))
    np.testing.assert_array_equal(diets.access, np.ones((1, len(scenario.powers))))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 5), st.floats(0.0, 1.0))
def test_the_networks_rows_are_those_of_the_sparse_adjacency(seed, n, half, share):
    """The network's compressed rows are scipy's for the symmetric adjacency of the ring's
    ties (each person to the ``half`` after them, a share of ties drawn to go elsewhere),
    duplicates summed and self-ties left out: each row sorted, each neighbour once."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    source = np.repeat(np.arange(n), half)
    target = (source + np.tile(np.arange(1, half + 1), n)) % n
    rewired = np.flatnonzero(rng.random(source.size) < share)
    elsewhere = rng.integers(0, n, rewired.size, dtype=np.int32)
    target[rewired] = elsewhere
    keep = source != target
    rows = np.concatenate([source[keep], target[keep]])
    cols = np.concatenate([target[keep], source[keep]])
    adjacency = sparse.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(n, n))
    adjacency.sum_duplicates()
    indptr, indices = _undirected_rows(n, half, rewired, elsewhere)
    np.testing.assert_array_equal(indptr, adjacency.indptr)
    np.testing.assert_array_equal(indices, adjacency.indices)
    assert indptr.dtype == indices.dtype == np.int32


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 60),
    st.sampled_from([0.0, 0.05, 0.5, 1.0]),
    st.lists(st.sampled_from([0.0, 0.1, 0.3, 1.0]), min_size=4, max_size=4).filter(any),
)
def test_newcomers_are_drawn_as_numpy_draws_them(seed, n, chance, shares):
    """The month's newcomers drawn in one compiled pass are numpy's numbers in numpy's
    order: whether each immigrates, their group's draw, an immigrant's age band (of age
    bands' ``shares``, some of them none) and age (categorical, months_in_band), then
    attribute_draws; the stream ends where numpy's does."""
    scenario, profile, _ = load_with_profile("baseline", {"run.population": 300})
    assert len(profile.ages) == len(shares)
    tables = Tables(profile, list(scenario.powers))
    draw = np.random.default_rng(seed + 1)
    regions, groups_count = len(profile.regions), len(profile.groups)
    groups = np.cumsum(draw.random((2, regions, groups_count)), axis=2)
    groups /= groups[:, :, -1:]
    region = draw.integers(0, regions, n).astype(np.int8)
    rng, mirror = np.random.default_rng(seed), np.random.default_rng(seed)
    cumulative = np.cumsum(shares)
    ages = age_bands(profile)._replace(cumulative=cumulative / cumulative[-1])
    ethnicity, age_months, draws = newcomers_drawn(
        streams.handle(rng), region, chance, groups, ages, 15 * 12, tables
    )
    immigrant = mirror.random(n) < chance
    cuts = groups[immigrant.astype(np.intp), region]
    expected = np.minimum((mirror.random(n)[:, None] >= cuts).sum(axis=1), groups_count - 1)
    months = np.full(n, 15 * 12, np.int16)
    if immigrant.any():
        band = categorical(mirror, shares, int(immigrant.sum()))
        months[immigrant] = months_in_band(mirror, profile, band)
    np.testing.assert_array_equal(ethnicity, expected)
    np.testing.assert_array_equal(age_months, months)
    assert age_months.dtype == np.int16
    for name, numbers, numpy_numbers in zip(
        draws._fields, draws, attribute_draws(mirror, n, tables), strict=True
    ):
        np.testing.assert_array_equal(numbers, numpy_numbers, err_msg=name)
        assert numbers.dtype == numpy_numbers.dtype, name
    assert rng.bit_generator.state == mirror.bit_generator.state


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_newcomers_are_placed_in_their_rows_as_they_are_drawn(seed, n):
    """The month's newcomers, written into their rows in one compiled pass, are what
    draw_attributes gives persons of their group, area, region and age from the same
    random numbers: every attribute, the languages and outlets returned, their ids, their
    affinity; they hold no role yet, and the roles the leavers held are counted."""
    from sim.model import rules

    scenario, profile, _ = load_with_profile("baseline", {"run.population": 300})
    params = scenario.parameters()
    persons = synthesize(profile, params, np.random.default_rng(seed))
    tables = Tables(profile, list(params.powers))
    draw = np.random.default_rng(seed + 1)
    rows = np.sort(draw.choice(persons.size, n, replace=False))
    groups = np.cumsum(draw.random((n, len(profile.groups))), axis=1)
    groups /= groups[:, -1:]
    ethnicity_draws = draw.random(n)
    age_months = draw.integers(15 * 12, 90 * 12, n).astype(np.int16)
    ethnicity = np.minimum((ethnicity_draws[:, None] >= groups).sum(axis=1), groups.shape[1] - 1)
    expected = draw_attributes(
        profile, params, np.random.default_rng(seed + 2), ethnicity, persons.urban[rows],
        persons.region[rows], age_months, 2019, tables,
    )  # fmt: skip
    roles = int(persons.elite[rows].sum()), int(persons.ngo[rows].sum())
    first = persons.next_id
    affinity = np.zeros((persons.size, len(params.powers)), np.float32)
    messages = draw.random((len(params.powers), 3))
    draws = attribute_draws(np.random.default_rng(seed + 2), n, tables)
    speaks, follows, *lost = place_newcomers(
        persons, rows, ethnicity, age_months, draws, 2019, profile, params, tables, affinity,
        messages,
    )  # fmt: skip
    np.testing.assert_array_equal(speaks, expected.pop("speaks"))
    np.testing.assert_array_equal(follows, expected.pop("follows"))
    tongues, diets = len(persons.tongues.rows), len(persons.diets.rows)
    np.testing.assert_array_equal(persons.tongue[rows], persons.tongues.of(speaks))
    np.testing.assert_array_equal(persons.diet[rows], persons.diets.of(follows))
    assert (len(persons.tongues.rows), len(persons.diets.rows)) == (tongues, diets)  # all held
    for name, values in expected.items():
        np.testing.assert_array_equal(getattr(persons, name)[rows], values, err_msg=name)
    np.testing.assert_array_equal(persons.person_id[rows], np.arange(first, first + n))
    assert persons.next_id == first + n
    assert tuple(lost) == roles and not (persons.elite[rows].any() or persons.ngo[rows].any())
    np.testing.assert_array_equal(
        affinity[rows], rules.affinity(persons.culture[rows], messages).astype(np.float32)
    )


def test_the_terms_kept_for_newcomers_follow_the_parameters():
    """The tables keep the arguments newcomers' attributes take from the parameters while
    those hold, and make them anew when one changes."""
    from sim.model.population import _term_arguments

    scenario, profile, _ = load_with_profile("baseline", {"run.population": 300})
    params = scenario.parameters()
    tables = Tables(profile, list(params.powers))
    first = _term_arguments(params, tables)
    assert _term_arguments(params, tables) is first
    power = next(iter(params.powers))
    params.powers[power].education_ties = 0.5 * params.powers[power].education_ties + 0.01
    ties = _term_arguments(params, tables)
    assert ties is not first
    assert ties[9][0] == params.powers[power].education_ties
    params.population.cohort_effect = 0.5 * params.population.cohort_effect
    assert _term_arguments(params, tables)[8] == params.population.cohort_effect
    params.persuasion.idiosyncrasy = 0.5 * params.persuasion.idiosyncrasy + 0.01
    assert _term_arguments(params, tables)[-1] == params.persuasion.idiosyncrasy
    params.population.alumni_age += 1
    assert _term_arguments(params, tables)[-2] == params.population.alumni_age * 12


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 9), st.integers(1, 80))
def test_a_patterns_lookup_holds_each_rows_index(seed, width, n):
    """Patterns.lookup gives each row held its index (by the row as a bit mask) and -1 to
    rows not held, as rows are added; a Patterns pickled before the lookup makes it."""
    import pickle

    from sim.model.population import Patterns, _masks

    rng = np.random.default_rng(seed)
    patterns = Patterns(width)
    for _ in range(3):
        flags = rng.random((n, width)) < 0.3
        ids = patterns.of(flags)
        np.testing.assert_array_equal(patterns.lookup[_masks(flags)], ids)
    held = np.zeros(1 << width, bool)
    held[_masks(patterns.rows)] = True
    assert (patterns.lookup[~held] == -1).all()
    old = pickle.loads(pickle.dumps(patterns))
    del old.__dict__["_lookup"]
    np.testing.assert_array_equal(old.lookup, patterns.lookup)
    assert Patterns(17).lookup.size == 0  # wider rows: looked up by Patterns.of
