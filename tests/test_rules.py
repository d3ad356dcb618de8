"""Unit tests and properties of the behavioural rules (sim.model.rules), without a model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import sparse

from sim.model import rules
from sim.model.streams import handle

finite = st.floats(-5, 5, allow_nan=False)


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)), elements=finite))
def test_projection_lands_on_the_simplex(values):
    w = rules.project_to_simplex(values)
    assert np.all(w >= 0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


def _brute_force_report(scores: np.ndarray, lam: float, step: int = 40) -> float:
    """Best objective u.w - lam |w|^2 over a grid on the simplex."""
    best = -np.inf
    for cut in itertools.product(range(step + 1), repeat=scores.size - 1):
        if sum(cut) <= step:
            w = np.array([*cut, step - sum(cut)]) / step
            best = max(best, scores @ w - lam * w @ w)
    return best


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(2, 3), elements=st.floats(-2, 2)), st.floats(0.05, 5))
def test_balanced_report_is_the_optimum(scores, lam):
    """The projection is the exact optimum: no grid point on the simplex does better."""
    w = rules.balanced_report(scores, lam)
    value = scores @ w - lam * w @ w
    assert value >= _brute_force_report(scores, lam) - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(2, 16),
    st.sampled_from(["none", "zero", "some"]),
    st.floats(0.0, 0.5),
    st.floats(0.05, 5),
    st.integers(0, 2**32 - 1),
)
def test_the_officials_reports_drawn_together_are_each_balanced_report(
    officials, powers, floors, noise, strength, seed
):
    """The compiled pass draws numpy's normal errors for every official and power, in order,
    and gives each official the balanced report of their scores, floors kept: the numbers
    of the array forms, and the stream ends where numpy's would."""
    rng = np.random.default_rng(seed)
    shared, biases = rng.normal(0, 0.5, powers), rng.normal(0, 0.3, (officials, powers))
    kept = {
        "none": None,
        "zero": np.zeros(powers),
        "some": rules.security_floors(rng.random(powers), 0.3),
    }[floors]
    stream, same = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    reports = rules.balanced_reports(
        handle(stream),
        shared,
        biases,
        noise,
        strength,
        np.empty(0) if kept is None else kept,
        1.0 if kept is None else 1.0 - float(kept.sum()),
    )
    scores = shared[None, :] + biases + same.normal(0.0, noise, biases.shape)
    np.testing.assert_array_equal(reports, rules.balanced_report(scores, strength, kept))
    assert stream.bit_generator.state == same.bit_generator.state


def test_balance_strength_moves_from_bandwagon_to_even_split():
    scores = np.array([1.0, 0.6, 0.2, 0.1])
    np.testing.assert_allclose(rules.balanced_report(scores, 1e-3), [1, 0, 0, 0])
    np.testing.assert_allclose(rules.balanced_report(scores, 1e4), [0.25] * 4, atol=1e-4)
    np.testing.assert_allclose(rules.logit_report(scores, 0.0), [1, 0, 0, 0])
    # a noise too small to divide by (found by hypothesis: 2.2e-311) is the limit, not NaN
    np.testing.assert_allclose(rules.logit_report(scores, 2.2e-311), [1, 0, 0, 0])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.just(4)), elements=finite),
    arrays(np.float64, 4, elements=st.floats(0, 1)),
    st.floats(0, 0.9),
    st.floats(0.05, 5),
)
def test_security_floors_are_kept_and_the_rest_is_balanced(scores, security, floor, lam):
    floors = rules.security_floors(security, floor)
    assert floors.sum() <= floor + 1e-12
    for w in (
        rules.balanced_report(scores, lam, floors),
        rules.logit_report(scores, 0.1, floors),
    ):
        assert np.all(w >= floors - 1e-12)
        np.testing.assert_allclose(w.sum(axis=-1), 1.0)
    # the balanced report is still the nearest feasible point to scores / (2 lam): above
    # their floors, every share sits the same distance tau below its target, and a power
    # held at its floor has a target at most tau above it
    w = rules.balanced_report(scores, lam, floors)
    target = scores / (2 * lam)
    for row, t in zip(w, target, strict=True):
        free = row > floors + 1e-9
        tau = (t - row)[free]
        np.testing.assert_allclose(tau, tau[0], atol=1e-9)
        assert np.all(t[~free] - floors[~free] <= tau[0] + 1e-9)


def test_a_floor_that_does_not_bind_changes_nothing():
    scores = np.array([[1.0, 0.6, 0.2, 0.1]])
    plain = rules.balanced_report(scores, 2.0)
    floors = rules.security_floors(np.array([0.85, 0.06, 0.0, 0.0]), 0.25)
    np.testing.assert_allclose(rules.balanced_report(scores, 2.0, floors), plain)
    # a bandwagon report still keeps the floors
    bandwagon = rules.balanced_report(scores, 1e-3, floors)
    np.testing.assert_allclose(bandwagon, [[1 - 0.015, 0.015, 0, 0]])


def test_without_balancing_an_official_leans_toward_the_best_score():
    scores = np.array([[1.0, 0.6, 0.2, 0.1]])
    lean = rules.logit_report(scores, 0.1)[0]
    assert lean.sum() == pytest.approx(1) and np.all(np.diff(lean) < 0)
    assert 0.5 < lean[0] < 1.0  # a lean, not the whole
    # the logit is the chance of being best under Gumbel errors of that spread
    rng = np.random.default_rng(3)
    scale = 0.1 * np.sqrt(6) / np.pi
    draws = scores + rng.gumbel(0.0, scale, (200_000, 4))
    np.testing.assert_allclose(
        np.bincount(draws.argmax(axis=1), minlength=4) / 2e5, lean, atol=0.005
    )


def test_effective_number_counts_equal_vectors():
    assert rules.effective_number(np.full(4, 0.25)) == pytest.approx(4)
    assert rules.effective_number(np.array([1.0, 0, 0])) == pytest.approx(1)


def test_affinity_is_one_minus_mean_distance():
    culture = np.array([[0.0, 0.5, 1.0]])
    messages = np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]])
    np.testing.assert_allclose(rules.affinity(culture, messages), [[1.0, 1 - 2 / 3]])


