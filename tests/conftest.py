"""Shared fixtures: a tiny scenario (three powers, 300 persons, three years)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.inputs.scenario import load_with_profile
from sim.model.model import MultivectorModel

TESTS = Path(__file__).parent
TINY = TESTS / "scenarios" / "tiny.toml"
PERSON_COLUMNS = {
    "ethnicity",
    "language",
    "age",
    "area",
    "region",
    "elite",
    "identity",
    "attraction_Alpha",
    "attraction_Beta",
    "attraction_Gamma",
}
"""Columns of the person-level table of the tiny scenario."""


def tiny(**overrides):
    """The tiny scenario with dotted-path overrides, and its profile."""
    scenario, profile, _ = load_with_profile(TINY, overrides)
    return scenario, profile


def tiny_model(seed: int | None = None, **overrides) -> MultivectorModel:
    scenario, profile = tiny(**overrides)
    return MultivectorModel(scenario, profile=profile, seed=seed)


@pytest.fixture(scope="session")
def tiny_run() -> MultivectorModel:
    """The tiny scenario run to its end once per session (read-only for tests)."""
    return tiny_model().run_until()
