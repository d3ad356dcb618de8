"""The middle state's public: its persons (arrays) and the attitude terms derived from them.

The public is not a Mesa agent: it is N synthetic persons held as numpy arrays
(:class:`~sim.model.population.Persons`), with the terms of the attraction update that change
only when the powers' messages or languages change (affinity, language access) cached here.
Every equation is a rule of :mod:`sim.model.rules`; this class wires them to the arrays.
Shapes: N persons, P powers, C channels.
"""

from __future__ import annotations

import functools
import sys
from concurrent.futures import Future
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from sim.inputs.profile import Profile, age_floor
from sim.inputs.schema import CHANNELS, DIMENSIONS, GROUP_DIMENSIONS, GroupFilter, Parameters
from sim.model import measures, rules, streams, threads
from sim.model.population import (
    ATTRACTION,
    AgeBands,
    Persons,
    Tables,
    adults_in,
    age_bands,
    chunks,
    elite_eligible,
    newcomers_drawn,
    place_newcomers,
    refresh_engagement,
)

OUTLET_CHANNEL = "media"
"""The channel whose reach the media outlets persons follow decide (docs/ODD.md)."""


class Attitudes(NamedTuple):
    """The terms of the attraction update for some persons, (rows, P) each."""

    affinity: np.ndarray
    stereotype: np.ndarray
    baseline: np.ndarray
    receptivity: np.ndarray
    access: np.ndarray


class UpdateTerms(NamedTuple):
    """What the month's update took that its renewal takes again for the newcomers it
    settles (:meth:`Public.update` returns it, :meth:`Public.renew` takes it): made of
    ``params`` and ``signals``, which nothing changes in between."""

    params: Parameters
    signals: np.ndarray
    persons: tuple  # :meth:`Public._person_terms`, from affinity to the languages spoken
    rates: rules.Rates  # the month's, the promotion's identity gain in them
    hostility: np.ndarray  # each power's incidents a month (P,)