def test_persuasion_saturates_and_backlash_needs_identity():
    a = np.array([[0.0, 0.5, 1.0]])
    moved = rules.elementwise(rules.persuasion)(a, np.ones((1, 3)), 0.5, 0.2)
    np.testing.assert_allclose(moved, [[0.1, 0.05, 0.0]])
    hits = np.ones((1, 3))
    # news everyone condemns (framing -1): the backlash of study §5.2, beta k iota a
    framed_response = rules.elementwise(rules.framed_response)
    np.testing.assert_allclose(framed_response(a, -hits, np.array([0.0]), 0.5), 0.0)
    np.testing.assert_allclose(framed_response(a, -hits, np.array([1.0]), 0.5), -0.5 * a)


@given(
    st.floats(0, 1),  # attraction
    st.floats(-2, 2),  # framed news heard
    st.floats(0, 1),  # identity
)
def test_framed_news_moves_attraction_by_its_sign_and_stays_in_bounds(a, framed, identity):
    """Condemned news lowers attraction, justified news raises it, and while strength x
    news is at most 1 neither can push it out of [0, 1]."""
    change = float(rules.framed_response(a, framed, identity, 0.5))
    assert change <= 0 if framed < 0 else change >= 0
    assert -1e-12 <= a + change <= 1 + 1e-12


def test_condemned_news_hurts_those_with_strong_identity_and_justified_news_the_others():
    weak, strong = 0.1, 0.9
    framed_response = rules.elementwise(rules.framed_response)
    condemned = framed_response(0.5, -1.0, np.array([weak, strong]), 0.1)
    justified = framed_response(0.5, 1.0, np.array([weak, strong]), 0.1)
    assert condemned[1] < condemned[0] < 0 < justified[1] < justified[0]


def test_relaxation_pulls_toward_the_baseline():
    a, base = np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]])
    assert np.all(np.sign(-rules.elementwise(rules.relaxation)(a, base, 0.1)) == np.sign(base - a))


def test_bounded_confidence_ignores_distant_neighbours():
    # a path 0 - 1 - 2 with attraction 0.0, 0.1, 0.9 toward one power
    net = sparse.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], float))
    a = np.array([[0.0], [0.1], [0.9]])
    pull = np.empty(1)
    pulls = []
    for i in range(3):
        rules.neighbour_pulls(a, net.indptr, net.indices, i, 0.2, pull)
        pulls.append(pull[0])
    # person 0 is pulled to person 1; person 1 hears only person 0; person 2 nobody
    np.testing.assert_allclose(pulls, [0.1, -0.1, 0.0])


