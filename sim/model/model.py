"""The multivector model: powers' soft power on a middle state that balances them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.inputs.assignments import keyword_overrides
from sim.inputs.profile import Profile
from sim.inputs.scenario import with_overrides
from sim.inputs.schema import CHANNELS, ScenarioSpec, ShockEvent, month_index, month_name
from sim.model import columns, measures, memory, rules, streams, threads
from sim.model.agents import MiddleState, Official, Power, emit
from sim.model.deferred import mesa  # Mesa, its unused parts imported on first use
from sim.model.events import EventSchedule
from sim.model.population import chunks, synthesize
from sim.model.public import Public

START_ROUNDS = 3
"""Rounds of the powers' reallocation before the first month. Effort goes where the gain is,
and the gains move with effort only through attraction's room to grow, so the split settles
in a round or two."""
START_SAMPLE = 5000
"""About this many persons (every k-th row: rows are sorted by region, area and group, so
the sample is stratified) stand for the public in those rounds."""

STREAMS = (
    "population",
    "exposure",
    "incidents",
    "officials",
    "shocks",
    "mesa",
    "demography",
    "burn_in",
)
"""Independent random streams, each a child of the run's SeedSequence (in this order)."""
EDUCATION = CHANNELS.index("education")
"""The education channel's column in a power's signal and effort (C,)."""
NO_SIGNAL = 1e-12
"""An education signal at the start at or below this counts as none: the pull on students
and the alumni's worth are ratios to it (docs/ODD.md §7.13)."""


class Collector(mesa.DataCollector):
    """Mesa's DataCollector, collecting the model's reporters without a deep copy of each
    value (Mesa copies every value, which cost about a twentieth of a month at 1,000
    persons). Every reporter returns a number, a string or an array; an array is copied,
    so no row can change with the model later. The first collection is Mesa's own, which
    validates the reporters (unless they are the records', below: the model's own).

    With ``months``, a pair (``record``, ``columns``), the reporters given are collected as
    a record of the month, ``record(model)``, and their values are made from the records
    when ``model_vars`` is read: ``columns(records)`` returns each reporter's value in each
    month recorded (:func:`sim.model.measures.month_record` and
    :func:`~sim.model.measures.record_columns`; Mesa's ``get_model_vars_dataframe`` reads
    ``model_vars`` too). Were the reporters changed (one added, removed or replaced), or
    agents' reporters added, every reporter is called each month again, as Mesa does.

    A month's rows of a table may be kept as the arrays they come from (:meth:`keep_rows`)
    and written into the table's columns when :attr:`tables` is read (as Mesa's
    ``get_table_dataframe`` and ``add_table_row`` do): the table is then the same, and a
    month does not pay for lists of Python numbers that only a finished run's tables need.
    So read ``model_vars`` and ``tables`` again for the months since: a column taken from
    them earlier catches up only when they are read."""

    def __init__(
        self,
        *args: Any,
        months: tuple[Callable[[mesa.Model], Any], Callable[[list], dict[str, list]]] | None = None,
        **kwargs: Any,
    ):
        self._kept: dict[str, tuple[Callable[[list], dict[str, list]], list]] = {}
        self._months: list = []  # the records not yet made into columns
        self._model_vars: dict[str, list] = {}
        super().__init__(*args, **kwargs)
        # the records stand for these reporters, and only these
        self._recorder = None if months is None else (*months, dict(self.model_reporters))

    def __setstate__(self, state: dict) -> None:
        """A collector pickled before months were kept has its tables and reporters'
        values as Mesa's."""
        if "tables" in state:
            state["_tables"] = state.pop("tables")
        if "model_vars" in state:
            state["_model_vars"] = state.pop("model_vars")
        state.setdefault("_kept", {})
        state.setdefault("_months", [])
        state.setdefault("_recorder", None)
        self.__dict__.update(state)

    def collect(self, model: mesa.Model, record: Any = None) -> None:
        """Collect the month (``record``: the month's record, if the caller has made it)."""
        recorder = self._recorder
        alone = not self.agent_reporters and not self.agenttype_reporters
        if alone and recorder is not None and self.model_reporters == recorder[2]:
            self._validated = True  # the model's own reporters: nothing to validate
            self._collection_steps.append(model.time)
            self._months.append(recorder[0](model) if record is None else record)
            return
        if not self._validated or not alone:
            super().collect(model)
            return
        self._collection_steps.append(model.time)
        model_vars = self.model_vars
        for var, reporter in self.model_reporters.items():
            value = reporter(model)
            model_vars[var].append(value.copy() if isinstance(value, np.ndarray) else value)

    @property
    def model_vars(self) -> dict[str, list]:
        """Mesa's reporters' values (lists by reporter), the months recorded made into them.
        The values of every month are made before any is written, so a failure leaves them
        as they were and the months recorded."""
        if self._months:
            made = self._recorder[1](self._months)
            self._months = []
            for var, values in made.items():
                if var in self._model_vars:  # (a reporter removed since: left out)
                    self._model_vars[var].extend(values)
        return self._model_vars

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        if getattr(self, "_months", None):  # the months recorded belong to the values replaced
            _ = self.model_vars
        self._model_vars = value

    def keep_rows(self, table: str, rows: Callable[[list], dict[str, list]], month: Any) -> None:
        """Keep a month's rows of ``table`` as ``month``, until the tables are read: then
        ``rows(months)``, given the months kept, in order, returns their rows as columns."""
        self._kept.setdefault(table, (rows, []))[1].append(month)

    @property
    def tables(self) -> dict[str, dict[str, list]]:
        """Mesa's tables (columns by table), the months kept (:meth:`keep_rows`) written in.
        Every table's rows are made before any is written, so a failure leaves the tables
        as they were and the months kept."""
        if self._kept:
            written = {table: rows(months) for table, (rows, months) in self._kept.items()}
            self._kept = {}
            for table, columns in written.items():
                for column, values in self._tables[table].items():
                    values.extend(columns[column])
        return self._tables

    @tables.setter
    def tables(self, value: dict[str, dict[str, list]]) -> None:
        if getattr(self, "_kept", None):  # the months kept belong to the tables replaced
            _ = self.tables
        self._tables = value


