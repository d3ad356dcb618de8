"""A stream handed to a compiled pass by its handle draws numpy's numbers."""

from __future__ import annotations

import copy
import pickle

import numba
import numpy as np
import pytest
from conftest import tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import rules, streams, threads


@numba.njit(cache=True)
def _draws(stream, n):
    """Every kind of draw the model's compiled passes make, from a handle."""
    rng = rules.generator(stream)
    uniforms = rng.random(n)
    singles = np.empty(n, np.float32)
    for i in range(n):
        singles[i] = rng.random(dtype=np.float32)
    rows = np.empty(n, np.int64)
    for i in range(n):
        rows[i] = rng.integers(0, i + 1)
    hits = rng.binomial(n, 0.3)
    counts = rng.poisson(2.5, n)
    normals = rng.normal(0.0, 1.5, n)
    return uniforms, singles, rows, hits, counts, normals


def _numpy_draws(rng: np.random.Generator, n: int) -> tuple:
    return (
        rng.random(n),
        rng.random(n, dtype=np.float32),
        np.array([rng.integers(0, i + 1) for i in range(n)], np.int64),
        rng.binomial(n, 0.3),
        rng.poisson(2.5, n),
        rng.normal(0.0, 1.5, n),
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**63), st.integers(0, 50), st.integers(0, 3))
def test_a_handles_draws_are_numpys_and_the_stream_goes_on_where_numpys_would(seed, n, before):
    """Drawn through a handle, the numbers are numpy's for the same stream, whatever numpy
    drew before (a half-used 32-bit word included), and numpy's next draws follow on."""
    one, other = np.random.default_rng(seed), np.random.default_rng(seed)
    for rng in (one, other):
        rng.random(before)
        rng.integers(0, 7, before, dtype=np.int32)  # 32-bit draws: half a word may be kept
    compiled = _draws(streams.handle(one), n)
    expected = _numpy_draws(other, n)
    for got, want in zip(compiled, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert one.bit_generator.state == other.bit_generator.state
    assert one.random(3).tolist() == other.random(3).tolist()


def test_handles_are_read_once_per_stream_and_not_kept_by_copies(monkeypatch):
    read = []
    monkeypatch.setattr(streams, "handle", lambda rng: read.append(rng) or (id(rng),) * 4)
    handles = streams.Handles()
    one, other = np.random.default_rng(1), np.random.default_rng(1)
    assert handles(one) == handles(one) == (id(one),) * 4
    assert handles(other) == (id(other),) * 4
    assert read == [one, other]
    for copied in (copy.deepcopy(handles), pickle.loads(pickle.dumps(handles))):
        copied(one)  # a copy reads its streams' handles anew
    assert read == [one, other, one, one]


def test_a_handle_is_four_addresses():
    handle = streams.handle(np.random.default_rng(0))
    assert len(handle) == 4 and all(isinstance(a, int) and a > 0 for a in handle)
    with pytest.raises(numba.TypingError, match="four addresses"):
        _draws(np.random.default_rng(0), 1)  # a Generator, not its handle


def test_the_exposure_drawn_ahead_holds_its_stream(monkeypatch):
    """The work that draws next month's exposure on the spare thread is handed the stream
    itself beside its handle (the addresses of its state), so the stream lives as long as
    the work, whatever becomes of the model meanwhile."""
    handed = []
    monkeypatch.setattr(threads, "ahead", lambda rows, work, *a, **k: handed.append(a) or None)
    model = tiny_model(seed=1)
    model.step()
    rng, stream = handed[-1][:2]
    assert rng is model.streams["exposure"] and stream == streams.handle(rng)