@settings(max_examples=40, deadline=None)
@given(
    powers=st.integers(1, 9),
    persons=st.integers(2, 30),
    layout=st.sampled_from(["C", "F", "every other column"]),
    confidence=st.floats(0.0, 1.0),
    wide=st.booleans(),
    single=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_neighbour_pulls_match_the_plain_mean_of_close_neighbours(
    powers, persons, layout, confidence, wide, single, seed
):
    # blocks of four powers go through vector instructions (rules.pulls_of_four), the rest
    # through scalar code: both must equal the rule written out, to the bit, in any layout,
    # attraction held in single precision or double, computed in double either way
    rng = np.random.default_rng(seed)
    net = sparse.csr_array(rng.random((persons, persons)) < 0.3)
    a = rng.random((persons, 2 * powers)).astype(np.float32 if single else np.float64)
    a = {"C": np.ascontiguousarray(a[:, :powers]), "F": np.asfortranarray(a[:, :powers])}.get(
        layout, a[:, ::2]
    )
    pull = np.empty(powers)
    indptr, indices = (x.astype(np.int64 if wide else np.int32) for x in (net.indptr, net.indices))
    for i in range(persons):
        rules.neighbour_pulls(a, indptr, indices, i, confidence, pull)
        for p in range(powers):
            total = count = 0.0
            for j in net.indices[net.indptr[i] : net.indptr[i + 1]]:
                d = float(a[j, p]) - float(a[i, p])  # Python's floats: double precision
                close = 1.0 if abs(d) < confidence else 0.0
                total += close * d
                count += close
            assert pull[p] == (total / count if count > 0 else 0.0)


def test_drive_gates_channels_by_language():
    exposure = np.array([[1.0, 1.0]])
    signal = np.array([[0.3, 0.2]])
    gated = np.array([True, False])
    no_language = rules.drive(exposure, signal, np.array([[0.0]]), gated)
    full_language = rules.drive(exposure, signal, np.array([[1.0]]), gated)
    np.testing.assert_allclose([no_language[0, 0], full_language[0, 0]], [0.2, 0.5])


def test_language_access_takes_the_best_spoken_language():
    speaks = np.array([[True, False], [True, True], [False, False]])
    availability = np.array([[1.0, 0.3], [0.2, 0.6]])
    np.testing.assert_allclose(
        rules.language_access(speaks, availability), [[1.0, 0.2], [1.0, 0.6], [0.0, 0.0]]
    )


@given(
    arrays(np.float64, 7, elements=st.floats(0, 3)),
    arrays(np.float64, 7, elements=st.floats(0, 1)),
    st.floats(0, 1),
)
def test_reallocation_keeps_total_effort(effort, gain, shift):
    moved = rules.reallocate(effort, gain, shift)
    assert moved.sum() == pytest.approx(effort.sum())
    assert np.all(moved >= 0)


def test_stereotypes_are_milder_among_elites():
    public, elite = rules.elementwise(rules.stereotype)(1.0, 0.4, 0.5, np.array([1.0, 0.5]))
    assert elite == pytest.approx(public / 2)


# --- the state's and the powers' rules -----------------------------------------------------


def test_screening_reaches_legal_channels_only_weakly_and_stays_in_bounds():
    screenability = np.array([0.1, 1.0])  # a legal channel, grants
    screened = rules.screening(screenability, 0.5, np.array([0.0, 0.9]))
    np.testing.assert_allclose(screened, [[0.05, 0.5], [0.14, 1.0]])


@given(
    arrays(np.float64, 4, elements=st.floats(0, 1)),
    arrays(np.float64, 4, elements=st.floats(0, 1)),
    st.floats(0, 1),
)
def test_counter_measures_answer_dominance_and_stay_in_bounds(alignment, counter, promotion):
    after, promoted = rules.counter_measures(alignment, counter, promotion, 0.4, 0.01, 0.005)
    assert np.all((after >= 0) & (after <= 1)) and 0 <= promoted <= 1
    calm = alignment <= 0.4  # no excess: they only lapse
    np.testing.assert_allclose(after[calm], counter[calm] * (1 - 0.005))
    more, _ = rules.counter_measures(
        np.minimum(alignment + 0.1, 1), counter, promotion, 0.4, 0.01, 0.005
    )
    assert np.all(more >= after - 1e-12)  # a larger excess, a stronger answer
    if (alignment <= 0.4).all():
        assert promoted == pytest.approx(promotion * (1 - 0.005))


@given(
    arrays(np.float64, 4, elements=st.floats(-0.5, 1.5) | st.just(float("nan"))),
    arrays(np.float64, 4, elements=st.floats(0, 1)),
    st.floats(0, 1),
    st.integers(1, 60).flatmap(lambda k: arrays(np.float64, (k, 4), elements=st.floats(0, 1))),
    st.floats(0, 1),
)
def test_the_compiled_policy_rules_are_numpys_to_the_bit(
    alignment, counter, promotion, reports, speed
):
    """rules.move_policy and rules.counter_measures give the numbers of their numpy
    definitions (the mean report as numpy sums it; NaN where numpy has it)."""
    moved = (1.0 - speed) * alignment + speed * (np.add.reduce(reports, axis=0) / len(reports))
    assert_same_numbers(rules.move_policy(alignment, reports, speed), moved)
    excess = np.maximum(alignment - 0.4, 0.0) / 0.4
    expected = counter + 0.01 * excess * (1.0 - counter) - 0.005 * counter
    expected = np.minimum(np.maximum(expected, 0.0), 1.0)
    top = float(excess.max(initial=0.0))
    promoted = promotion + 0.01 * top * (1.0 - promotion) - 0.005 * promotion
    after, got = rules.counter_measures(alignment, counter, promotion, 0.4, 0.01, 0.005)
    assert_same_numbers(after, expected)
    assert got == min(1.0, max(0.0, promoted))


def assert_same_numbers(got, expected):
    """The same numbers, NaN where NaN, and the same sign of every zero."""
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@given(
    arrays(np.float64, 7, elements=st.floats(-1, 2) | st.just(float("nan"))),
    st.floats(-1, 2),
    arrays(np.float64, 4, elements=st.floats(-1, 2) | st.just(float("nan"))),
)
def test_the_compiled_screening_is_numpys_to_the_bit(screenability, lever, counter):
    expected = screenability[None, :] * (lever + counter[:, None])
    expected = np.minimum(np.maximum(expected, 0.0), 1.0)
    assert_same_numbers(rules.screening(screenability, lever, counter), expected)


@given(
    st.integers(2, 16).flatmap(
        lambda powers: arrays(
            np.float64, (6, powers), elements=st.floats(-2, 2) | st.just(float("nan"))
        )
    ),
    arrays(np.float64, 5, elements=st.floats(-3, 3)),
)
def test_the_compiled_shared_score_is_numpys_to_the_bit(terms, weights):
    """rules.shared_score gives the numbers of its numpy definition, for 2 to 16 powers (the
    means as numpy sums them: one after another below 8, in lanes from 8)."""
    offers, leverage, public, elite, advocacy, grants = terms

    def mean(values):
        return np.add.reduce(values) / values.size

    w = weights.tolist()
    expected = (
        w[0] * offers
        + w[1] * leverage
        + w[2] * (public - mean(public))
        + w[3] * (elite - mean(elite))
        + w[4] * (advocacy - mean(advocacy)) * (1.0 - grants)
    )
    score = rules.shared_score(offers, leverage, public, elite, advocacy, grants, *w)
    assert_same_numbers(score, expected)


def test_a_month_of_policy_is_the_move_then_the_counter_measures():
    """rules.next_policy is rules.move_policy, then rules.counter_measures on the moved
    alignment when they are on; else the counter-measures and promotion as they were."""
    rng = np.random.default_rng(3)
    alignment, reports, counter = rng.random(4), rng.random((30, 4)), rng.random(4)
    moved = rules.move_policy(alignment, reports, 0.2)
    after, promoted = rules.counter_measures(moved, counter, 0.3, 0.25, 0.01, 0.005)
    got = rules.next_policy(alignment, reports, 0.2, counter, 0.3, 0.25, 0.01, 0.005, True)
    assert_same_numbers(got[0], moved)
    assert_same_numbers(got[1], after)
    assert got[2] == promoted
    off = rules.next_policy(alignment, reports, 0.2, counter, 0.3, 0.25, 0.01, 0.005, False)
    assert_same_numbers(off[0], moved)
    assert_same_numbers(off[1], counter)
    assert off[2] == 0.3


@pytest.mark.parametrize("share", [0.45, 0.6, 0.99])
def test_counter_measures_settle_below_their_bound_under_lasting_dominance(share):
    """No ratchet: against a power that stays past theta they settle where their rise meets
    their cost, rise e / (rise e + fall), and with it the promotion they add."""
    alignment = np.array([share, *[(1 - share) / 3] * 3])  # the others below theta
    counter, promotion = np.zeros(4), 0.0
    for _ in range(5000):
        counter, promotion = rules.counter_measures(alignment, counter, promotion, 0.4, 0.01, 0.005)
    excess = (share - 0.4) / 0.4
    rest = 0.01 * excess / (0.01 * excess + 0.005)
    assert counter[0] == pytest.approx(rest, rel=1e-6) and promotion == pytest.approx(rest)
    assert rest < 1 and counter[1:].max() == 0


@settings(deadline=None)  # the first call compiles identity_update (numba)
@given(arrays(np.float64, 5, elements=st.floats(0, 1)), st.floats(0, 1), st.floats(0, 0.5))
def test_identity_stays_in_bounds_and_rests_at_its_baseline_without_promotion(
    identity, promotion, decay
):
    updated = rules.identity_update(identity, identity * 0.5, promotion, 0.02, decay)
    assert np.all((updated >= 0) & (updated <= 1))
    at_rest = rules.identity_update(identity, identity, 0.0, 0.02, decay)
    np.testing.assert_allclose(at_rest, identity)


@given(
    st.floats(0, 5),  # drive
    st.floats(0, 1),  # receptivity
    st.floats(0, 1),  # baseline
    st.floats(0.01, 1),  # alpha
    st.floats(0.001, 1),  # delta
    st.floats(0, 0.5),  # expected loss rate from condemned news
    st.floats(0, 0.5),  # expected gain rate from justified news
)
def test_the_starting_attraction_is_at_rest_under_the_expected_forces(
    drive, receptivity, baseline, rate, relaxation, loss, gain
):
    """At a*, persuasion and expected justified news balance relaxation and condemned news
    (unless a* was clipped)."""
    a = float(
        rules.equilibrium_attraction(
            np.array(drive),
            np.array(receptivity),
            np.array(baseline),
            rate,
            relaxation,
            np.array(loss),
            np.array(gain),
        )
    )
    change = rules.persuasion(a, drive, receptivity, rate)
    change -= rules.relaxation(a, baseline, relaxation)
    change += gain * (1 - a) - loss * a
    assert 0 <= a <= 1
    assert change == pytest.approx(0, abs=1e-9)


@given(
    arrays(np.float64, 7, elements=st.floats(0, 5)),
    st.floats(0, 20),
    arrays(np.bool_, 7),
)
def test_effort_is_fitted_to_capacity_from_the_free_channels_first(effort, capacity, free):
    fitted = rules.fit_capacity(effort, capacity, free)
    # numpy's numbers, to the bit (numpy sums fewer than eight numbers one after another)
    if effort.sum() <= capacity:
        expected = effort
    elif capacity - effort[~free].sum() <= 0 or not free.any():
        expected = effort * capacity / effort.sum()
    else:
        expected = effort.copy()
        expected[free] *= (capacity - effort[~free].sum()) / effort[free].sum()
    np.testing.assert_array_equal(fitted, expected)
    assert fitted.sum() <= max(capacity, 0) + 1e-9 or effort.sum() <= capacity
    assert np.all(fitted >= 0) and np.all(fitted <= effort + 1e-12)
    if effort.sum() > capacity and effort[~free].sum() < capacity and free.any():
        np.testing.assert_array_equal(fitted[~free], effort[~free])  # held channels kept


@given(
    arrays(np.float64, (3, 16), elements=st.floats(0, 5) | st.just(float("nan"))),
    arrays(np.float64, (4, 7), elements=st.floats(0, 1)),
    st.permutations(range(4)),
)
def test_the_compiled_emission_is_numpys_to_the_bit(values, screening, order):
    """rules.emitted, on each power's effort, presence, efficiency and capacity in a row,
    gives numpy's numbers: the powers whose effort does not sum within capacity (NaN
    included), and unit signal (rules.unit_signal, in numpy) and signal."""
    channels = 7
    rows = np.array(order[:3], np.int64)
    effort, presence = values[:, :channels], values[:, channels : 2 * channels]
    efficiency, capacity = values[:, 2 * channels], values[:, -1]
    expected = np.flatnonzero(~(effort.sum(axis=1) <= capacity)).tolist()
    over, units, signals = rules.emitted(values, screening, rows, channels)
    assert list(over) == expected
    unit = efficiency[:, None] * presence * (1.0 - screening[rows])  # numpy's numbers
    assert_same_numbers(units, unit)
    assert_same_numbers(signals, unit * effort)


def test_heard_shares_split_each_channel_among_the_powers():
    rng = np.random.default_rng(1)
    access = rng.random((50, 3))
    engagement = rng.random((50, 4))
    signals = rng.random((3, 4))
    gated = np.array([True, False, True, False])
    shares = rules.heard_shares(access, engagement, signals, gated)
    np.testing.assert_allclose(shares.sum(axis=0), 1.0)
    signals[:, 1] = 0.0
    np.testing.assert_array_equal(rules.heard_shares(access, engagement, signals, gated)[:, 1], 0)


def test_marginal_gain_is_the_sum_over_persons_of_room_times_reach():
    rng = np.random.default_rng(2)
    receptivity, attraction, access = rng.random((5, 2)), rng.random((5, 2)), rng.random((5, 2))
    engagement, gated = rng.random((5, 3)), np.array([True, False, True])
    expected = np.zeros((2, 3))
    for i in range(5):
        for p in range(2):
            for c in range(3):
                reach = (access[i, p] if gated[c] else 1.0) * engagement[i, c]
                expected[p, c] += receptivity[i, p] * (1 - attraction[i, p]) * reach
    np.testing.assert_allclose(
        rules.marginal_gain(receptivity, attraction, access, engagement, gated), expected
    )


@given(arrays(np.float64, 30, elements=st.floats(0, 0.5)), st.floats(0, 0.2))
def test_leaving_is_a_chance_that_grows_with_the_hazard(hazard, inflow):
    thinning = rules.thinning(float(hazard.mean()), inflow)
    chance = rules.leave_chance(hazard, thinning, 1 / 12)
    assert np.all((chance >= 0) & (chance <= 1))
    order = np.argsort(hazard)
    assert np.all(np.diff(chance[order]) >= -1e-15)
    # while the population grows, everyone also leaves at the thinning rate
    assert chance.min() >= 1 - np.exp(-max(0.0, inflow - hazard.mean()) / 12) - 1e-15


@settings(deadline=None)  # the first example compiles the pass
@given(
    arrays(np.int16, 40, elements=st.integers(0, 1300) | st.sampled_from([25 * 12 - 1])),
    arrays(np.int8, 40, elements=st.integers(0, 2)),
)
def test_a_month_of_ageing_moves_bands_and_counts_cells(age_months, ethnicity):
    floors = np.array([15, 30, 60]) * 12
    before = age_months.copy()
    band = (np.searchsorted(floors, age_months, side="right") - 1).clip(0).astype(np.int8)
    old_band = band.copy()
    moved, over, cells, turned = rules.age_one_month(
        age_months, band, ethnicity, floors, 1200, 3, 25 * 12
    )
    np.testing.assert_array_equal(age_months, before + 1)
    np.testing.assert_array_equal(turned, np.flatnonzero(age_months == 25 * 12))
    expected = (np.searchsorted(floors, age_months, side="right") - 1).clip(0)
    np.testing.assert_array_equal(band, expected)
    np.testing.assert_array_equal(moved, np.flatnonzero(band != old_band))
    np.testing.assert_array_equal(over, np.flatnonzero(age_months + 1 > 1200))
    np.testing.assert_array_equal(cells, np.histogram2d(band, ethnicity, [range(4), range(4)])[0])
    # the renewal's call: the same ages, then the population's flows of those cells
    hazard, immigrants = np.linspace(0.01, 0.2, 9).reshape(3, 3), np.array([0.0, 0.01, 0.003])
    ages, bands = before + 1, old_band.copy()
    *rows, immigration, mean_hazard, inflow = rules.month_of_ageing(
        ages, bands, ethnicity, floors, 1200, 3, 25 * 12, hazard, immigrants, 0.02
    )
    np.testing.assert_array_equal(ages, before + 2)
    again = rules.age_one_month(before + 1, old_band.copy(), ethnicity, floors, 1200, 3, 25 * 12)
    for got, expected in zip(rows, (again[0], again[1], again[3]), strict=True):
        np.testing.assert_array_equal(got, expected)
    flows = rules.population_flows(again[2], ages.size, hazard, immigrants, 0.02)
    assert (immigration, mean_hazard, inflow) == flows


def test_bernoulli_rows_follow_each_rows_chance():
    chance = np.where(np.arange(200_000) % 2 == 0, 0.002, 0.01)
    picks = np.zeros(chance.size)
    rng = np.random.default_rng(5)
    for _ in range(20):
        rows = rules.bernoulli_rows(rng, chance.size, 0.01, lambda r: chance[r])
        assert np.all(np.diff(rows) > 0)  # sorted, no row twice
        picks[rows] += 1
    # 20 x 100,000 draws per class: the counts' sd is about 0.7 % and 0.3 % of their means
    assert picks[::2].sum() / (20 * 100_000) == pytest.approx(0.002, rel=0.05)
    assert picks[1::2].sum() / (20 * 100_000) == pytest.approx(0.01, rel=0.03)
    assert rules.bernoulli_rows(rng, 10, 0.0, lambda r: np.zeros(r.size)).size == 0


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 400),
    top=st.one_of(st.just(1.0), st.floats(0.0, 0.2)),
    over=st.lists(st.integers(0, 399), max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_leavers_are_the_bernoulli_rows_of_their_cell_and_those_past_the_oldest_age(
    n, top, over, seed
):
    # the run's compiled pass draws the same rows as bernoulli_rows (numpy's draws) with each
    # (band, group) cell's chance, merged with the rows over age, and leaves the stream there
    rng = np.random.default_rng(seed)
    band, group = rng.integers(0, 4, n), rng.integers(0, 3, n)
    chance = rng.random((4, 3)) * top
    over = np.unique(np.array([r for r in over if r < n], np.int64))
    one, other = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    expected = np.union1d(
        rules.bernoulli_rows(one, n, top, lambda r: chance[band[r], group[r]]), over
    )
    rows = rules.leavers(handle(other), top, chance, band, group, over)
    np.testing.assert_array_equal(rows, expected)
    assert rows.dtype == np.int64
    assert one.bit_generator.state == other.bit_generator.state  # the stream in step
    with pytest.raises(ValueError, match="NaN"):  # as numpy's binomial refuses it
        rules.leavers(handle(other), float("nan"), chance, band, group, over)


@settings(max_examples=200, deadline=None)
@given(
    n=st.one_of(st.integers(1, 30), st.integers(1, 12_000), st.integers(10_001, 40_000)),
    share=st.one_of(st.just(1.0), st.floats(0.0, 0.1)),
    seed=st.integers(0, 2**32 - 1),
)
def test_rows_drawn_are_numpys_choice_without_replacement_sorted(n, share, seed):
    """numpy draws k of n rows by Floyd's algorithm and a shuffle, or, from more than 10,000
    rows and more than a fiftieth of them, by shuffling the tail of all of them: both give
    numpy's rows from its draws, and leave the stream where numpy's choice leaves it."""
    k = min(n, round(share * n))
    one, other = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = np.sort(one.choice(n, k, replace=False))
    rows = rules.rows_drawn(other, n, k)
    np.testing.assert_array_equal(rows, expected)
    assert one.bit_generator.state == other.bit_generator.state


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 60),
    st.integers(1, 5),
    st.floats(0.3, 3.0),
    st.integers(0, 2**32 - 1),
)
def test_alumni_ties_are_a_draw_below_their_areas_weight_times_the_flow(m, powers, weight, seed):
    """A returning alumnus holds a tie to power p where a uniform draw, numpy's
    ``random((rows, P))`` from the stream, is below the area's weight (1.5 in towns, 0.5
    elsewhere, over ``ties_weight``) times the flow; other rows are not written."""
    rng = np.random.default_rng(seed)
    n = 80
    rows = np.sort(rng.choice(n, min(m, n), replace=False)).astype(np.int64)
    urban, flows = rng.random(n) < 0.5, rng.random(powers) * 2
    ties = rng.random((n, powers)) < 0.5
    before = ties.copy()
    stream, same = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    rules.ties_drawn(handle(stream), rows, urban, weight, flows, ties)
    chance = (np.where(urban[rows], 1.5, 0.5) / weight)[:, None] * flows[None, :]
    expected = before.copy()
    expected[rows] = same.random(chance.shape) < chance
    np.testing.assert_array_equal(ties, expected)
    assert stream.bit_generator.state == same.bit_generator.state