class MultivectorModel(mesa.Model):
    """One run of a scenario, month by month.

    The model reads no files: it takes a validated scenario and its country profile (load
    both with :func:`sim.load_scenario` and :func:`sim.load_profile`, or build a model in one
    call with :func:`sim.build`).

    Args:
        spec: the validated scenario (:class:`~sim.inputs.schema.ScenarioSpec`).
        profile: the country profile it names.
        seed: root seed of every random stream; defaults to the scenario's ``run.seed``.
        until: last month to run (``YYYY-MM``), if earlier than the scenario's ``run.end``.
        replicate: the run's index in an ensemble: its streams then derive from
            ``SeedSequence(seed, spawn_key=(replicate,))``, the replicate-th child of the root
            seed, so any worker rebuilds them from two integers. A tuple is the whole spawn
            key (a sweep uses ``(point, replication)``).
        tables: also record the group and channel tables (a sweep, which keeps only its
            outcomes, turns them off: they cost about an eighth of a 1,000-person run,
            tables read, and little of a 10,000-person one).
        scenario: Mesa's own experimental ``Scenario``, which Mesa's SolaraViz passes at
            reset; unused (the run's parameters are ``spec``'s).
        **parameters: any parameter of the scenario by its path, with ``__`` for the dots
            (``state__balance_strength=1.5``, ``powers__West__efficiency=0.4``), so that
            Mesa's ``batch_run`` and SolaraViz can vary nested parameters directly. Each is
            checked against the schema like a ``--set`` on the command line
            (:class:`~sim.inputs.errors.ScenarioError` names what is allowed).

    Attributes:
        spec: the scenario as validated, parameters applied (never changed by the run).
        params: the live parameters: events and the powers' adaptation change them.
        public: the persons and their attitudes (:class:`~sim.model.public.Public`).
        state: the middle state's policy (:class:`~sim.model.agents.MiddleState`).
        officials: the officials, a Mesa ``AgentSet``; their biases and latest reports are
            the rows of ``official_biases`` and ``official_reports`` (K, P).
        power_agents: the powers, in the scenario's order (``powers`` holds their names).
        start_effort: each power's effort per channel at the start, after the first
            month's events (P, C): the reference of what it airs
            (:func:`sim.model.measures.aired_shares`).
        month, date: the current month as a month index and as ``YYYY-MM``, derived from
            Mesa's ``steps`` (one step is one month).
    """

    def __init__(
        self,
        spec: ScenarioSpec,
        profile: Profile,
        *,
        seed: int | None = None,
        until: str | None = None,
        replicate: int | tuple[int, ...] | None = None,
        tables: bool = True,
        scenario: Any = None,
        **parameters: Any,
    ):
        threads.count()  # a bad MULTIVECTOR_THREADS is refused before the build
        memory.give_back_large_arrays()  # freed months' arrays are not kept by the heap
        spec = with_overrides(spec, keyword_overrides(parameters), source="MultivectorModel(...)")
        seed = spec.run.seed if seed is None else seed
        key = (
            () if replicate is None else replicate if isinstance(replicate, tuple) else (replicate,)
        )
        children = np.random.SeedSequence(seed, spawn_key=key).spawn(len(STREAMS))
        super().__init__(rng=np.random.default_rng(children[STREAMS.index("mesa")]))
        self.streams = {
            name: np.random.default_rng(s) for name, s in zip(STREAMS, children, strict=True)
        }
        self.spec = spec
        self.profile = profile
        self.params = spec.parameters()
        self.params.run.seed = seed
        self.replicate = replicate
        self.powers = list(self.params.powers)
        self.first_month = month_index(self.params.run.start)
        self.last_month = month_index(self.params.run.end)
        if until is not None:
            self.last_month = min(self.last_month, month_index(until))
        self.events = EventSchedule(list(spec.events))
        self.tables = tables

        self.power_agents = [Power(self, name, k) for k, name in enumerate(self.powers)]
        persons = synthesize(profile, self.params, self.streams["population"])
        gated = np.array([profile.language_gated[c] for c in CHANNELS])
        self.public = Public(
            persons, profile, list(self.params.powers), gated, int(self.params.run.start[:4])
        )
        self.state = MiddleState(self, profile.name)
        self.officials = self._add_officials()
        self.datacollector = Collector(
            model_reporters={
                "step": current_step,
                "date": current_date,
                **measures.model_reporters(),
            },
            tables={"groups": columns.GROUP_COLUMNS, "channels": columns.CHANNEL_COLUMNS},
            months=(
                measures.month_record,
                functools.partial(measures.record_columns, powers=tuple(self.powers)),
            ),
        )
        self.events.apply_due(self, self.month)
        self._settle()
        self._collect()

    @functools.cached_property
    def _table_rows(self) -> dict[str, Callable[[list], dict[str, list]]]:
        """How the months the DataCollector keeps turn into the tables' rows
        (:meth:`Collector.keep_rows`)."""
        powers = tuple(self.powers)
        return {
            "channels": functools.partial(measures.channel_rows, powers=powers),
            "groups": functools.partial(
                measures.group_rows, labels=self.public.persons.labels, powers=powers
            ),
        }

    @functools.cached_property
    def _handles(self) -> streams.Handles:
        return streams.Handles()

    def handle(self, stream: str) -> tuple[int, int, int, int]:
        """The handle of the random stream ``stream`` (one of :data:`STREAMS`), for a
        compiled pass that draws from it (:mod:`sim.model.streams`)."""
        return self._handles(self.streams[stream])

    def __getstate__(self) -> dict:
        """For copies and pickles: the exposure stream may be drawing next month's numbers
        on another thread (:meth:`Public.wait_for_draws <sim.model.public.Public.wait_for_draws>`);
        it is copied once they are drawn, so a copy goes on as the model does."""
        self.public.wait_for_draws()
        return self.__dict__

    def _add_officials(self) -> mesa.agent.AgentSet:
        rng = self.streams["officials"]
        mean_bias = np.array([p.official_bias for p in self.params.powers.values()])
        spread = self.params.officials.bias_spread
        count = self.params.run.officials
        self.official_biases = np.array(  # one official at a time, as the stream was drawn
            [mean_bias + rng.normal(0.0, spread, mean_bias.size) for _ in range(count)]
        ).reshape(count, mean_bias.size)
        self.official_reports = np.full(self.official_biases.shape, 1.0 / mean_bias.size)
        officials = [Official(self, row) for row in range(count)]
        return mesa.agent.AgentSet(officials, random=self.random)

    def _settle(self) -> None:
        """Start at rest (docs/ODD.md §5, "The start"): with adaptation on, the powers'
        effort split where their yearly reallocation would leave it (:data:`START_ROUNDS`
        rounds on a sample of persons at their equilibrium); identity at rest under the
        first month's promotion; attraction at the equilibrium of its expected forces,
        then ``run.burn_in`` months of the public's update at the first month's conditions
        (nobody ages, the powers and the state hold still), from its own random stream;
        policy at the officials' first advice."""
        powers = self.agents_by_type[Power]
        self._emit()
        promotion = self.state.promotion()  # identity at rest under it, with attraction
        if self.params.mechanisms.adaptation:
            sample = np.arange(0, self.public.size, max(1, self.public.size // START_SAMPLE))
            for _ in range(START_ROUNDS):  # (only the sample's identity is read meanwhile)
                self.public.settle(self.params, self.signals(), sample, promotion)
                powers.do("start_at_rest", *self.start_values(sample))
                self._emit()
        self.events.measure(self)
        self.start_effort = np.array([p.effort for p in self.power_agents])  # (P, C)
        self._start_flows()
        self.public.settle(self.params, self.signals(), None, promotion)
        burn = self.streams["burn_in"]
        for _ in range(self.params.run.burn_in):
            self.public.update(
                self.params, self.signals(), self.state.promotion(), burn, burn, measure=False
            )
        self._advise()
        self.state.set_policy(self.reports(), move=False)

    # --- the clock: Mesa's steps, one a month ------------------------------------------------

    @property
    def month(self) -> int:
        """The current month as a month index (:func:`~sim.inputs.schema.month_index`)."""
        return self.first_month + self.steps

    @property
    def date(self) -> str:
        """The current month, ``YYYY-MM``."""
        names, k = self._month_names, self.steps
        return names[k] if k < len(names) else month_name(self.first_month + k)

    @functools.cached_property
    def _month_names(self) -> tuple[str, ...]:
        """The run's months as ``YYYY-MM``, named once (the records name each month three
        times, and a name made anew cost a few microseconds within the month)."""
        return tuple(map(month_name, range(self.first_month, self.last_month + 1)))

    # --- one month ----------------------------------------------------------------------------

    def step(self) -> None:
        """One month: events, signals, the public, its renewal, the officials' advice, the
        policy, and in December the powers' adaptation (docs/ODD.md §3)."""
        if self.month > self.last_month:  # Mesa has counted the step already
            raise RuntimeError(
                f"the run ends at {month_name(self.last_month)} (run.end or until); build the "
                "model with a later run.end to go further"
            )
        self.events.apply_due(self, self.month)
        screening = self.state.screening()  # until the month's policy: the signals' and advice's
        emitted = self._emit(screening)  # the efforts (the month's, unless the powers adapt)
        efforts, signals = emitted if emitted is not None else (None, self.signals())
        self.events.measure(self)
        self._record_flows(signals)
        promotion = self.state.promotion()  # the update's and renewal's, as the signals
        terms = self.public.update(
            self.params, signals, promotion, self.streams["exposure"], self.streams["incidents"]
        )
        self.public.renew(
            self.params, signals, promotion, self.month, self.streams["demography"], terms
        )
        self._advise(screening)
        self.state.set_policy(self.official_reports)  # (read, not written)
        if self.params.mechanisms.adaptation and self.month % 12 == 11:  # December
            self.agents_by_type[Power].do("adapt", self.channel_values())
            efforts = None
        self._collect(signals, efforts)
        self.running = self.month < self.last_month

    def _emit(self, screening: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """The powers' signals (step 2): every power at once (:func:`sim.model.agents.emit`),
        unless a power's class has an ``emit`` of its own; then each power emits by its
        own, as Mesa's ``agents_by_type[Power].do("emit")`` would have them. Returns the
        powers' efforts and signals as emitted (P, C each), if they emitted at once."""
        powers = self.power_agents
        if all(type(power).emit is Power.emit for power in powers):
            return emit(powers, screening)
        for power in powers:
            power.emit(screening)
        return None

    def channel_values(self, sample: np.ndarray | None = None, alumni: bool = True) -> np.ndarray:
        """What one more unit of each power's signal in each channel, kept a year, adds to
        officials' score of it over the horizon (P, C) (docs/ODD.md §7.10): persuasion of
        the public and of the elites, weighed as officials weigh them, summed as it fades;
        for education, also the alumni it brings back unless ``alumni`` is false (persons,
        or the rows ``sample``)."""
        params, public = self.params, self.public
        w = params.officials
        elite = public.persons.elite if sample is None else public.persons.elite[sample]
        rows = np.flatnonzero(elite) if sample is None else sample[elite]
        gains = w.public_weight * public.marginal_gains(params, sample)
        if rows.size:
            gains += w.elite_weight * public.marginal_gains(params, rows)
        months = max(1.0, 12.0 * params.adaptation.horizon)  # at least the month itself
        lasting = rules.fading_sum(params.persuasion.relaxation, months)
        values = 12.0 * params.persuasion.rate * lasting * gains
        if alumni:
            reference = self.education_reference
            values[:, EDUCATION] += public.alumni_values(params, reference, sample)
        return values

    def start_values(self, sample: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """What :meth:`Power.start_at_rest` weighs: the channels' values without the alumni
        (P, C), and the alumni's value per unit of education signal times the signal (P,),
        which at the start's own signal is the same whatever the education effort."""
        ones = np.ones(len(self.powers))
        return self.channel_values(sample, alumni=False), self.public.alumni_values(
            self.params, ones, sample
        )

    def _education_signal(self) -> np.ndarray:
        return np.array([p.signal[EDUCATION] for p in self.power_agents])

    def _start_flows(self) -> None:
        """Students abroad before the start studied under the start's education signal: the
        last ``population.study_years`` of months are filled with it. It is the reference
        the pull on students is measured against; a signal at or below :data:`NO_SIGNAL`
        counts as none (a ratio to it could exceed the largest number a float holds)."""
        signal = self._education_signal()
        self.education_reference = np.where(signal > NO_SIGNAL, signal, 0.0)
        months = 12 * self.params.population.study_years
        self._education_history = np.tile(signal, (months, 1))

    def _record_flows(self, signals: np.ndarray | None = None) -> None:
        """This month's education signal joins the history (of the month's ``signals``, if
        the caller has them); each power's pull on students is its mean over the years of
        study, relative to the start's (1 with ``alumni`` off or no education signal at the
        start)."""
        history = self._education_history
        signal = self._education_signal() if signals is None else signals[:, EDUCATION]
        history[self.steps % history.shape[0]] = signal
        if not self.params.mechanisms.alumni:
            return
        self.public.pull = rules.relative_means(history, self.education_reference)

    def _advise(self, screening: np.ndarray | None = None) -> None:
        """The state assesses the powers; every official writes a report."""
        self.state.assess(*measures.audiences(self), screening)
        Official.write_reports(self.state.shared_score, self)

    def run_to(self, date: str | None = None) -> MultivectorModel:
        """Step to ``date`` (``YYYY-MM``), or to the last month of the run. (Mesa's own
        ``run_until`` takes a number of steps, as in every Mesa model.)"""
        stop = self.last_month if date is None else min(month_index(date), self.last_month)
        while self.month < stop:
            self.step()
        return self

    def cut_events(self) -> list[str]:
        """Warnings for the events so far of which the powers' capacity let less than 90 %
        take effect (docs/scenarios.md, "When an event is cut")."""
        return [effect.message() for effect in self.events.cut()]

    def signals(self) -> np.ndarray:
        """Every power's signal per channel this month (P, C)."""
        return np.array([p.signal for p in self.power_agents])

    def reports(self) -> np.ndarray:
        """Officials' latest reports (K, P)."""
        return self.official_reports.copy()

    def shock(self, event: ShockEvent) -> None:
        """A one-off change of attraction: the event's groups, each person reached with the
        event's chance."""
        chosen = self.public.members(event.groups)
        rng = self.streams["shocks"]
        for part in chunks(self.public.size):  # the same draws, in order, in small arrays
            chosen[part] &= rng.random(part.stop - part.start) < event.reach
        self.public.shock(self.powers.index(event.power), event.delta, chosen)

    def _collect(
        self, signals: np.ndarray | None = None, efforts: np.ndarray | None = None
    ) -> None:
        """The month's record (:func:`sim.model.measures.month_record`; ``signals`` and
        ``efforts``: the powers' now, if the caller has them), for the reporters and the
        channels table, and yearly (and in the last month) the groups table's month."""
        month = measures.month_record(self, signals, efforts)
        self.datacollector.collect(self, month)
        if not self.tables:
            return
        rows = self._table_rows
        self.datacollector.keep_rows("channels", rows["channels"], month)
        yearly = self.steps == 0 or self.date.endswith("-12")
        if yearly or self.month == self.last_month:
            self.datacollector.keep_rows("groups", rows["groups"], measures.group_month(self))

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
        frame = self.public.persons.frame(self.powers)
        frame.insert(0, "date", self.date)
        return frame


def current_step(model: MultivectorModel) -> int:
    return model.steps


def current_date(model: MultivectorModel) -> str:
    return model.date
