"""Alumni and scholarships: the education channel makes education ties by two routes, and the
powers value a channel over their horizon (docs/ODD.md §7.10, §7.13)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.inputs.scenario import load_with_profile
from sim.model import rules
from sim.model.model import MultivectorModel

AGE = 22  # population.alumni_age in the baseline


def _model(until: str | None = None, **overrides) -> MultivectorModel:
    spec, profile, _ = load_with_profile("baseline", {"run.population": 4000} | overrides)
    return MultivectorModel(spec, profile, tables=False, until=until)


@pytest.fixture(scope="module")
def model():
    return _model(until="2015-02")


def test_nobody_below_the_alumni_age_holds_a_tie_at_the_start(model):
    persons = model.public.persons
    young = persons.age_months < AGE * 12
    assert young.any() and not persons.ties[young].any()
    assert persons.ties[~young].any()


def test_returning_students_draw_ties_in_proportion_to_the_student_flow(model):
    """Persons who turn the alumni age draw a tie with chance tau x area weight x flow; the
    flows share a pool, so one power pulling twice as hard takes students from the others;
    persons of other ages are left as they were."""
    public = model.public
    persons = public.persons
    saved = persons.age_months.copy(), persons.ties.copy(), public.pull.copy()
    tau = np.array([p.education_ties for p in model.params.powers.values()])
    try:
        persons.age_months[:] = AGE * 12
        persons.age_months[:100] = AGE * 12 + 1  # not turning it this month
        before = persons.ties[:100].copy()
        weights = np.where(persons.urban[100:], 1.5, 0.5) / public.tables.ties_weight
        for pull in (np.ones(tau.size), np.array([2.0, 1.0, 1.0, 1.0])):
            public.pull = pull
            draws = []
            for seed in range(20):
                turning = np.flatnonzero(persons.age_months == AGE * 12)  # as ageing lists
                public._alumni_return(model.params, turning, np.random.default_rng(seed))
                draws.append(persons.ties[100:].mean(axis=0))
            flows = rules.pooled_flows(tau, pull)
            assert np.mean(draws, axis=0) == pytest.approx(
                tau * flows * weights.mean(), rel=0.08, abs=2e-3
            )
        assert (persons.ties[:100] == before).all()
        assert flows[0] > 1.5 and (flows[1:] < 1).all()  # the West's pull takes from the rest
    finally:
        persons.age_months[:], persons.ties[:], public.pull = saved


def test_new_members_of_the_elites_are_scholarship_graduates_with_the_flow(model):
    public = model.public
    persons = public.persons
    saved = persons.ties.copy(), public.pull.copy()
    sigma = np.array([p.scholarship_ties for p in model.params.powers.values()])
    assert sigma.max() > 0
    chosen = np.arange(persons.size)
    try:
        for pull in (np.ones(sigma.size), np.array([3.0, 1.0, 1.0, 1.0])):
            public.pull = pull
            persons.ties[:] = False
            public._scholars_recruited(model.params, chosen, np.random.default_rng(1))
            expected = np.minimum(sigma * rules.pooled_flows(sigma, pull), 1.0)
            assert persons.ties.mean(axis=0) == pytest.approx(expected, abs=0.012)
    finally:
        persons.ties[:], public.pull = saved


@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1.0)), min_size=2, max_size=6),
    st.lists(st.floats(0.01, 10.0), min_size=6, max_size=6),
)
def test_pooled_flows_keep_the_pool_and_gain_less_the_larger_the_share(weights, pulls):
    weights = np.array(weights)
    pull = np.array(pulls[: weights.size])
    flows = rules.pooled_flows(weights, pull)
    if weights.sum() > 0:
        assert weights @ flows == pytest.approx(weights.sum())
    assert rules.pooled_flows(weights, np.ones_like(pull)) == pytest.approx(1.0)
    gain = rules.pooled_flow_gain(weights, pull)
    assert (gain >= -1e-12).all()
    step = 1e-6 * pull
    for p in range(pull.size):
        moved = pull.copy()
        moved[p] += step[p]
        slope = (rules.pooled_flows(weights, moved)[p] - flows[p]) / step[p]
        assert slope == pytest.approx(gain[p], rel=1e-3, abs=1e-6)


def test_a_doubled_education_signal_doubles_the_flow_after_the_years_of_study():
    """With effort held (no adaptation, no other event), doubling every power's education
    effort raises its pull on students linearly over the four years of study, then holds it
    at two; the pool's shares are then the start's, as everyone pulls alike."""
    from sim.inputs.schema import ScenarioSpec

    overrides = {"mechanisms.adaptation": False, "run.burn_in": 0, "run.population": 600}
    spec, profile, _ = load_with_profile("baseline", overrides)
    data = spec.model_dump()
    data["events"] = [
        {"date": "2016-01", "action": "scale", "path": f"powers.{name}.effort.education",
         "value": 2.0}
        for name in spec.powers
    ]  # fmt: skip
    for power in data["powers"].values():
        power["capacity"] = 3 * power["capacity"]  # room for the doubled effort
    model = MultivectorModel(ScenarioSpec.model_validate(data), profile, tables=False)
    seen = {}
    for date in ("2015-12", "2017-12", "2019-12", "2023-12"):
        model.run_to(date)
        seen[date] = model.public.pull.copy()
    assert seen["2015-12"] == pytest.approx(1.0)
    assert seen["2017-12"] == pytest.approx(1.5, rel=0.02)  # 24 of the 48 months doubled
    assert seen["2019-12"] == pytest.approx(2.0, rel=0.02)
    assert seen["2023-12"] == pytest.approx(2.0, rel=0.02)
    assert model.public.student_flows(model.params) == pytest.approx(1.0, rel=0.02)


def test_without_the_alumni_mechanism_cohorts_come_back_at_the_starts_rate():
    """With the switch off, a power's education effort moves nothing: the pull stays 1 while
    the signal changes, returning persons draw at the start's rate, and the powers count no
    alumni in education's worth."""
    model = _model(until="2019-12", **{"mechanisms.alumni": False})
    assert (model.public.alumni_values(model.params, model.education_reference) == 0).all()
    start = model._education_signal()
    model.run_to()
    assert not np.allclose(model._education_signal(), start)  # the efforts did move
    assert (model.public.pull == 1.0).all()
    assert (model.public.student_flows(model.params) == 1.0).all()