def test_projection_back_and_forth_returns_the_value():
    growth = np.array([0.02, -0.01])
    there = rules.projected(np.array([0.7, 0.2]), growth, -6)
    np.testing.assert_allclose(rules.projected(there, growth, 6), [0.7, 0.2])


@settings(deadline=None)  # the first call compiles identity_update (numba)
@given(
    arrays(np.float64, 20, elements=st.floats(0, 1)),
    st.floats(0, 1),
    st.floats(0, 0.5),
    st.floats(0.001, 0.5),
)
def test_identity_at_rest_is_the_fixed_point_of_its_update(baseline, promotion, response, decay):
    rest = rules.equilibrium_identity(baseline, promotion, response, decay)
    assert np.all((rest >= baseline - 1e-12) & (rest <= 1))
    after = rules.identity_update(rest, baseline, promotion, response, decay)
    np.testing.assert_allclose(after, rest, atol=1e-12)


@given(
    arrays(np.float32, st.integers(0, 30), elements=st.floats(0, 1, width=32)),
    st.floats(0, 1),
    st.floats(0, 0.5),
    st.floats(0, 0.5),
)
def test_identity_at_rest_is_the_formula_to_the_bit(baseline, promotion, response, decay):
    """The compiled pass gives numpy's numbers for the fixed point, and the baseline when
    neither promotion nor decay acts."""
    rest = rules.equilibrium_identity(baseline, promotion, response, decay)
    b, pull = baseline.astype(np.float64), response * promotion
    expected = np.clip((pull + decay * b) / (pull + decay), 0.0, 1.0) if pull + decay > 0 else b
    np.testing.assert_array_equal(rest, expected)
    assert np.isnan(rules.equilibrium_identity(np.array([np.nan]), promotion, 0.5, 0.1)[0])


