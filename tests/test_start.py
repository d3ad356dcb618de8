"""The run starts at rest (docs/ODD.md §5, "The start"): the powers' effort split where their
yearly reallocation leaves it, and the public after a burn-in at the first month's
conditions, so that no check is met during a transient of the start."""

from __future__ import annotations

import numpy as np

import sim
from sim.model.agents import Power


def _russia_favourable(model, months: slice) -> float:
    frame = model.datacollector.get_model_vars_dataframe()
    shares = np.array(frame["favourable"].tolist())[months, model.powers.index("Russia")]
    return float(shares.mean())


def test_the_public_starts_where_its_own_dynamics_keep_it():
    def drift(**overrides) -> float:
        """Russia's favourable share in 2016-10..12 minus 2015-01..03, growth of effort off."""
        model = sim.build(
            "baseline", run__population=3000, adaptation__growth=0.0, **overrides
        ).run_to("2016-12")
        return _russia_favourable(model, slice(21, 24)) - _russia_favourable(model, slice(0, 3))

    settled = drift()
    assert abs(settled) < 0.005
    # without the burn-in, attraction climbs from its expected-value start for years
    assert drift(run__burn_in=0) > max(0.008, 3 * abs(settled))


def test_efforts_start_at_the_fixed_point_of_the_reallocation():
    model = sim.build("baseline", run__population=3000)
    powers = model.agents_by_type[Power]
    started = np.array(powers.get("effort"))
    assert not np.allclose(started, 1.0)  # the scenario's even split has moved
    powers.do("start_at_rest", *model.start_values())
    again = np.array(powers.get("effort"))
    # a further round on the whole public (the start used a sample) moves almost nothing
    assert np.abs(again - started).max() < 0.02 * started.sum(axis=1).min()
    # while one round from the scenario's split moves a lot
    for power in powers:
        power.effort = np.ones_like(power.effort)
    powers.do("start_at_rest", *model.start_values())
    assert np.abs(np.array(powers.get("effort")) - 1.0).max() > 0.5


def test_without_adaptation_the_scenarios_split_stands():
    model = sim.build("baseline", run__population=500, mechanisms__adaptation=False)
    np.testing.assert_array_equal(np.array(model.agents_by_type[Power].get("effort")), 1.0)


def test_identity_starts_at_rest_under_the_first_months_promotion():
    model = sim.build("baseline", run__population=2000, mechanisms__demography=False)
    model.run_to("2025-01")  # ten years: identity relaxes in about seven
    identity = model.datacollector.get_model_vars_dataframe()["identity"]
    assert abs(identity.iloc[-1] - identity.iloc[0]) < 0.003
    # from the drawn baseline, it would rise toward its rest for a decade
    persons = model.public.persons
    assert persons.identity.mean() - persons.identity_baseline.mean() > 0.02


def test_an_effort_the_first_month_states_is_kept_at_the_start(tmp_path):
    scenario = tmp_path / "stated.toml"
    scenario.write_text(
        'name = "stated"\nextends = "baseline"\ndescription = "A test."\n\n'
        '[[events]]\ndate = "2015-01"\n'
        'label = "Russia funds NGOs"\naction = "set"\npath = "powers.Russia.effort.grants"\n'
        "value = 1.5\n"
    )
    model = sim.build(str(scenario), run__population=500)
    russia = model.agents_by_type[Power][model.powers.index("Russia")]
    assert russia.settings.effort.grants == 1.5  # not re-split by the start
    assert russia.effort.sum() <= russia.settings.capacity
    model.run_to("2015-03")
    assert not [w for w in model.cut_events() if "Russia funds NGOs" in w]
