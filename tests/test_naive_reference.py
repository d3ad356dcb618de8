"""The vectorised population update equals the plain-Mesa reference (one agent per person)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_model

from benchmarks.naive import use_naive_population


def _attraction_path(model, months: int) -> np.ndarray:
    path = []
    for _ in range(months):
        model.step()
        path.append(model.public.persons.attraction.copy())
    return np.array(path)


def test_vectorised_and_naive_updates_give_the_same_trajectories():
    settings = {
        "mechanisms.stochastic_exposure": False,
        "mechanisms.demography": False,
        "officials.noise": 0.0,
    }
    fast = tiny_model(**settings)
    slow = tiny_model(**settings)
    use_naive_population(slow)
    fast_path, slow_path = _attraction_path(fast, 30), _attraction_path(slow, 30)
    assert np.ptp(fast_path[:, :, 0]) > 0.1  # the case is not trivial: attraction moves
    # both store attraction in single precision each month (the reference computes in
    # Python's floats): to 10^-6 (single precision's spacing near 1/2 is 6e-8)
    np.testing.assert_allclose(fast_path, slow_path, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast.state.alignment, slow.state.alignment, atol=1e-6)


def test_framed_news_and_the_comparison_match_the_reference_too():
    """The Kazakhstan profile's outlets frame news about the four powers: with many
    incidents, framing, the comparison between powers and kinship all act."""
    from sim.inputs.scenario import load_with_profile
    from sim.model.model import MultivectorModel

    settings = {
        "mechanisms.stochastic_exposure": False,
        "mechanisms.demography": False,
        "officials.noise": 0.0,
        "run.population": 300,
        "powers.Russia.hostility": 40.0,
        "powers.West.hostility": 10.0,
    }
    spec, profile, _ = load_with_profile("baseline", settings)
    fast, slow = MultivectorModel(spec, profile), MultivectorModel(spec, profile)
    use_naive_population(slow)
    fast_path, slow_path = _attraction_path(fast, 12), _attraction_path(slow, 12)
    np.testing.assert_allclose(fast_path, slow_path, rtol=0, atol=1e-6)


def test_expected_news_follows_hostility_and_newcomers():
    """Without stochastic exposure, the expected framed news is kept per media diet (K, P)
    and read through each person's diet: it must be the rates times every person's framing,
    after a power's hostility changes and after newcomers, with outlets of their own, take
    rows (and bring new diets)."""
    from sim.inputs.scenario import load_with_profile
    from sim.model.model import MultivectorModel
    from sim.model.public import per_power

    settings = {"mechanisms.stochastic_exposure": False, "run.population": 400}
    spec, profile, _ = load_with_profile("baseline", settings)
    model = MultivectorModel(spec, profile)
    public, params = model.public, model.params

    def expected() -> np.ndarray:
        rates = per_power(params, "hostility") / 12.0 * params.backlash.reach
        return rates[None, :] * public.valence(params)

    before = public.persons.valence.copy()
    for month in range(24):
        if month == 6:
            params.powers["Russia"].hostility *= 3.0
        model.step()
        heard, framing = public._news(params, None)
        assert heard.size == 0  # nothing drawn
        np.testing.assert_array_equal(framing[public.persons.diet], expected())
    assert (public.persons.valence != before).any()  # newcomers follow other outlets


@pytest.mark.parametrize("scenario", ["baseline", "kyrgyzstan_baseline"])
def test_single_precision_attraction_keeps_the_measures_of_double_precision(scenario, monkeypatch):
    """Attraction is held in single precision (docs/ODD.md §3): every monthly national
    measure stays within 10^-6 of the same run held in double precision, stochastic
    exposure, demography, adaptation and the officials' noise all on."""
    from sim.inputs.scenario import load_with_profile
    from sim.model import population, public
    from sim.model.model import MultivectorModel

    spec, profile, _ = load_with_profile(scenario, {"run.population": 800})
    runs = {}
    for dtype in (np.float64, np.float32):
        monkeypatch.setattr(population, "ATTRACTION", dtype)
        monkeypatch.setattr(public, "ATTRACTION", dtype)
        model = MultivectorModel(spec, profile, until="2019-12").run_to()
        assert model.public.persons.attraction.dtype == dtype
        runs[dtype] = model.timeseries()
    double, single = runs[np.float64], runs[np.float32]
    columns = ["attraction", "favourable", "approval", "elite_attraction", "alignment", "identity"]
    differences = (double[columns] - single[columns]).abs().max()
    assert differences.max() > 0  # the two precisions were both run
    assert (differences < 1e-6).all(), differences