@given(
    arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(2, 9)), elements=st.floats(0, 5)),
    st.data(),
)
def test_the_pull_on_students_is_numpys_mean_over_the_years_to_the_bit(history, data):
    """Each power's mean education signal over the history, relative to the start's (1
    where the start had none), as numpy's sum over the first axis gives it for two powers or
    more (a scenario has at least two; numpy sums a single column pairwise)."""
    reference = data.draw(
        arrays(np.float64, history.shape[1], elements=st.just(0.0) | st.floats(1e-6, 5))
    )
    mean = np.add.reduce(history, axis=0) / history.shape[0]
    expected = np.divide(mean, reference, out=np.ones_like(mean), where=reference > 0)
    np.testing.assert_array_equal(rules.relative_means(history, reference), expected)


def test_the_compiled_update_moves_identity_as_identity_update_does():
    """monthly_update's identity is :func:`identity_update` of the month's promotion, to the
    bit."""
    model = tiny_model()
    model.run_to("2015-06")
    public, params = model.public, model.params
    persons = public.persons
    before = persons.identity.copy()
    promotion = model.state.promotion()
    public.update(
        params, model.signals(), promotion, np.random.default_rng(1), np.random.default_rng(2)
    )
    expected = rules.identity_update(
        before,
        persons.identity_baseline,
        promotion,
        params.identity.response,
        params.identity.decay,
    )
    np.testing.assert_array_equal(persons.identity, expected)


