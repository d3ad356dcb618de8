"""Generations: persons age, leave and are replaced, and the population follows the country
profile's demography (docs/ODD.md, "Generations")."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.inputs.scenario import load_with_profile
from sim.inputs.schema import CHANNELS
from sim.model.model import MultivectorModel
from sim.model.population import (
    _engagement_rows,
    adults_in,
    age_band,
    engagement,
    engagement_cells,
    start_shares,
)

CENSUS = {"Kazakh": 0.704, "Russian": 0.155, "Uzbek": 0.032, "Ukrainian": 0.020, "Uyghur": 0.015}
"""The 2021 census (facts file, "Population, 2021 census")."""


def _model(until: str = "2027-12", **overrides) -> MultivectorModel:
    spec, profile, _ = load_with_profile("baseline", {"run.population": 6000} | overrides)
    return MultivectorModel(spec, profile, tables=False, until=until)


@pytest.fixture(scope="module")
def yearly():
    """A baseline run, 2015-2027, with the population's composition and size each January."""
    model = _model()
    years = {}
    for year in range(2015, 2028):
        model.run_to(f"{year}-01")
        pop = model.public.persons
        years[year] = {
            "shares": np.bincount(pop.ethnicity, minlength=len(CENSUS) + 2) / pop.size,
            "adults": model.public.adults,
            "oldest": int(pop.age_months.max()),
            "ids": pop.person_id.copy(),
        }
    return model, years


def test_composition_follows_the_profile_demography_year_by_year(yearly):
    model, years = yearly
    groups = list(model.profile.groups)
    for year, seen in years.items():
        expected = start_shares(model.profile, year)
        for k, group in enumerate(groups):
            assert seen["shares"][k] == pytest.approx(expected[k], abs=0.012), (year, group)


def test_the_census_composition_holds_in_2021_within_a_point(yearly):
    model, years = yearly
    groups = list(model.profile.groups)
    for group, share in CENSUS.items():
        assert years[2021]["shares"][groups.index(group)] == pytest.approx(share, abs=0.01), group


def test_size_follows_the_profile_demography(yearly):
    """Year by year near the profile's projection at its own age structure (the model's
    population ages, so deaths drift up: 3 %), and within 1 % of the census in 2021."""
    model, years = yearly
    for year, seen in years.items():
        assert seen["adults"] == pytest.approx(adults_in(model.profile, year), rel=0.03), year
    assert years[2021]["adults"] == pytest.approx(model.profile.demography.adults, rel=0.01)


def test_the_population_renews(yearly):
    model, years = yearly
    gone = np.setdiff1d(years[2015]["ids"], years[2027]["ids"]).size / years[2015]["ids"].size
    assert 0.15 < gone < 0.45  # deaths, emigration and thinning over 12 years
    oldest = model.profile.demography.oldest
    assert all(seen["oldest"] < oldest * 12 for seen in years.values())


def test_after_years_of_renewal_each_persons_terms_are_those_of_their_age_and_roles(yearly):
    # renewal refreshes engagement, the kept affinity and language access only for the rows
    # that changed: after 12 years they must equal a recomputation for everyone
    model, _ = yearly
    public, pop = model.public, model.public.persons
    np.testing.assert_array_equal(
        pop.engagement_cell, engagement_cells(pop.age, pop.urban, pop.elite, pop.ngo)
    )
    np.testing.assert_array_equal(
        pop.engagement, engagement(public.tables, pop.age, pop.urban, pop.elite, pop.ngo)
    )
    np.testing.assert_array_equal(pop.age, age_band(model.profile, pop.age_months))
    affinity, access = (x.copy() for x in public.affinity_and_access(model.params))
    public._affinity = public._tongue_access = None
    fresh = public.affinity_and_access(model.params)
    np.testing.assert_array_equal(affinity, fresh[0])
    np.testing.assert_array_equal(access, fresh[1])


def test_the_soviet_schooled_cohort_shrinks_and_the_young_arrive(yearly):
    model, _ = yearly
    pop = model.public.persons
    born = 2027 - pop.age_months // 12
    # (a year of birth from whole years of age is off by one at most)
    assert np.all(pop.cohort[born > 1986] == pop.labels["cohort"].index("independence"))
    assert pop.age_months.min() >= model.profile.demography.entry_age * 12


def test_without_demography_nobody_ages_or_leaves():
    model = _model("2016-12", **{"mechanisms.demography": False})
    before = model.public.persons.age_months.copy(), model.public.persons.person_id.copy()
    model.run_to()
    np.testing.assert_array_equal(model.public.persons.age_months, before[0])
    np.testing.assert_array_equal(model.public.persons.person_id, before[1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 1300), min_size=1, max_size=50))
def test_every_age_falls_in_a_band_and_bands_are_ordered(months):
    _, profile, _ = load_with_profile("baseline")
    ages = np.array(months) + 15 * 12
    bands = age_band(profile, ages)
    assert bands.min() >= 0 and bands.max() < len(profile.ages)
    order = np.argsort(ages, kind="stable")
    assert np.all(np.diff(bands[order]) >= 0)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_no_one_outlives_the_oldest_age(seed):
    spec, profile, _ = load_with_profile("baseline", {"run.population": 300, "run.seed": seed})
    model = MultivectorModel(spec, profile, tables=False, until="2020-12")
    oldest = profile.demography.oldest * 12
    while model.month < model.last_month:
        model.step()
        assert model.public.persons.age_months.max() < oldest
        assert np.unique(model.public.persons.person_id).size == model.public.size