def test_without_generations_nobody_comes_back_and_alumni_are_worth_nothing():
    model = _model(until="2016-12", **{"mechanisms.demography": False})
    ties = model.public.persons.ties.copy()
    reference = model.education_reference
    assert (model.public.alumni_values(model.params, reference) == 0).all()
    model.run_to()
    assert (model.public.persons.ties == ties).all()


def test_education_is_worth_more_the_longer_the_horizon(model):
    """The alumni pay from their return, on average half the years of study after the
    effort, to the horizon, as attraction closes on the raised baseline: nothing before,
    then more the longer the horizon, by the worth of a tie over the months left."""
    params = model.params
    reference = model.education_reference
    values = {}
    for horizon in (1.0, 2.0, 7.0, 12.0):
        params.adaptation.horizon = horizon
        values[horizon] = model.public.alumni_values(params, reference)
    params.adaptation.horizon = model.spec.parameters().adaptation.horizon
    assert (values[1.0] == 0).all() and (values[2.0] == 0).all()
    assert (values[7.0] > 0).all() and (values[12.0] > values[7.0]).all()
    bonus, delta = params.persuasion.ties_bonus, params.persuasion.relaxation
    ratio = rules.tie_worth(bonus, delta, 120) / rules.tie_worth(bonus, delta, 60)
    assert values[12.0] == pytest.approx(ratio * values[7.0])
    # a tie's worth: the gap to the raised baseline closing at delta a month, summed
    worth = sum(bonus * (1 - (1 - delta) ** m) for m in range(60))
    assert rules.tie_worth(bonus, delta, 60) == pytest.approx(worth)
    assert model.public.alumni_values(params, 2 * reference) == pytest.approx(
        model.public.alumni_values(params, reference) / 2
    )


@given(
    st.floats(0.1, 20.0),
    st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 5.0)), min_size=2, max_size=7),
    st.one_of(st.just(0.0), st.floats(1e-3, 5.0)),
    st.integers(0, 6),
)
def test_the_start_split_is_where_the_reallocation_rests(total, gains, extra, k):
    """e_c = total x g_c / sum g, with the alumni's extra / e_k added to channel k's gain:
    a full round of reallocation from the split moves nothing."""
    gain = np.array(gains)
    k = k % gain.size
    extras = np.zeros_like(gain)
    extras[k] = extra
    split = rules.rest_split(np.full(gain.size, total / gain.size), gain, extras)
    assert split.sum() == pytest.approx(total) and (split >= 0).all()
    if extra > 0:
        g = gain.copy()
        g[k] += extra / split[k]
        assert split == pytest.approx(total * g / g.sum(), rel=1e-6, abs=1e-9)
    else:  # a full round of reallocation; with no gain anywhere, nothing moves
        even = np.full(gain.size, total / gain.size)
        assert split == pytest.approx(rules.reallocate(even, gain, 1.0))