@settings(max_examples=40, deadline=None)  # the first call compiles reach_table (numba)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.sampled_from([None, 0, 2]))
def test_the_exposure_table_sums_the_drive_of_every_exposure_pattern(seed, powers, outlets):
    """The kernel's drive, three lookups in :func:`reach_table` for a person's exposure
    pattern, is :func:`drive` of that 0/1 exposure."""
    rng = np.random.default_rng(seed)
    channels, n = 4, 64
    gated = rng.random(channels) < 0.5
    signals = rng.random((powers, channels))
    access, media = rng.random((n, powers)), rng.random((n, powers))
    exposure = (rng.random((n, channels)) < 0.5).astype(np.float64)
    kinds = rules.channel_kinds(gated, outlets)
    table = rules.reach_table(signals, kinds)
    mask = (exposure.astype(int) << np.arange(channels)).sum(axis=1)
    looked_up = table[mask, rules.OPEN] + table[mask, rules.BY_LANGUAGE] * access
    if outlets is not None:
        looked_up += table[mask, rules.BY_OUTLETS] * media
    expected = rules.drive(
        exposure,
        signals,
        access,
        gated,
        None if outlets is None else media,
        -1 if outlets is None else outlets,
    )
    np.testing.assert_allclose(looked_up, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 8), st.integers(1, 6))
def test_the_exposure_tables_sums_are_the_channels_in_order(seed, channels, powers):
    """Each pattern's sums are its channels' signals added in the channels' order from 0,
    by kind of reach, to the bit (the table is made pattern from pattern)."""
    rng = np.random.default_rng(seed)
    signals = rng.random((powers, channels)) * 10.0 ** rng.integers(-8, 3, (powers, channels))
    kinds = rng.integers(0, 3, channels).astype(np.int8)
    table = rules.reach_table(signals, kinds)
    expected = np.zeros((1 << channels, 3, powers))
    for mask in range(1 << channels):
        for c in range(channels):
            if mask >> c & 1:
                expected[mask, kinds[c]] += signals[:, c]
    np.testing.assert_array_equal(table, expected)


def test_exposure_masks_set_a_channels_bit_where_its_draw_falls_below_engagement():
    """The update reads exposure as one byte a person: bit c is set exactly where the
    person's draw for channel c falls below their cell's engagement with it, for every
    person or at listed rows; drawn in the compiled pass, the draws are numpy's for the
    same stream, and the stream ends where numpy's would."""
    rng = np.random.default_rng(3)
    n, cells, channels = 500, 6, 7
    chances = rng.random((cells, channels), dtype=np.float32)
    chances[0] = 0.0  # never exposed
    chances[1] = 1.0  # always
    cell = rng.integers(0, cells, n).astype(np.uint16)
    at_chance = chances[2:3].copy()  # a draw at the chance itself is not below it
    assert rules.exposure_mask(at_chance, 0, 2, chances) == 0
    assert rules.exposure_mask(np.nextafter(at_chance, -1), 0, 2, chances) == 2**channels - 1
    stream, same = np.random.default_rng(11), np.random.default_rng(11)
    masks = np.zeros(n, np.uint8)
    rules.exposure_masks_drawn(handle(stream), masks, cell, chances)
    uniforms = same.random((n, channels), dtype=np.float32)
    bits = (masks[:, None] >> np.arange(channels)) & 1
    np.testing.assert_array_equal(bits.astype(bool), uniforms < chances[cell])
    assert stream.bit_generator.state == same.bit_generator.state
    rows = np.array([3, 40, 41, 499])
    again = np.full(n, 255, np.uint8)
    listed = np.array([41, 499, 3, 41, 40, 3])  # the rows in any order, some twice
    rules.exposure_masks_at(handle(stream), listed, again, cell, chances)
    assert (np.delete(again, rows) == 255).all()  # no other row written
    uniforms = same.random((rows.size, channels), dtype=np.float32)  # drawn for the rows
    bits = (again[rows, None] >> np.arange(channels)) & 1
    np.testing.assert_array_equal(bits.astype(bool), uniforms < chances[cell[rows]])
    assert stream.bit_generator.state == same.bit_generator.state


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=5),
    st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0)),
    st.integers(1, 300),
    st.integers(0, 2**32 - 1),
)
def test_the_news_heard_are_numpys_binomial_draws(incidents, reach, persons, seed):
    """The compiled draw of the news heard gives, power after power, the numbers numpy's
    ``binomial`` gives for the same stream (any chance, at or above 1/2 too), and leaves the
    stream where numpy's leaves it."""
    incidents = np.array(incidents)
    assert incidents.max() * min(reach, 1 - reach) <= rules.INVERSION_MOST  # by inversion
    stream, same = np.random.default_rng(seed), np.random.default_rng(seed)
    heard = np.zeros((persons, incidents.size), np.uint8)
    rules.heard_drawn(stream, incidents, reach, heard)
    expected = np.zeros_like(heard)
    for p in np.flatnonzero(incidents):
        expected[:, p] = same.binomial(incidents[p], reach, persons)
    np.testing.assert_array_equal(heard, expected)
    assert stream.bit_generator.state == same.bit_generator.state


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(0.0, 12.0), st.floats(200.0, 400.0)), max_size=6),
    st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0)),
    st.integers(1, 200),
    st.integers(0, 2**32 - 1),
)
def test_the_months_news_are_numpys_poisson_then_binomial_draws(rate, reach, persons, seed):
    """The compiled pass draws each power's incidents as numpy's ``poisson`` does, then the
    news each person heard as numpy's ``binomial``; where numpy would draw those by another
    method, or a power has more incidents than a byte holds, or none has any, it hands back
    the incidents only, the stream just past them."""
    rate = np.array(rate, np.float64)
    stream, same = np.random.default_rng(seed), np.random.default_rng(seed)
    incidents, heard = rules.news_drawn(handle(stream), rate, reach, persons)
    expected = same.poisson(rate)
    np.testing.assert_array_equal(incidents, expected)
    most = int(expected.max(initial=0))
    if most == 0 or most > 255 or most * min(reach, 1 - reach) > rules.INVERSION_MOST:
        assert heard.shape == (0, 0)
    else:
        assert heard.dtype == np.uint8 and heard.shape == (persons, rate.size)
        for p in np.flatnonzero(expected):
            np.testing.assert_array_equal(heard[:, p], same.binomial(expected[p], reach, persons))
    assert stream.bit_generator.state == same.bit_generator.state


