"""Survey instruments: what persons answer to a poll's questions (docs/ODD.md, "Survey
instruments")."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.inputs.scenario import load_with_profile
from sim.model import measures, rules, survey
from sim.model.model import MultivectorModel

unit = st.floats(0, 1)


@given(arrays(np.float64, 20, elements=unit), arrays(np.float64, 20, elements=unit),
       st.floats(0, 0.5), st.floats(0, 0.2))  # fmt: skip
def test_the_three_answers_are_chances_that_sum_to_one(before, after, tolerance, spread):
    for shares in (
        survey.change(before, after, tolerance, spread),
        survey.sympathy(before, after, tolerance, spread),
    ):
        assert np.all(shares >= -1e-12) and np.all(shares <= 1 + 1e-12)
        np.testing.assert_allclose(shares.sum(axis=-1), 1.0)


@given(arrays(np.float64, 20, elements=unit), unit, st.floats(0, 0.2))
def test_a_higher_attraction_never_lowers_the_chance_of_a_favourable_answer(a, cut, spread):
    ordered = np.sort(a)
    answers = survey.favourable(ordered, cut, spread)
    assert np.all(np.diff(answers) >= -1e-12)


def test_a_change_beyond_the_tolerance_is_reported_and_a_small_one_is_not():
    before = np.full(4, 0.5)
    after = np.array([0.1, 0.48, 0.52, 0.9])
    shares = survey.change(before, after, 0.125, 0.03)
    np.testing.assert_array_equal(shares.argmax(axis=1), [0, 1, 1, 2])  # worse, same, same, better


def test_with_no_events_and_no_adaptation_almost_everyone_answers_unchanged():
    """Attitudes at rest stay at rest: two years apart, the panel answers 'unchanged'. The
    answer function alone makes 3 % report a change of nothing (2 x logistic(-0.125 / 0.03));
    monthly chance in exposure adds about two points."""
    spec, profile, _ = load_with_profile(
        "baseline", {"run.population": 3000, "mechanisms.adaptation": False}
    )
    spec = spec.model_copy(update={"events": []})
    model = MultivectorModel(spec, profile, tables=False, until="2017-01")
    pop = model.public.persons
    ids, before = pop.person_id.copy(), pop.attraction.copy()
    model.run_to()
    _, i0, i1 = np.intersect1d(ids, pop.person_id, return_indices=True)
    s = model.params.survey
    shares = survey.change(before[i0], pop.attraction[i1], s.change_tolerance, s.spread)
    unchanged = shares[..., 1].mean(axis=0)
    assert np.all(unchanged > 0.94), unchanged


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (15, 3), elements=unit), unit, st.floats(0.01, 0.2) | st.just(0.0))
def test_the_compiled_share_equals_the_mean_of_the_answers(a, cut, spread):
    from sim.model import rules

    expected = survey.favourable(a, cut, spread).mean(axis=0)
    shares = rules.shares_answering_yes(a, np.array([cut, 0.5]), spread)
    np.testing.assert_allclose(shares[0], expected, atol=1e-5)


def test_the_months_poll_is_the_persons_answers_and_sees_a_shock():
    """The poll's shares in a month are the persons' answers, with a hard cut-off (a count)
    and with a logistic answer (the table, to its 1e-6); asked again after a shock within
    the month (the dashboard's button), they are the shocked persons' (fails if the month's
    shares were kept past the change)."""
    for spread in (0.0, 0.05):
        model = tiny_model(seed=4, **{"survey.spread": spread}).run_to("2016-03")
        s, persons = model.params.survey, model.public.persons
        for shocked in (False, True):
            if shocked:
                model.public.shock(0, 0.4, np.ones(model.public.size, bool))
            a = persons.attraction
            for measure, answer, cut in (
                (measures.favourable, survey.favourable, s.favourable_cut),
                (measures.approval, survey.approval, s.approval_cut),
            ):
                expected = answer(a, cut, s.spread).mean(axis=0)
                np.testing.assert_allclose(measure(model), expected, atol=1e-6)


def test_the_audiences_are_the_persons_means_and_an_empty_group_is_everyone():
    """The means officials weigh (measures.audiences) are numpy's numbers from the month's
    whole-number sums, the persons' mean attraction to 1e-9; with no elite, the elites'
    mean is everyone's; asked again after a change of persons, they are the new ones'."""
    model = tiny_model(seed=4).run_to("2015-06")
    persons, powers = model.public.persons, len(model.powers)
    for no_elite in (False, True):
        if no_elite:
            persons.elite[:] = False
            model.public.revision += 1  # persons changed: the sums are made again
        sums, _ = model.public.sums(measures.poll_table(model.params.survey))
        scaled = sums / measures.FIXED
        counts = sums[:, powers].astype(np.float64)
        public = scaled[0, :powers] / max(counts[0], 1.0)
        expected = [
            public,
            *(scaled[r, :powers] / counts[r] if counts[r] else public for r in (1, 2)),
        ]
        got = measures.audiences(model)
        for mean, want in zip(got, expected, strict=True):
            np.testing.assert_array_equal(mean, want)
            assert not mean.flags.writeable
        np.testing.assert_allclose(got[0], persons.attraction.mean(axis=0, dtype=float), atol=1e-9)
        if no_elite:
            np.testing.assert_array_equal(got[1], got[0])
        _, counted, identity = measures.person_sums(model)
        np.testing.assert_array_equal(counted, counts)
        assert identity == scaled[0, -1]


def test_the_poll_sums_each_persons_chances_in_whole_numbers():
    """The poll's shares are each person's chance of each answer, the answer table
    interpolated at their attraction (rules.shares_on_table's numbers), rounded to 2**-40
    a person and summed: to 1e-12 of the interpolated mean; with a hard cut-off (no
    spread), the share above the cut. Asked with another instrument (another cut-off or
    spread), in the month or months later, they are that instrument's."""
    model = tiny_model(seed=4).run_to("2015-06")
    s = model.params.survey
    instruments = [
        (s.favourable_cut, s.approval_cut, s.spread, 0),
        (s.favourable_cut, s.approval_cut, 0.05, 0),
        (0.3, s.approval_cut, 0.05, 0),
        (0.3, 0.7, 0.05, 2),
        (0.3, 0.7, 0.0, 0),
        (0.4, 0.6, 0.0, 1),
        (0.4, 0.6, 0.02, 1),
    ]
    for favourable, approval, spread, months in instruments:
        s.favourable_cut, s.approval_cut, s.spread = favourable, approval, spread
        for _ in range(months):  # the sums kept and mended by the renewal, of this table
            model.step()
        a = model.public.persons.attraction
        cuts = np.array([s.favourable_cut, s.approval_cut])
        expected = rules.shares_on_table(a, cuts, spread, rules.answer_table(cuts, spread))
        got = measures.poll(model)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert not got.flags.writeable


def test_the_polls_table_is_one_of_floats_and_the_sums_take_no_other():
    """The poll's table is made from floats, whatever numbers the instrument holds (an
    event clamps a value to a bound, which may be an integer): numba compiles the table
    once. The month's sums take that table only: read-only, a grid point's two chances
    side by side."""
    from types import SimpleNamespace

    whole = measures.poll_table(SimpleNamespace(favourable_cut=1, approval_cut=0, spread=0))
    assert whole is measures.poll_table(
        SimpleNamespace(favourable_cut=1.0, approval_cut=0.0, spread=0.0)
    )
    assert whole.shape == (rules.ANSWER_GRID + 1, 2) and not whole.flags.writeable
    assert not measures._favourable_table(1.0, 0.0).flags.writeable  # the group table's
    assert all(str(kind[1]) == "float64" for kind in rules.answer_table.signatures)
    public = tiny_model(seed=4).public
    writable, transposed = whole.copy(), np.ascontiguousarray(whole.T)
    transposed.flags.writeable = False
    for wrong in (writable, transposed):
        with pytest.raises(ValueError, match="poll_table"):
            public.sums(wrong)
