"""Unit tests and properties of the behavioural rules (sim.model.rules), without a model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import sparse

from sim.model import rules

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


def test_balance_strength_moves_from_bandwagon_to_even_split():
    scores = np.array([1.0, 0.6, 0.2, 0.1])
    np.testing.assert_allclose(rules.balanced_report(scores, 1e-3), [1, 0, 0, 0])
    np.testing.assert_allclose(rules.balanced_report(scores, 1e4), [0.25] * 4, atol=1e-4)
    np.testing.assert_allclose(rules.bandwagon_report(scores), [1, 0, 0, 0])


def test_effective_number_counts_equal_vectors():
    assert rules.effective_number(np.full(4, 0.25)) == pytest.approx(4)
    assert rules.effective_number(np.array([1.0, 0, 0])) == pytest.approx(1)


def test_affinity_is_one_minus_mean_distance():
    culture = np.array([[0.0, 0.5, 1.0]])
    messages = np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]])
    np.testing.assert_allclose(rules.affinity(culture, messages), [[1.0, 1 - 2 / 3]])


def test_persuasion_saturates_and_backlash_needs_identity():
    a = np.array([[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(rules.persuasion(a, np.ones((1, 3)), 0.1), [[0.1, 0.05, 0.0]])
    hits = np.ones((1, 3))
    np.testing.assert_allclose(rules.backlash(a, hits, np.array([0.0]), 0.5), 0.0)
    np.testing.assert_allclose(rules.backlash(a, hits, np.array([1.0]), 0.5), 0.5 * a)


def test_relaxation_pulls_toward_the_baseline():
    a, base = np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]])
    assert np.all(np.sign(-rules.relaxation(a, base, 0.1)) == np.sign(base - a))


def test_bounded_confidence_ignores_distant_neighbours():
    # a path 0 - 1 - 2 with attraction 0.0, 0.1, 0.9 toward one power
    net = sparse.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], float))
    a = np.array([[0.0], [0.1], [0.9]])
    change = rules.bounded_confidence(a, net.indptr, net.indices, confidence=0.2, rate=0.5)
    # person 0 moves halfway to person 1; person 1 hears only person 0; person 2 nobody
    np.testing.assert_allclose(change[:, 0], [0.05, -0.05, 0.0])


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
    public, elite = rules.stereotype(1.0, 0.4, 0.5, np.array([1.0, 0.5]))
    assert elite == pytest.approx(public / 2)