def test_a_month_of_news_is_the_same_drawn_by_numpy_itself(monkeypatch):
    """Where the compiled pass hands the news back to numpy (many incidents), the model
    draws them with numpy's own binomials; a run whose news numpy draws every month is the
    same run as one whose news the compiled pass draws."""
    import pandas as pd

    settings = {"powers.Alpha.hostility": 24.0, "backlash.reach": 0.6}
    drawn = rules.news_drawn
    compiled_heard = []

    def record(*arguments):
        incidents, heard = drawn(*arguments)
        compiled_heard.append(heard.size)
        return incidents, heard

    monkeypatch.setattr(rules, "news_drawn", record)
    compiled = tiny_model(seed=2, **settings).run_to("2016-06")
    assert sum(size > 0 for size in compiled_heard) > 10  # the compiled pass drew the news
    # the incidents only (no person to draw for): numpy draws the news heard every month
    monkeypatch.setattr(rules, "news_drawn", lambda s, r, reach, n: drawn(s, r, reach, 0))
    by_numpy = tiny_model(seed=2, **settings).run_to("2016-06")
    for one, other in (
        (compiled.timeseries(), by_numpy.timeseries()),
        (compiled.persons(), by_numpy.persons()),
    ):
        pd.testing.assert_frame_equal(one, other, check_exact=True)


def _month_of(rng: np.random.Generator, persons: int, powers: int, options: dict) -> list:
    """Random arguments of :func:`rules.monthly_update` (after the row range): persons with
    every term, a random network, and the month's exposure and news as ``options`` say."""
    channels, cells, languages, diets = 5, 6, 4, 5
    unit = lambda *shape: rng.random(shape)  # noqa: E731
    attraction = unit(persons, 2 * powers).astype(np.float32)
    attraction[rng.random(attraction.shape) < 0.1] = 0.0  # at the bounds too
    attraction[rng.random(attraction.shape) < 0.1] = 1.0
    if options["strided"]:  # every other column: no row of four in one load
        attraction = attraction[:, ::2]
    else:
        attraction = np.ascontiguousarray(attraction[:, :powers])
    diet_access = unit(diets, powers).astype(np.float32)
    diet_access[rng.random(diet_access.shape) < 0.3] = np.nan  # no outlet names the power
    chances = unit(cells, channels).astype(np.float32)
    net = sparse.random_array((persons, persons), density=0.2, rng=rng) > 0
    net = sparse.csr_array(net + net.T)
    indptr, indices = net.indptr.astype(np.int32), net.indices.astype(np.int32)
    heard = rng.integers(0, 4, (persons, powers)).astype(np.uint8)
    social = options["social"] * rng.random()
    precision = np.float32 if options["single"] else np.float64  # the powers' arrays
    return [
        np.empty((persons, powers), np.float32),
        np.empty(persons),
        attraction,
        unit(persons),
        unit(persons).astype(np.float32),
        unit(persons, powers).astype(np.float32),
        (2 * unit(persons, powers)).astype(np.float32),
        rng.random(persons) < 0.2,
        (unit(powers) * options["stereotypes"]).astype(precision),
        unit(powers).astype(precision),
        (unit(persons, powers) - 0.5).astype(np.float32),
        rng.random((persons, powers)) < 0.3,
        rng.random((persons, powers)) < 0.3,
        rng.integers(0, cells, persons).astype(np.uint16),
        chances,
        unit(powers, channels),
        rules.channel_kinds(rng.random(channels) < 0.5, 2 if options["outlets"] else None),
        rng.integers(0, languages, persons).astype(np.int32),
        unit(languages, powers).astype(np.float32),
        rng.integers(0, diets, persons).astype(np.int32),
        diet_access if options["outlets"] else np.empty((0, powers), np.float32),
        rng.integers(0, 2**channels, persons).astype(np.uint8)
        if options["drawn"]
        else np.empty(0, np.uint8),
        heard if options["news"] else np.empty((0, 0), np.uint8),
        ((2 * unit(diets, powers) - 1) * rng.integers(0, 2, (diets, powers))).astype(np.float32),
        indptr,
        indices,
        *rules.far_ties(indptr, indices),
        rules.Rates(*unit(8), social, 0.2 + 0.6 * rng.random(), *(0.1 * unit(2))),
    ]


