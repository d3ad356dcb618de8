"""The multivector model: powers' soft power on a middle state that balances them."""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from sim.inputs.profile import Profile
from sim.inputs.scenario import load_with_profile, profile_for
from sim.inputs.schema import Scenario, month_index, month_name
from sim.model import measures
from sim.model.agents import MiddleState, Official, Power
from sim.model.events import EventSchedule
from sim.model.population import synthesize

STREAMS = ("population", "exposure", "incidents", "officials", "shocks", "mesa")
"""Independent random streams, each a child of the run's SeedSequence (in this order)."""


class MultivectorModel(mesa.Model):
    """One run of a scenario, month by month.

    Args:
        scenario: a validated :class:`~sim.inputs.schema.Scenario`, or the name or path of a
            scenario file (default: the baseline).
        seed: root seed of every random stream; defaults to the scenario's ``run.seed``.
        profile: the country profile; loaded from the scenario's ``run.profile`` if omitted.
        until: last month to run (``YYYY-MM``), if earlier than the scenario's ``run.end``.
        replicate: the run's index in an ensemble: its streams then derive from
            ``SeedSequence(seed, spawn_key=(replicate,))``, the replicate-th child of the root
            seed, so any worker rebuilds them from two integers. A tuple is the whole spawn
            key (a sweep uses ``(point, replication)``).
        tables: also record the group and channel tables (a sweep, which keeps only its
            outcomes, turns them off: they cost about a fifth of a run).

    Attributes:
        spec: the scenario as validated (never changed by the run).
        params: the live parameters: events and the powers' adaptation change them.
        state: the middle state, holding the population (:class:`~sim.model.agents.MiddleState`).
        power_agents: the powers, in the scenario's order (``powers`` holds their names).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        *,
        seed: int | None = None,
        profile: Profile | None = None,
        until: str | None = None,
        replicate: int | tuple[int, ...] | None = None,
        tables: bool = True,
    ):
        if not isinstance(scenario, Scenario):
            scenario, loaded_profile, _ = load_with_profile(scenario)
            profile = profile or loaded_profile
        profile = profile or profile_for(scenario.run.profile)
        seed = scenario.run.seed if seed is None else seed
        key = (
            () if replicate is None else replicate if isinstance(replicate, tuple) else (replicate,)
        )
        children = np.random.SeedSequence(seed, spawn_key=key).spawn(len(STREAMS))
        super().__init__(rng=np.random.default_rng(children[STREAMS.index("mesa")]))
        self.streams = {
            name: np.random.default_rng(s) for name, s in zip(STREAMS, children, strict=True)
        }
        self.spec = scenario
        self.profile = profile
        self.params = scenario.parameters()
        self.params.run.seed = seed
        self.replicate = replicate
        self.powers = list(self.params.powers)
        self.month = month_index(self.params.run.start)
        self.last_month = month_index(self.params.run.end)
        if until is not None:
            self.last_month = min(self.last_month, month_index(until))
        self.events = EventSchedule(list(scenario.events))
        self.tables = tables

        self.power_agents = [Power(self, name, k) for k, name in enumerate(self.powers)]
        population = synthesize(profile, self.params, self.streams["population"])
        self.state = MiddleState(self, profile.name, population)
        self._add_officials()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "step": current_step,
                "date": current_date,
                **measures.model_reporters(),
            },
            tables={"groups": measures.GROUP_COLUMNS, "channels": measures.CHANNEL_COLUMNS},
        )
        self.events.apply_due(self, self.month)
        self._settle()
        self._collect()

    def _add_officials(self) -> None:
        rng = self.streams["officials"]
        mean_bias = np.array([p.official_bias for p in self.params.powers.values()])
        spread = self.params.officials.bias_spread
        self.officials = [
            Official(self, mean_bias + rng.normal(0.0, spread, mean_bias.size))
            for _ in range(self.params.run.officials)
        ]

    def _settle(self) -> None:
        """Start at rest: attraction at its equilibrium, policy at the officials' first advice."""
        self.agents_by_type[Power].do("emit")
        self.state.initialise_attraction()
        self.state.assess()
        Official.write_reports(self.officials)
        self.state.set_policy(self.reports(), move=False)

    @property
    def date(self) -> str:
        """The current month, ``YYYY-MM``."""
        return month_name(self.month)

    def reports(self) -> np.ndarray:
        """Officials' latest reports (K, P)."""
        return np.array([o.report for o in self.officials])

    def step(self) -> None:
        """One month, in the order of DESIGN.md §2."""
        self.month += 1
        self.events.apply_due(self, self.month)
        self.agents_by_type[Power].do("emit")
        self.state.update_population()
        self.state.assess()
        Official.write_reports(self.officials)
        self.state.set_policy(self.reports())
        if self.params.mechanisms.adaptation and self.date.endswith("-12"):
            self.agents_by_type[Power].do("adapt")
        self._collect()
        self.running = self.month < self.last_month

    def run_until(self, until: str | None = None) -> MultivectorModel:
        """Step to ``until`` (``YYYY-MM``), or to the last month of the run."""
        stop = self.last_month if until is None else min(month_index(until), self.last_month)
        while self.month < stop:
            self.step()
        return self

    def _collect(self) -> None:
        self.datacollector.collect(self)
        if not self.tables:
            return
        for row in measures.channel_rows(self):
            self.datacollector.add_table_row("channels", row)
        yearly = self.steps == 0 or self.date.endswith("-12")
        if yearly or self.month == self.last_month:
            for row in measures.group_rows(self):
                self.datacollector.add_table_row("groups", row)

    # --- results as tidy data frames --------------------------------------------------------

    def timeseries(self) -> pd.DataFrame:
        """One row per month and power: the per-power measures and the state's own."""
        data = self.datacollector.model_vars
        months, n_powers = len(data["date"]), len(self.powers)
        frame = pd.DataFrame(
            {
                "date": np.repeat(data["date"], n_powers),
                "step": np.repeat(data["step"], n_powers),
                "power": np.tile(self.powers, months),
            }
        )
        for reporter in measures.PER_POWER:
            frame[reporter.__name__] = np.concatenate(data[reporter.__name__])
        for reporter in measures.PER_STATE:
            frame[reporter.__name__] = np.repeat(data[reporter.__name__], n_powers)
        return frame

    def groups(self) -> pd.DataFrame:
        """Attraction and favourable share by population group and power, yearly."""
        return self.datacollector.get_table_dataframe("groups")

    def channels(self) -> pd.DataFrame:
        """Effort, signal and screening by power and channel, monthly."""
        return self.datacollector.get_table_dataframe("channels")

    def persons(self) -> pd.DataFrame:
        """The person-level micro-data now: one row per synthetic person."""
        frame = self.state.population.frame(self.powers)
        frame.insert(0, "date", self.date)
        return frame


def current_step(model: MultivectorModel) -> int:
    return model.steps


def current_date(model: MultivectorModel) -> str:
    return model.date