class Public:
    """The persons of the middle state and their attitudes toward the powers.

    Args:
        persons: the synthetic persons.
        profile: the country profile they were drawn from (its languages are the columns of
            ``persons.speaks``; its outlets carry the media channel; newcomers are drawn
            from it).
        powers: the scenario's powers, in order (the columns of the (N, P) arrays).
        gated: (C,) which channels need a shared language (the profile's ``language_gated``).
        start_year: the run's first year (the population aged 15+ is projected to it).
    """

    def __init__(
        self,
        persons: Persons,
        profile: Profile,
        powers: list[str],
        gated: np.ndarray,
        start_year: int,
    ):
        self.persons = persons
        self.profile = profile
        self.languages = profile.languages
        if gated.size > 8:  # a person's exposure is a byte, a bit a channel
            raise ValueError(f"at most 8 channels, got {gated.size}")
        self.gated = gated
        self.outlet_channel = CHANNELS.index(OUTLET_CHANNEL)
        self._kinds = rules.channel_kinds(
            gated, self.outlet_channel if profile.outlets else None
        )  # each channel's reach: fixed by the profile
        self.adults = adults_in(profile, start_year) or float(profile.population)
        self._tongue_access: tuple[tuple, np.ndarray] | None = None  # (key, table): language_table
        self._age_floors = np.array(age_floor(list(profile.ages)), np.int64) * 12  # in months
        self.tables = Tables(profile, powers)
        self.pull = np.ones(len(powers))  # each power's education signal, relative to the start
        # next month's exposure drawn ahead: (stream, masks or their Future), the rows whose
        # engagement may have changed since, and the revision after those changes
        self._pending: tuple | None = None
        self._renewed: np.ndarray | None = None
        self._ahead_revision = 0
        self._spare: np.ndarray | None = None  # last month's attraction, to be written over
        # (the messages it was computed for, affinity, the messages as an array)
        self._affinity: tuple | None = None
        self._sums: tuple | None = None  # (revision, table, sums, answers): :meth:`sums`
        self._handles = streams.Handles()  # the streams compiled passes draw from
        self.revision = 0
        """Raised whenever persons' attraction, identity or roles change: the month's
        measures are kept for a revision (:meth:`sums`, :func:`sim.model.measures.person_sums`),
        so code that writes to those arrays itself, or replaces :meth:`update`, must raise
        it too."""

    def outlet_access(self, params: Parameters) -> np.ndarray | None:
        """The media diet's access to each power's media (N, P), or None when the profile
        has no outlets (then media are language-gated like the other channels). A power no
        outlet names (NaN in the persons' table) reaches persons' media through language."""
        if not self.profile.outlets:
            return None
        access = self.persons.media_access
        unnamed = np.isnan(self.persons.diets.access[:1]).any(axis=0)
        if not unnamed.any():
            return access
        language = self.language_table(params)[self.persons.tongue]
        return np.where(unnamed[None, :], language, access)

    def _diet_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """What the compiled passes take of the media diets: each person's diet (N,) and each
        diet's outlet access (K, P; NaN for a power no outlet names, whose media reach
        through language), or an empty table when the profile has no outlets."""
        persons = self.persons
        return persons.diet, persons.diets.access if self.profile.outlets else _NO_OUTLETS

    def _reach_arguments(self, params: Parameters, rows=slice(None)) -> tuple:
        access = self.outlet_access(params)
        return (None if access is None else access[rows], self.outlet_channel)

    @property
    def size(self) -> int:
        return self.persons.size

    # --- terms of the update --------------------------------------------------------------

    def affinity_and_access(self, params: Parameters) -> tuple[np.ndarray, np.ndarray]:
        """Affinity (N, P; kept) and language access (N, P; a new array, from
        :meth:`language_table`): for the numpy definitions and inspection."""
        return self.affinity(params), self.language_table(params)[self.persons.tongue]

    def affinity(self, params: Parameters) -> np.ndarray:
        """Each person's affinity to each power (N, P; float32), kept, recomputed for
        everyone when the powers' messages changed since the last call (and for newcomers'
        rows by :meth:`renew`). Kept, not computed in the compiled passes where they need
        it: that took a sixth longer at 10,000 to 100,000 persons for 16 bytes a person."""
        said = [_per_dimension(p.message) for p in params.powers.values()]
        kept = self._affinity
        if kept is None or kept[0] != said:  # compared as numbers: no array made each month
            key = np.array(said)
            values = np.empty((self.size, key.shape[0]), np.float32)
            for part in chunks(self.size):  # chunk by chunk: small temporaries
                values[part] = rules.affinity(self.persons.culture[part], key)
            self._affinity = kept = (said, values, key)
        return kept[1]

    def language_table(self, params: Parameters) -> np.ndarray:
        """The language access to each power (K, P) of each set of languages persons speak
        (``persons.tongues``; a person's row is ``persons.tongue``), recomputed only when
        the powers' languages or the sets changed since the last call."""
        tongues, powers = self.persons.tongues, params.powers.values()
        key = ([p.languages for p in powers], len(tongues.rows))  # the dicts, compared as such
        if self._tongue_access is None or self._tongue_access[0] != key:
            availability = [[p.languages.get(lang, 0.0) for lang in self.languages] for p in powers]
            table = rules.language_access(tongues.rows, np.array(availability))
            key = ([dict(p.languages) for p in powers], key[1])  # copies: a dict may change
            self._tongue_access = (key, table.astype(np.float32))
        return self._tongue_access[1]

    def attitudes(self, params: Parameters, rows: slice = slice(None)) -> Attitudes:
        """Affinity, stereotype, baseline, receptivity and language access of the persons in
        ``rows``, rule by rule on arrays (:func:`sim.model.rules.elementwise`): for tests
        and inspection, at a few thousand persons; the model's compiled passes compute the
        same terms inside their loops."""
        persons, rates = self.persons, update_rates(params)
        f, access = (x[rows] for x in self.affinity_and_access(params))
        identity = persons.identity[rows, None]
        means = per_power(params, "stereotype") * params.mechanisms.stereotypes
        elite_factor = np.where(persons.elite[rows], rates.elite_stereotype, 1.0)[:, None]
        s = rules.elementwise(rules.stereotype)(
            persons.susceptibility[rows], means, identity, elite_factor
        )
        rec = rules.elementwise(rules.receptivity)(f, s, identity, rates.resistance)
        base = rules.elementwise(rules.cultural_baseline)(
            rec,
            per_power(params, "prestige"),
            persons.personal[rows],
            persons.ties[rows],
            rates.ties_bonus,
            persons.kin[rows],
            rates.kin_bonus,
        )
        return Attitudes(f, s, base, rec, access)

    def marginal_gains(self, params: Parameters, sample: np.ndarray | None = None) -> np.ndarray:
        """Per power and channel (P, C): the mean over persons (or over the rows ``sample``)
        of what one more unit of signal would bring this month
        (:func:`sim.model.rules.marginal_gain`), in one compiled pass over them
        (:func:`sim.model.rules.marginal_gain_rows`) split between threads."""
        persons = self.persons
        everyone = sample is None  # then no array of every row
        rows = np.empty(0, np.int64) if everyone else np.asarray(sample, np.int64)
        count = persons.size if everyone else rows.size
        blocks = max(1, -(-count // threads.SUM_BLOCK))
        gains = np.zeros((blocks, len(params.powers), self.gated.size))
        threads.over_rows(
            rules.marginal_gain_rows,
            count,
            threads.SUM_BLOCK,
            rows,
            everyone,
            gains,
            persons.attraction,
            self.affinity(params),
            persons.susceptibility,
            persons.identity,
            persons.elite,
            per_power(params, "stereotype") * params.mechanisms.stereotypes,
            persons.engagement_cell,
            persons.engagement_table,
            self._kinds,
            persons.tongue,
            self.language_table(params),
            *self._diet_terms(),
            update_rates(params).numbers,
            block=threads.SUM_BLOCK,
        )
        return gains.sum(axis=0) / max(count, 1)

    def heard_shares(self, params: Parameters, signals: np.ndarray) -> np.ndarray:
        """Share of each channel's foreign signal that comes from each power (P, C)."""
        _, access = self.affinity_and_access(params)
        return rules.heard_shares(
            access, self.persons.engagement, signals, self.gated, *self._reach_arguments(params)
        )

    # --- the month's changes ----------------------------------------------------------------

    def settle(
        self,
        params: Parameters,
        signals: np.ndarray,
        rows=None,
        promotion: float | None = None,
        terms: UpdateTerms | None = None,
    ) -> None:
        """Start persons at the equilibrium of this month's expected forces
        (:func:`sim.model.rules.settle_rows`): everyone, or the persons at ``rows``
        (newcomers). With ``promotion``, their identity is first started at rest under this
        month's identity promotion (:func:`sim.model.rules.equilibrium_identity`; at their
        baseline when identity does not move, ``mechanisms.identity`` off), in the same
        pass. ``terms``: what this month's update took (:meth:`update`), of these
        parameters and signals, unchanged since (else they are made anew)."""
        persons = self.persons
        self.revision += 1
        if rows is None:
            shape = (persons.size, len(params.powers))
            if persons.attraction.shape != shape:  # else written over: no second array
                persons.attraction = np.empty(shape, ATTRACTION)
            rows = np.arange(persons.size)
        if terms is None or terms.params is not params or terms.signals is not signals:
            terms = self._update_terms(params, signals, 0.0)
        moves = params.mechanisms.identity and promotion is not None
        rules.settle_rows(
            np.asarray(rows, np.int64),
            persons.attraction,
            persons.identity,
            *terms.persons,
            self.language_table(params),  # read anew: newcomers may bring languages and
            *self._diet_terms(),  # media diets
            terms.hostility,
            self._valence_table(params),
            terms.rates.numbers,  # (its identity terms: the update's, which settle_rows leaves)
            params.backlash.reach,
            persons.identity_baseline,
            promotion is not None,
            params.identity.response * promotion if moves else 0.0,  # 0 and 0: the baseline
            params.identity.decay if moves else 0.0,
        )

    def _update_terms(
        self, params: Parameters, signals: np.ndarray, promotion: float
    ) -> UpdateTerms:
        """The terms of the month's update that its renewal takes again (:class:`UpdateTerms`)."""
        stereotype, prestige, hostility = per_power(params, "stereotype", "prestige", "hostility")
        return UpdateTerms(
            params,
            signals,
            self._person_terms(params, signals, stereotype, prestige),
            update_rates(params, promotion),
            hostility / 12.0,
        )

    def _person_terms(
        self, params: Parameters, signals: np.ndarray, stereotype: np.ndarray, prestige: np.ndarray
    ) -> tuple:
        """The arguments that :func:`sim.model.rules.monthly_update` and
        :func:`sim.model.rules.settle_rows` share, from affinity to the languages persons
        speak (the language access and the media diets follow); ``stereotype`` and
        ``prestige``: each power's (P,)."""
        persons = self.persons
        return (
            self.affinity(params),
            persons.susceptibility,
            persons.elite,
            stereotype * params.mechanisms.stereotypes,
            prestige,
            persons.personal,
            persons.ties,
            persons.kin,
            persons.engagement_cell,
            persons.engagement_table,
            np.ascontiguousarray(signals, np.float64),
            self._kinds,
            persons.tongue,
        )

    def valence(self, params: Parameters) -> np.ndarray:
        """The framing of news about each power in each person's outlets (N, P); -1 for
        everyone (every incident heard as hostile) when framing is switched off."""
        if params.mechanisms.framing and self.profile.outlets:
            return self.persons.valence
        return np.broadcast_to(np.float32(-1.0), (self.size, len(params.powers)))

    def _valence_table(self, params: Parameters) -> np.ndarray:
        """:meth:`valence` per media diet (K, P): the row of each person's diet is theirs."""
        table = self.persons.diets.valence
        if params.mechanisms.framing and self.profile.outlets:
            return table
        return np.full(table.shape, np.float32(-1.0))

    def update(
        self,
        params: Parameters,
        signals: np.ndarray,
        promotion: float,
        exposure_rng: np.random.Generator,
        incidents_rng: np.random.Generator,
        measure: bool = True,
    ) -> UpdateTerms:
        """One month of attraction (exposure, persuasion, backlash, relaxation, comparison,
        social influence) and identity, in one compiled pass (step 3 of the schedule;
        :func:`sim.model.rules.monthly_update`) over parts of the persons, one per thread
        (:mod:`sim.model.threads`). With ``measure``, then the sums the month's measures
        take (:meth:`sums`), while every thread is free. Returns the terms it took that the
        month's renewal takes again (:meth:`renew`)."""
        persons = self.persons
        if params.mechanisms.stochastic_exposure:  # exposed where the draw is below engagement
            masks = self._exposure_masks(exposure_rng)
        else:
            masks = np.empty(0, np.uint8)
        terms = self._update_terms(params, signals, promotion)
        heard, framing = self._news(params, incidents_rng, terms.hostility)  # before the update
        attraction = self._new_attraction()
        threads.over_rows(
            rules.monthly_update,
            persons.size,
            attraction,
            persons.identity,  # in place: a person's identity is read only for themself
            persons.attraction,
            persons.identity,
            persons.identity_baseline,
            *terms.persons,
            self.language_table(params),
            *self._diet_terms(),
            masks,
            heard,
            framing,
            *persons.network,  # indptr, indices, far_starts, far_rows
            terms.rates.numbers,
            block=rules.FAR_BLOCK,  # parts start where blocks do (rules.FAR_BLOCK)
        )
        old, persons.attraction = persons.attraction, attraction
        del masks, heard, attraction
        # last month's attraction is next month's spare, unless something else holds it
        # (getrefcount: ``old`` and its own argument; Python 3.14 may count one less, so
        # there the spare is not taken until this test is checked again)
        held = sys.getrefcount(old) > 2 or sys.version_info >= (3, 14)
        self._spare = None if held else old
        self.revision += 1
        if measure:
            self.sums(measures.poll_table(params.survey))
        if params.mechanisms.stochastic_exposure and exposure_rng is not incidents_rng:
            self._draw_ahead(exposure_rng)  # the exposure stream is the update's alone
        return terms

    def _new_attraction(self) -> np.ndarray:
        """An array for the update's new attraction: the spare, last month's, when of the
        shape (no memory is taken or given back from month to month); else a new one."""
        spare, self._spare = self._spare, None
        shape = self.persons.attraction.shape
        if spare is not None and spare.shape == shape and spare.dtype == ATTRACTION:
            return spare
        return np.empty(shape, ATTRACTION)

    def _exposure_masks(self, rng: np.random.Generator) -> np.ndarray:
        """This month's exposure of each person as a bit mask (N,; bit c for channel c;
        :func:`sim.model.rules.exposure_masks_drawn`): the update reads one byte a person, not
        the draws' four a channel. Made at the end of last month's update if they were
        (:meth:`_draw_ahead`), then made again, from draws of their own, for the persons
        whose engagement the renewal may have changed since (every person, were persons
        changed otherwise); else drawn now."""
        persons = self.persons
        pending = self._pending
        engagement = (persons.engagement_cell, persons.engagement_table)
        stream = self._handles(rng)
        if pending is None or pending[0] is not rng:  # (made ahead for another stream: kept)
            return masks_drawn(rng, stream, self.size, *engagement)
        self._pending = None
        made = pending[1]
        masks = made.result() if isinstance(made, Future) else made
        changed, self._renewed = self._renewed, None
        if self.revision != self._ahead_revision or changed is None:
            return masks_drawn(rng, stream, self.size, *engagement)  # persons changed since
        if changed.size:  # in row order, once each (exposure_masks_at sorts them)
            rules.exposure_masks_at(stream, changed, masks, *engagement)
        return masks

    def _draw_ahead(self, rng: np.random.Generator) -> None:
        """Draw next month's exposure masks now, with persons' engagement as it stands
        (:func:`masks_drawn`): on a spare thread while the rest of the month runs
        (:func:`sim.model.threads.ahead`), else here. The month's renewal then lists the
        rows whose engagement it may change (:meth:`renew`), and the update draws those
        persons' exposure again; were persons changed otherwise (:attr:`revision`), it
        draws everyone's again. A person's exposure is a draw below the engagement they
        have in the month, whether drawn once or again, and the numbers drawn, and their
        order, are the same whatever the threads. Only for a stream nothing else draws
        from between two updates."""
        if self._pending is not None:  # made ahead for another stream, and not yet used
            return
        persons = self.persons
        stream = self._handles(rng)
        arguments = (rng, stream, self.size, persons.engagement_cell, persons.engagement_table)
        made = threads.ahead(self.size, masks_drawn, *arguments)
        if made is None:
            made = masks_drawn(*arguments)
        self._pending = (rng, made)
        self._renewed, self._ahead_revision = np.empty(0, np.int64), self.revision

    def wait_for_draws(self) -> None:
        """Wait for masks being drawn ahead: the stream is then at rest, past them (a model
        copies its streams only after this)."""
        if self._pending is not None and isinstance(self._pending[1], Future):
            rng, made = self._pending
            self._pending = (rng, made.result())

    def __getstate__(self) -> dict:
        """For copies and pickles: masks drawn ahead are waited for, and the spare is not
        kept."""
        self.wait_for_draws()
        state = self.__dict__.copy()
        state["_spare"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        """A public pickled before its streams' handles were kept reads them anew."""
        state.setdefault("_handles", streams.Handles())
        self.__dict__.update(state)

    def sums(self, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sums over everyone that the month's measures take (``sums`` (3, P + 2) and
        ``answers`` (Q, P), whole numbers, ``answers`` of the poll's answer ``table``:
        :func:`sim.model.measures.sums_of_rows`), not to be changed. Made in one pass split
        between threads, and kept: the month's renewal mends them, taking out the part of
        each person it changes and putting it back once changed (whole numbers: the same to
        the bit as a new pass), so that the pass runs as the update ends, while every thread
        is free, not after the renewal, while the exposure is drawn ahead. Made again if
        persons changed otherwise (:attr:`revision`) or for another table."""
        if table.shape[1:] != (2,) or table.flags.writeable:
            raise ValueError("table: expected measures.poll_table's (grid + 1, 2), read-only")
        kept = self._sums
        if kept is not None and kept[0] == self.revision and kept[1] is table:
            return kept[2], kept[3]
        persons = self.persons
        parts = threads.over_rows(
            measures.sums_of_rows,
            self.size,
            persons.attraction,
            persons.elite,
            persons.ngo,
            persons.identity,
            table,
        )
        sums, answers = parts[0]
        for more, more_answers in parts[1:]:
            sums += more
            answers += more_answers
        self._sums = (self.revision, table, sums, answers)
        return sums, answers

    def _count(self, counted: tuple | None, rows: np.ndarray, sign: int) -> None:
        """Put the parts of the persons at ``rows`` into the kept sums ``counted`` (their
        table and sums, :meth:`sums`; ``sign`` 1), or take them out (-1); nothing if none
        are kept."""
        if counted is None or not len(rows):
            return
        persons = self.persons
        measures.count_rows(
            np.asarray(rows, np.int64),
            sign,
            persons.attraction,
            persons.elite,
            persons.ngo,
            persons.identity,
            *counted,
        )

    def _news(
        self, params: Parameters, rng: np.random.Generator, rate: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """This month's news of incidents, as :func:`sim.model.rules.monthly_update` takes it:
        the incidents each person heard of (N, P; Poisson counts per power, each heard with
        chance ``backlash.reach``: numpy's poisson and binomial draws, made in one compiled
        pass, :func:`sim.model.rules.news_drawn`), and each media diet's framing (K, P; see
        :meth:`valence`); the framed news is their product. Without stochastic exposure, no
        draws: each diet's expected incidents heard times its framing (K, P)."""
        n = self.persons.size
        if rate is None:  # each power's incidents a month (the update has them)
            rate = per_power(params, "hostility") / 12.0
        reach = params.backlash.reach
        framing = self._valence_table(params)
        if not params.mechanisms.stochastic_exposure:
            return np.empty((0, 0), np.uint8), np.array(rate * reach)[None, :] * framing
        incidents, heard = rules.news_drawn(self._handles(rng), rate, reach, n)  # compiled
        if heard.size or not np.count_nonzero(incidents):  # (none: a quiet month, see
            # monthly_update; count_nonzero is a third of any()'s time on four numbers)
            return heard, framing
        heard = np.zeros((n, rate.size), np.min_scalar_type(incidents.max()))
        for p in np.flatnonzero(incidents):  # numpy's own binomials: many incidents
            for part in chunks(n):  # the same draws, in order, with small temporaries
                heard[part, p] = rng.binomial(incidents[p], reach, part.stop - part.start)
        return heard, framing

    # --- generations ---------------------------------------------------------------------

    def renew(
        self,
        params: Parameters,
        signals: np.ndarray,
        promotion: float,
        month: int,
        rng,
        terms: UpdateTerms | None = None,
    ) -> int:
        """One month of demography (docs/ODD.md, "Generations"): everyone ages a month and
        moves to their new age band; persons leave by age-specific mortality, emigration of
        their group and, where the population grows, a uniform thinning that keeps the
        fixed number of rows a representative sample; newcomers take the rows they leave:
        persons turning the entry age, or adult immigrants of groups with net immigration,
        drawn in the same region. ``month`` is a month index; ``terms``: what this month's
        update returned, if nothing changed the parameters since. Returns the number of
        newcomers. Its cost grows with the leavers, apart from one compiled pass of ageing."""
        persons, profile = self.persons, self.profile
        d = profile.demography
        if d is None or not params.mechanisms.demography:
            return 0
        tracked = self._renewed is not None and self.revision == self._ahead_revision
        kept, table = self._sums, measures.poll_table(params.survey)
        # the kept sums are mended if they are this month's, of this instrument's table
        held = kept is not None and kept[0] == self.revision and kept[1] is table
        counted = kept[1:] if held else None
        self._sums = None  # until mended (:meth:`sums`)
        self.revision += 1  # ages, roles and newcomers change what the measures sum
        hazard, immigrants = self._hazards
        moved, over, back, immigration, mean_hazard, inflow = rules.month_of_ageing(
            persons.age_months,
            persons.age,
            persons.ethnicity,
            self._age_floors,
            d.oldest * 12,
            len(profile.groups),
            params.population.alumni_age * 12,
            hazard,
            immigrants,
            float(d.entrants),
        )  # the ages, then the flows of the persons by (age band, group)
        self.adults = float(rules.projected(self.adults, inflow - mean_hazard, 1 / 12))
        chance = rules.leave_chance(hazard, rules.thinning(mean_hazard, inflow), 1 / 12)
        # nobody passes the oldest age
        top = float(chance.max())
        rows = rules.leavers(self._handles(rng), top, chance, persons.age, persons.ethnicity, over)
        self._alumni_return(params, back, rng)
        self._count(counted, rows, -1)  # the leavers' parts, out until the newcomers settle
        flagged = self._replace(params, rows, month // 12, rng, inflow, immigration, counted)
        # engagement follows age band and roles; a row listed twice is computed twice alike
        changed = np.concatenate((moved, rows, *flagged))
        refresh_engagement(persons, changed)
        if rows.size:  # identity at rest, then attraction, in one pass
            self.settle(params, signals, rows, promotion, terms)
        if counted is not None:
            self._count(counted, rows, 1)  # the newcomers' parts
            self._sums = (self.revision, *counted)
        if tracked:  # exposure was drawn ahead, and persons did not change since: the
            # update draws these persons' exposure again, the others' stands
            self._renewed = np.concatenate((self._renewed, changed))
            self._ahead_revision = self.revision
        return int(rows.size)

    @functools.cached_property
    def _hazards(self) -> tuple[np.ndarray, np.ndarray]:
        """The yearly chance of leaving by (age band, group), mortality plus emigration, and
        each group's yearly net immigration (0 where it emigrates): fixed by the profile."""
        d = self.profile.demography
        migration = np.array([d.migration.get(g, 0.0) for g in self.profile.groups])
        hazard = (
            np.array([d.mortality[a] for a in self.profile.ages])[:, None]
            + np.maximum(-migration, 0.0)[None, :]
        )
        return hazard, np.maximum(migration, 0.0)

    def _replace(
        self, params, rows, year, rng, inflow, immigration, counted=None
    ) -> tuple[np.ndarray, ...]:
        """Draw newcomers into ``rows``: region and area are the row's, the rest from the
        profile (ethnicity given the region and whether they immigrate). Elite and NGO roles
        the leavers held pass to persons drawn at random; returns those persons' rows.
        ``counted``: the kept sums (:meth:`sums`), the rows' parts taken out of them; the
        parts of those given a role are mended."""
        persons, profile, d = self.persons, self.profile, self.profile.demography
        n = rows.size
        if n == 0:
            return ()
        # immigrants, groups, the immigrants' ages (the others turn the entry age this
        # month) and the attributes' numbers, drawn in one compiled pass
        ethnicity, age_months, draws = newcomers_drawn(
            self._handles(rng),
            persons.region[rows],
            immigration / inflow if inflow > 0 else 0.0,
            self._newcomer_groups,
            self._age_bands,
            d.entry_age * 12,
            self.tables,
        )
        said, kept, *messages = self._affinity if self._affinity is not None else (None, None)
        if said is not None and not messages:  # (a public pickled before the array was kept)
            messages = [np.array(said)]
        _, _, *lost = place_newcomers(
            persons,
            rows,
            ethnicity,
            age_months,
            draws,
            year,
            profile,
            params,
            self.tables,
            kept,  # the newcomers' own affinity, if kept
            messages[0] if messages else None,
        )
        flagged = []
        for flag, count in zip(("elite", "ngo"), lost, strict=True):  # the leavers' roles
            flags = getattr(persons, flag)
            if count:
                chosen = self._pick_eligible(flag, count, rng)
                # a newcomer's part is out already (rows are sorted: a search, not np.isin,
                # which builds a table as long as the rows' range)
                at = np.searchsorted(rows, chosen).clip(max=rows.size - 1)
                others = chosen[rows[at] != chosen]
                self._count(counted, others, -1)
                flags[chosen] = True
                self._count(counted, others, 1)
                flagged.append(chosen)
                if flag == "elite":
                    self._scholars_recruited(params, chosen, rng)
        return tuple(flagged)

    def _alumni_return(self, params: Parameters, back: np.ndarray, rng) -> None:
        """Persons who turn the alumni age this month (the rows ``back``, in row order) come
        back from their studies: each holds a tie to power p with chance education_ties_p x
        its area's weight x the power's student flow over their years of study
        (:meth:`student_flows`, docs/ODD.md §7.13)."""
        persons = self.persons
        if not back.size:
            return
        tau = per_power(params, "education_ties")
        flows = tau * rules.pooled_flows(tau, self.pull)
        ties_weight = float(self.tables.ties_weight)
        rules.ties_drawn(self._handles(rng), back, persons.urban, ties_weight, flows, persons.ties)

    def _scholars_recruited(self, params: Parameters, chosen: np.ndarray, rng) -> None:
        """New members of the elites are a power's scholarship graduates with chance
        scholarship_ties_p x the power's flow of scholars, pooled as the students' are
        (docs/ODD.md §7.13)."""
        sigma = per_power(params, "scholarship_ties")
        draws = rng.random((chosen.size, sigma.size))
        self.persons.ties[chosen] |= draws < (sigma * rules.pooled_flows(sigma, self.pull))

    def student_flows(self, params: Parameters) -> np.ndarray:
        """Each power's flow of students abroad relative to the start's (P,): a pool of
        fixed size choosing among the powers by their pull (:func:`rules.pooled_flows`)."""
        tau = per_power(params, "education_ties")
        return rules.pooled_flows(tau, self.pull)

    def alumni_values(
        self, params: Parameters, reference: np.ndarray, sample: np.ndarray | None = None
    ) -> np.ndarray:
        """Per power (P,): what one more unit of its education signal, kept a year, adds to
        officials' score of it over the horizon through alumni (docs/ODD.md §7.10): the
        ties it adds (its flow is the signal over ``reference``) among persons reaching the
        alumni age and among the elites' recruits, each raising a baseline by the ties'
        bonus from its return, after the years of study, to the horizon. Measured over
        everyone, or over the rows ``sample``."""
        pop = params.population
        months = 12.0 * max(0.0, params.adaptation.horizon - pop.study_years / 2)
        ageing = self.profile.demography is not None and params.mechanisms.demography
        if not (months and params.mechanisms.alumni and ageing):  # nobody comes back
            return np.zeros(reference.size)
        persons = self.persons
        if sample is None:  # everyone: no array of every row, nor a copy of their ages
            ages, elites = persons.age_months, np.flatnonzero(persons.elite)
        else:
            ages, elites = persons.age_months[sample], sample[persons.elite[sample]]
        turning = (ages >= pop.alumni_age * 12) & (ages < pop.alumni_age * 12 + 12)
        returning = np.count_nonzero(turning) / max(ages.size, 1)  # the mean; none: 0
        recruited = self._elite_turnover(params, elites)
        tau = per_power(params, "education_ties")
        sigma = per_power(params, "scholarship_ties")
        w = params.officials
        ties = w.public_weight * returning * tau * rules.pooled_flow_gain(tau, self.pull)
        elite_ties = recruited * sigma * rules.pooled_flow_gain(sigma, self.pull)
        ties = ties + w.elite_weight * elite_ties
        rates = params.persuasion
        value = rules.tie_worth(rates.ties_bonus, rates.relaxation, months) * ties
        return np.divide(value, reference, out=np.zeros_like(value), where=reference > 0)

    def _elite_turnover(self, params: Parameters, elites: np.ndarray) -> float:
        """The share of the elites (at the rows ``elites``) replaced in a year: their mean
        yearly rate of leaving, the thinning of a growing population included (§7.11; 0
        without demography; :func:`sim.model.rules.elite_turnover`)."""
        demography = self.profile.demography is not None and params.mechanisms.demography
        if not demography or not elites.size:
            return 0.0
        hazard, immigrants = self._hazards
        persons, entrants = self.persons, float(self.profile.demography.entrants)
        rows = np.asarray(elites, np.int64)
        return rules.elite_turnover(
            persons.age, persons.ethnicity, rows, hazard, immigrants, entrants
        )

    @functools.cached_property
    def _newcomer_groups(self) -> np.ndarray:
        """Cumulative chances of each group (kind, region, group) for a newcomer who turns
        the entry age (kind 0) or immigrates (kind 1) in a region: the groups' entrant
        shares, or their net immigration, times their presence in the region. Fixed by the
        profile: built once."""
        profile, d = self.profile, self.profile.demography
        groups = list(profile.groups.values())
        migration = np.array([d.migration.get(g, 0.0) for g in profile.groups])
        entrants = np.array([d.entrant_shares[g] for g in profile.groups])
        movers = np.maximum(migration, 0.0) * np.array([g.share for g in groups])
        in_region = np.array([[g.regions.get(r, 0.0) for g in groups] for r in profile.regions])
        weights = np.stack([entrants * in_region, movers * in_region])
        empty = weights.sum(axis=2) <= 0  # nobody of those groups lives here: any entrant's
        weights[empty] = entrants
        cumulative = np.cumsum(weights, axis=2)
        return cumulative / cumulative[:, :, -1:]

    @functools.cached_property
    def _age_bands(self) -> AgeBands:
        """The age bands an immigrant's age is drawn from: fixed by the profile."""
        return age_bands(self.profile)

    def _pick_eligible(self, flag: str, count: int, rng) -> np.ndarray:
        """``count`` persons, drawn at random, who may hold ``flag`` (elites: urban, aged
        30-59; NGO links: urban) and hold none: by rejection, so a month costs what it
        replaces, not the population's size."""
        persons = self.persons
        flags = getattr(persons, flag)
        chosen: list[int] = []
        for _ in range(100):  # eligible persons are a large share: a few rounds do
            draw = rng.integers(0, persons.size, 4 * count + 8)
            ok = persons.urban[draw] & ~flags[draw]
            if flag == "elite":
                ok &= elite_eligible(persons.age[draw], persons.urban[draw])
            chosen = list(dict.fromkeys([*chosen, *draw[ok].tolist()]))[:count]
            if len(chosen) == count:
                break
        return np.array(chosen, dtype=np.int64)

    def members(self, groups: GroupFilter) -> np.ndarray:
        """Flags of the persons a group filter selects (everyone for an empty filter)."""
        persons = self.persons
        chosen = np.ones(persons.size, bool)
        for dim in GROUP_DIMENSIONS:
            values = getattr(groups, dim)
            if values:
                named = np.zeros(len(persons.labels[dim]), bool)  # each code: named or not
                named[[persons.labels[dim].index(v) for v in values]] = True
                codes = persons.codes(dim)
                for part in chunks(persons.size):  # small temporaries (an index is 8 bytes)
                    chosen[part] &= named[codes[part]]
        if groups.elite is not None:
            chosen &= persons.elite == groups.elite
        return chosen

    def shock(self, power: int, delta: float, chosen: np.ndarray) -> None:
        """A one-off change of the chosen persons' attraction to one power."""
        attraction = self.persons.attraction
        for part in chunks(self.size):  # small temporaries
            rows = part.start + np.flatnonzero(chosen[part])
            before = attraction[rows, power].astype(np.float64)  # the rule in double precision
            attraction[rows, power] = rules.shock(before, delta)
        self.revision += 1


def masks_drawn(
    rng: np.random.Generator, stream: tuple, persons: int, cells, chances
) -> np.ndarray:
    """A month's exposure masks of ``persons`` persons
    (:func:`sim.model.rules.exposure_masks_drawn`), drawn from ``rng`` by its handle
    ``stream`` (:func:`sim.model.streams.handle`), with the persons' cells of engagement as
    they stand (``cells``, and each cell's ``chances``), in one compiled pass that keeps no
    array of the draws. Run on the spare thread when there is one (:meth:`Public._draw_ahead`):
    ``rng`` is an argument so that the work holds it while it draws, whatever becomes of the
    model meanwhile."""
    masks = np.empty(persons, np.uint8)
    rules.exposure_masks_drawn(stream, masks, cells, chances)
    del rng  # held until the pass is done
    return masks


def per_power(params: Parameters, *names: str) -> np.ndarray:
    """A scalar parameter of every power, in the scenario's order (P,); of several names, one
    row each (names, P), in one array (each row contiguous)."""
    powers = params.powers.values()
    if len(names) == 1:
        return np.array([getattr(p, names[0]) for p in powers])
    return np.array([getattr(p, name) for name in names for p in powers]).reshape(len(names), -1)


_per_dimension = attrgetter(*DIMENSIONS)
"""A power's message as a tuple of its position on each cultural dimension."""

_NO_OUTLETS = np.empty((0, 0), np.float32)
"""The outlets' access when the profile has no outlets (no channel reads it)."""


def update_rates(params: Parameters, promotion: float = 0.0) -> rules.Rates:
    """This month's scalar parameters of the update, switches applied (``promotion``: the
    state's identity promotion this month)."""
    mech = params.mechanisms
    moves = mech.identity  # identity moves with promotion and decays to its baseline
    persuasion = params.persuasion
    return rules.Rates(  # in the fields' order (a named tuple's keywords cost more)
        persuasion.rate,
        persuasion.relaxation,
        persuasion.identity_resistance if mech.identity else 0.0,  # resistance
        params.population.elite_stereotype,
        persuasion.ties_bonus,
        persuasion.kin_bonus if mech.kinship else 0.0,
        params.backlash.strength if mech.backlash else 0.0,  # backlash
        persuasion.comparison if mech.comparison else 0.0,
        params.social.rate if mech.social_influence else 0.0,  # social
        params.social.confidence,
        params.identity.response * promotion if moves else 0.0,  # identity_gain
        params.identity.decay if moves else 0.0,  # identity_decay
    )