@settings(max_examples=60, deadline=None)  # the first examples compile the pass (numba)
@given(
    seed=st.integers(0, 2**32 - 1),
    persons=st.integers(1, 60),
    powers=st.sampled_from([4, 4, 3]),
    options=st.fixed_dictionaries(
        {
            key: st.booleans()
            for key in ("strided", "outlets", "drawn", "news", "social", "stereotypes", "single")
        }
    ),
    split=st.floats(0, 1),
)
def test_the_four_powers_side_by_side_give_the_scalar_loops_numbers(
    seed, persons, powers, options, split
):
    """With four powers the update computes their terms in one vector register
    (rules.FourLanes): it must give the scalar loop's numbers to the bit, attraction and
    identity, for every mechanism, in any layout, in parts of the rows of any size, the
    powers' arrays in single precision or double."""
    arguments = _month_of(np.random.default_rng(seed), persons, powers, options)
    out, identity = arguments[0], arguments[1]
    rules.monthly_update(0, persons, *arguments, vector=False)
    expected, expected_identity = out.copy(), identity.copy()
    assert np.all((expected >= 0) & (expected <= 1))
    out[:], identity[:] = np.nan, np.nan  # a row the pass does not write is not equal
    middle = int(split * persons)
    for first, last in ((0, middle), (middle, persons)):
        rules.monthly_update(first, last, *arguments, vector=True)
    # the same bits (assert_array_equal would take -0 for +0)
    np.testing.assert_array_equal(out.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(identity.view(np.uint64), expected_identity.view(np.uint64))


def test_the_update_refuses_far_neighbours_of_another_network():
    """The update reads the far neighbours' lists without bounds checks: lists made for
    another number of persons are refused before it reads them."""
    options = dict.fromkeys(
        ("strided", "outlets", "drawn", "news", "social", "stereotypes", "single"), True
    )
    arguments = _month_of(np.random.default_rng(1), 30, 4, options)
    arguments[-3] = np.zeros(3, np.int64)  # far_starts of 2,049 to 3,072 persons
    with pytest.raises(ValueError, match="far_starts"):
        rules.monthly_update(0, 30, *arguments)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), persons=st.integers(1, 3000), density=st.floats(0, 0.01))
def test_far_ties_are_each_blocks_ties_beyond_the_near_rows_in_order(seed, persons, density):
    net = sparse.random_array((persons, persons), density=density, rng=seed) > 0
    net = sparse.csr_array(net)
    indptr, indices = net.indptr.astype(np.int32), net.indices.astype(np.int32)
    starts, rows = rules.far_ties(indptr, indices)
    assert starts.size == -(-persons // rules.FAR_BLOCK) + 1 and starts[0] == 0
    for block in range(starts.size - 1):
        expected = [
            j
            for i in range(block * rules.FAR_BLOCK, min(persons, (block + 1) * rules.FAR_BLOCK))
            for j in indices[indptr[i] : indptr[i + 1]]
            if abs(int(j) - i) > rules.NEAR_ROWS
        ]
        assert rows[starts[block] : starts[block + 1]].tolist() == expected


@given(arrays(np.float64, st.integers(0, 400), elements=st.floats(-1e6, 1e6)))
def test_numpy_sum_is_numpys_pairwise_sum_to_the_bit(values):
    """rules.numpy_sum adds as np.add.reduce does: one after another below 8 numbers, in
    eight lanes up to 128, halves beyond."""
    assert_same_numbers(np.array(rules.numpy_sum(values)), np.array(np.add.reduce(values)))


def _numpy_dot_is_fused() -> bool:
    """Whether numpy's dot product of a few terms rounds each multiply-add once, as OpenBLAS
    does on a processor with FMA: -1 + (1 + 2**-30)(1 - 2**-30) is -2**-60 rounded once,
    0 if the product is rounded first."""
    a = np.array([1.0, 1.0 + 2.0**-30])
    b = np.array([-1.0, 1.0 - 2.0**-30])
    return float(a @ b) != 0.0


@pytest.mark.skipif(not _numpy_dot_is_fused(), reason="numpy's BLAS does not fuse multiply-adds")
@given(
    st.integers(1, 15).flatmap(
        lambda n: st.tuples(*(arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),) * 2)
    )
)
def test_small_dot_is_numpys_dot_product_to_the_bit(vectors):
    """rules.small_dot gives numpy's ``a @ b`` for fewer than 16 terms, where numpy's BLAS
    fuses its multiply-adds (so the compiled flows are numpy's numbers)."""
    a, b = vectors
    assert_same_numbers(np.array(rules.small_dot(a, b)), np.array(a @ b))


def test_small_dot_of_products_too_small_for_a_float_is_plus_zero():
    """A negative product too small for a float rounds to -0; numpy's dot (and small_dot)
    gives +0 (a case hypothesis found)."""
    a, b = np.array([3.08376145e-274]), np.array([-4.02192914e-181])
    assert_same_numbers(np.array(rules.small_dot(a, b)), np.array(0.0))
    if _numpy_dot_is_fused():
        assert_same_numbers(np.array(rules.small_dot(a, b)), np.array(a @ b))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 400), st.integers(1, 60))
def test_the_elites_turnover_is_numpys(seed, n, elites):
    """The elites' share replaced in a year is numpy's mean of their chance of leaving plus
    the thinning of the population's flows, to the bit."""
    rng = np.random.default_rng(seed)
    bands, groups = 5, 7
    band = rng.integers(0, bands, n).astype(np.int8)
    group = rng.integers(0, groups, n).astype(np.int8)
    rows = np.sort(rng.choice(n, min(elites, n), replace=False)).astype(np.int64)
    hazard = rng.random((bands, groups)) * 10.0 ** rng.integers(-4, 0, (bands, groups))
    immigrants, entrants = rng.random(groups) * 0.02, float(rng.random() * 0.03)
    cells = np.bincount(band.astype(np.int64) * groups + group, minlength=bands * groups)
    _, mean_hazard, inflow = rules.population_flows(
        cells.reshape(bands, groups), n, hazard, immigrants, entrants
    )
    expected = float(hazard[band[rows], group[rows]].mean()) + rules.thinning(mean_hazard, inflow)
    assert rules.elite_turnover(band, group, rows, hazard, immigrants, entrants) == expected


@given(
    arrays(np.int64, (4, 7), elements=st.integers(0, 500)),
    arrays(np.float64, (4, 7), elements=st.floats(0, 0.2)),
    arrays(np.float64, 7, elements=st.floats(0, 0.05)),
    st.floats(0, 0.05),
)
def test_the_compiled_population_flows_are_numpys(cells, hazard, immigrants, entrants):
    persons = int(cells.sum()) + 1
    composition = np.add.reduce(cells, axis=0) / persons
    immigration = float(composition @ immigrants)
    mean_hazard = float(np.add.reduce(cells * hazard, axis=None)) / persons
    got = rules.population_flows(cells, persons, hazard, immigrants, entrants)
    expected = (immigration, mean_hazard, entrants + immigration)
    if _numpy_dot_is_fused():
        assert got == expected
    else:
        assert got == pytest.approx(expected, rel=1e-12)