def test_what_persons_share_is_read_only_as_arrays():
    """Engagement, languages and media diets are kept per cell or set, and the per-person
    arrays are computed from them: a write into one would change nothing, so it fails."""
    spec, profile, _ = load_with_profile("baseline", {"run.population": 200})
    pop = MultivectorModel(spec, profile).public.persons
    for name in ("engagement", "speaks", "follows", "valence", "media_access"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(pop, name)[0, 0] = 1


def test_a_persons_engagement_is_the_product_of_their_factors():
    """Engagement is kept per cell of age band, area and roles: each person's row is the
    product of the profile's factors for their own band, area and roles, computed person
    by person (the cell's numbering cannot mix two persons' cells up)."""
    spec, profile, _ = load_with_profile("baseline", {"run.population": 3000})
    model = MultivectorModel(spec, profile)
    pop, tables = model.public.persons, model.public.tables
    assert pop.elite.any() and pop.ngo.any() and (~pop.urban).any()
    channels = [profile.engagement[c] for c in CHANNELS]
    factors = (
        np.array([e.base for e in channels], np.float32),
        np.array([list(e.age.values()) for e in channels], np.float32).T,
        *(
            np.array([getattr(e, x) for e in channels], np.float32)
            for x in ("urban", "elite", "ngo")
        ),
    )
    each = np.empty((pop.size, len(CHANNELS)), np.float32)
    rows = np.arange(pop.size)
    _engagement_rows(each, rows, pop.age, pop.urban, pop.elite, pop.ngo, *factors)
    np.testing.assert_array_equal(pop.engagement, each)
    assert tables.engagement_table.shape == (8 * len(profile.ages), len(CHANNELS))


def test_language_access_follows_the_powers_languages_and_newcomers():
    """Language access is kept per set of languages spoken: after newcomers bring new sets,
    and after a power's languages change (as an event changes them), each person's access
    is the rule's for their own languages."""
    from sim.model import rules

    spec, profile, _ = load_with_profile("baseline", {"run.population": 600})
    model = MultivectorModel(spec, profile)
    public, params = model.public, model.params

    def check() -> None:
        availability = np.array(
            [
                [p.languages.get(lang, 0.0) for lang in profile.languages]
                for p in params.powers.values()
            ]
        )
        expected = rules.language_access(public.persons.speaks, availability).astype(np.float32)
        np.testing.assert_array_equal(public.affinity_and_access(params)[1], expected)

    check()
    sets = len(public.persons.tongues.rows)
    for month in range(36):
        model.step()
        if month == 20:
            params.powers["China"].languages["ru"] = 0.9
        check()
    assert len(public.persons.tongues.rows) > sets  # newcomers spoke new sets of languages


def test_newcomers_settle_alike_with_the_updates_terms_or_without():
    """The renewal settles its newcomers with the terms the month's update took: the same
    attraction and identity as terms made anew; terms of other parameters are not taken."""
    import copy

    from conftest import tiny_model

    model = tiny_model(seed=2).run_to("2016-06")
    signals, promotion = model.signals(), model.state.promotion()
    public = model.public
    streams = model.streams["exposure"], model.streams["incidents"]
    terms = public.update(model.params, signals, promotion, *streams)
    rows = np.arange(0, public.size, 7)

    def settled(terms):
        twin = copy.deepcopy(public)
        twin.settle(model.params, signals, rows, promotion, terms)
        return twin.persons.attraction, twin.persons.identity

    attraction, identity = settled(terms)
    louder = terms._replace(hostility=terms.hostility * 4.0 + 1.0)
    others = copy.deepcopy(model.params)
    for made in (settled(None), settled(louder._replace(params=others))):
        np.testing.assert_array_equal(made[0], attraction)
        np.testing.assert_array_equal(made[1], identity)
    assert not np.array_equal(settled(louder)[0], attraction)  # the terms given are taken


@pytest.mark.parametrize("moves", [True, False])
def test_settled_persons_identity_is_at_rest_under_the_promotion(moves):
    """Settled with the month's promotion, persons' identity is the fixed point of its update
    (rules.equilibrium_identity of their baseline); their baseline when identity does not
    move; untouched without the promotion."""
    from conftest import tiny_model

    from sim.model import rules

    model = tiny_model(seed=3, **{"mechanisms.identity": moves}).run_to("2015-06")
    public, params = model.public, model.params
    rows = np.arange(1, public.size, 5)
    before = public.persons.identity.copy()
    public.settle(params, model.signals(), rows)
    np.testing.assert_array_equal(public.persons.identity, before)
    public.settle(params, model.signals(), rows, 0.4)
    baseline = public.persons.identity_baseline[rows]
    i = params.identity
    rest = rules.equilibrium_identity(baseline, 0.4, i.response, i.decay) if moves else baseline
    np.testing.assert_array_equal(public.persons.identity[rows], rest)
    others = np.setdiff1d(np.arange(public.size), rows)
    np.testing.assert_array_equal(public.persons.identity[others], before[others])
