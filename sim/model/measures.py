"""What the model measures. Each reporter is a named function with the name of its column
(picklable, unlike lambdas), returning one value per power or one for the state.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

from sim.inputs.schema import CHANNELS
from sim.model import columns, rules, threads
from sim.model.agents import efforts

if TYPE_CHECKING:
    from sim.model.model import MultivectorModel


def column_mean(values: np.ndarray, members: np.ndarray | None = None) -> np.ndarray:
    """Mean over persons (rows) of an (N, P) array, or over the flagged persons only (NaN
    where none is flagged). A matrix-vector product: on tall arrays it is many times faster
    than ``values.mean(axis=0)``."""
    weights = np.ones(values.shape[0]) if members is None else members.astype(np.float64)
    count = weights.sum()
    return weights @ values / count if count else np.full(values.shape[1], np.nan)


def attraction(model: MultivectorModel) -> np.ndarray:
    return _reported(model, "attraction")


def favourable(model: MultivectorModel) -> np.ndarray:
    """Expected share answering "favourable" (:func:`sim.model.survey.favourable`)."""
    return _reported(model, "favourable")


def approval(model: MultivectorModel) -> np.ndarray:
    """Expected share approving of each power's leadership (:func:`sim.model.survey.approval`)."""
    return _reported(model, "approval")


def poll(model: MultivectorModel) -> np.ndarray:
    """This month's favourable and approval shares (2, P): each person's chance of each
    answer, the answer function tabulated (:func:`poll_table`) and interpolated at their
    attraction, summed over persons in whole numbers with the month's other sums
    (:func:`sums_of_rows`, kept by :meth:`Public.sums <sim.model.public.Public.sums>`)
    and scaled; with a hard cut-off, a count. Kept for the month while the persons and the
    instrument hold (both columns ask)."""
    s = model.params.survey
    if s.spread > 0.0:
        return _month_sums(model)[3]
    key = (model.steps, model.public.revision, s.favourable_cut, s.approval_cut)
    kept = getattr(model, "_poll", None)
    if kept is None or kept[0] != key:  # a hard cut-off: a count, no table
        cuts = np.array(key[2:])
        shares = rules.shares_on_table(model.public.persons.attraction, cuts, 0.0, _NO_TABLE)
        shares.flags.writeable = False
        model._poll = kept = (key, shares)
    return kept[1]


_NO_TABLE = np.empty((2, 0))


def poll_table(survey) -> np.ndarray:
    """The chance of a favourable answer and of approval at each point of the answer table's
    grid (grid + 1, 2; :func:`sim.model.rules.answer_table`'s, transposed: a point's two
    chances, and the next point's, side by side in memory), for the instrument ``survey``
    (``params.survey``): made once per instrument, not to be changed (from floats: a value
    an event clamped to a bound may be an integer, for which numba would compile the table
    anew)."""
    cuts = float(survey.favourable_cut), float(survey.approval_cut)
    return _answer_tables(*cuts, float(max(survey.spread, 0.0)))


@functools.lru_cache(maxsize=16)  # a run's instrument holds, mostly: made once
def _answer_tables(favourable_cut: float, approval_cut: float, spread: float) -> np.ndarray:
    table = rules.answer_table(np.array([favourable_cut, approval_cut]), spread).T.copy()
    table.flags.writeable = False
    return table


def elite_attraction(model: MultivectorModel) -> np.ndarray:
    """Mean attraction of the elites; with no elite (a small population, or
    ``population.elite_share = 0``), the mean of everyone: what officials then weigh as the
    elites' interest (:func:`audiences`), so the column shows what the model used."""
    return _reported(model, "elite_attraction")


def audiences(model: MultivectorModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean attraction to each power (P,) of everyone, of the elites and of persons linked to
    foreign-funded NGOs: what officials weigh. A group with no member counts as everyone.
    Made with the month's sums and kept, read-only, while they are (:func:`person_sums`):
    the officials' advice and the records both ask."""
    public, elite, advocacy = _month_sums(model)[2]
    return public, elite, advocacy


def person_sums(model: MultivectorModel) -> tuple[np.ndarray, ...]:
    """This month's sums over persons: attraction (3, P) and head counts (3,) of everyone,
    the elites and the NGO-linked; and national identity (a number). Those the public keeps,
    made as the month's update ends and mended by its renewal
    (:meth:`Public.sums <sim.model.public.Public.sums>`), else one pass over everyone
    (:func:`sums_of_rows`). Kept until the persons or the poll's instrument change (the
    month and :attr:`Public.revision <sim.model.public.Public.revision>`): the officials'
    advice and the reporters all ask, after the public's update and renewal."""
    return _month_sums(model)[1]


def _month_sums(model: MultivectorModel) -> tuple:
    """The key, :func:`person_sums`, :func:`audiences`'s means (3, P) and the poll's shares
    (2, P) of the month's sums, made in one compiled pass (:func:`_scaled`) and kept while
    the key holds."""
    s = model.params.survey
    key = (model.steps, model.public.revision, s.favourable_cut, s.approval_cut, s.spread)
    cached = getattr(model, "_sums", None)
    if cached is None or cached[0] != key:
        sums, answers = model.public.sums(poll_table(s))
        totals, counts, identity, means, shares = _scaled(sums, answers)
        means.flags.writeable = False
        shares.flags.writeable = False
        model._sums = cached = (key, (totals, counts, identity), means, shares)
    return cached


@numba.njit(cache=True)
def _scaled(sums, answers):
    """From the whole numbers of the month's sums (3, P + 2 and 2, P; :func:`sums_of_rows`):
    the sums of attraction (3, P) and the head counts (3,) of everyone, the elites and the
    NGO-linked, the sum of identity, each group's mean attraction (3, P; a group with no
    member as everyone's), and the poll's shares (2, P; of everyone), numpy's numbers."""
    powers = sums.shape[1] - 2
    totals, counts, means = np.empty((3, powers)), np.empty(3), np.empty((3, powers))
    for r in range(3):
        counts[r] = sums[r, powers]
        for p in range(powers):
            totals[r, p] = sums[r, p] / FIXED
    everyone = 1.0 if counts[0] < 1.0 else counts[0]  # max(counts[0], 1.0), as Python takes it
    for p in range(powers):
        means[0, p] = totals[0, p] / everyone
    for r in range(1, 3):
        for p in range(powers):
            means[r, p] = totals[r, p] / counts[r] if counts[r] else means[0, p]
    shares = np.empty(answers.shape)
    for q in range(answers.shape[0]):
        for p in range(powers):
            shares[q, p] = answers[q, p] / FIXED / everyone
    return totals, counts, sums[0, powers + 1] / FIXED, means, shares


FIXED = 2.0**40
"""Sums over persons are sums of whole numbers, each person's terms in units of 2**-40 (an
attraction, a float32 in [0, 1], is such a number from 2**-17 up; smaller ones and identity
are rounded to it, an error below 5e-13 a person): whole numbers add up exactly, so a sum is
the same whatever the order of the persons and however threads split them, and a person's
part can be taken out of it and put back, as the month's renewal does, to the bit. Terms
are taken in [0, 1], where the rules keep attraction and identity: a value outside counts
as the nearer end, NaN as 0. At the most persons a run may have, 2,000,000, the sums stay
below a quarter of an int64's range."""

_ONE = np.int64(2**40)
_GRID_BITS = rules.ANSWER_GRID.bit_length() - 1
assert rules.ANSWER_GRID == 1 << _GRID_BITS, "the grid's steps are the attraction's top bits"


@numba.njit(nogil=True, cache=True, inline="always")
def _count_person(i, sign, attraction, elite, ngo, identity, table, sums, answers):
    """Add person i's part to the sums (``sign`` 1) or take it out (-1): ``sums`` (3, P + 2)
    holds, for everyone, the elites and the NGO-linked, the attraction to each power, the
    head count and the identity; ``answers`` (2, P), everyone's chance of a yes to each of
    the poll's two questions about each power (:func:`_parts`)."""
    powers = attraction.shape[1]
    elite_i, ngo_i = elite[i], ngo[i]
    for p in range(powers):
        part, favourable, approval = _parts(attraction[i, p], table)
        sums[0, p] += sign * part
        if elite_i:
            sums[1, p] += sign * part
        if ngo_i:
            sums[2, p] += sign * part
        answers[0, p] += sign * favourable
        answers[1, p] += sign * approval
    ident = sign * _whole(identity[i])
    sums[0, powers] += sign
    sums[0, powers + 1] += ident
    if elite_i:
        sums[1, powers] += sign
        sums[1, powers + 1] += ident
    if ngo_i:
        sums[2, powers] += sign
        sums[2, powers + 1] += ident


@numba.njit(nogil=True, cache=True)  # (not inlined by numba: LLVM inlines it, faster)
def _whole(value):
    """A term in [0, 1] as a whole number of 2**-40, rounded (outside, the nearer end)."""
    return min(max(np.int64(np.float64(value) * FIXED + 0.5), 0), _ONE)


@numba.njit(nogil=True, cache=True)  # (not inlined by numba: LLVM inlines it, faster)
def _parts(attraction, table):
    """A person's parts of the sums for one power, each a whole number of 2**-40: the
    attraction, and the chance of a yes to each of the poll's two questions (the answer
    ``table``, grid + 1, 2: :func:`poll_table`), the table interpolated linearly between
    the two grid points around the attraction (:func:`sim.model.rules.shares_on_table`;
    the grid's 2**12 steps are the top 12 bits of the attraction's 40)."""
    part = _whole(attraction)
    k = min(part >> (40 - _GRID_BITS), rules.ANSWER_GRID - 1)  # the grid step below it
    f = (part << _GRID_BITS) - (k << 40)  # the way from it to the next, in 2**-40
    # the two questions written out (a loop over them took a third longer)
    below, above = np.float64(_ONE - f), np.float64(f)
    favourable = table[k, 0] * below + table[k + 1, 0] * above
    approval = table[k, 1] * below + table[k + 1, 1] * above
    return part, np.int64(favourable + 0.5), np.int64(approval + 0.5)


@numba.njit(nogil=True, cache=True)
def sums_of_rows(first, last, attraction, elite, ngo, identity, table):
    """The sums of :func:`_count_person` (``sums``, ``answers``) of rows ``first`` to
    ``last``: a pass for :func:`sim.model.threads.over_rows`, whose parts' sums add up to
    everyone's. Power by power, each sum held apart until the rows are done (whole
    numbers: the same sums as person by person, in any order), a quarter faster."""
    powers = attraction.shape[1]
    sums = np.zeros((3, powers + 2), np.int64)
    answers = np.zeros((2, powers), np.int64)
    for p in range(powers):
        everyone = elites = linked = favourable = approval = np.int64(0)
        for i in range(first, last):
            part, yes, approves = _parts(attraction[i, p], table)
            everyone += part
            elites += part * np.int64(elite[i])
            linked += part * np.int64(ngo[i])
            favourable += yes
            approval += approves
        sums[0, p], sums[1, p], sums[2, p] = everyone, elites, linked
        answers[0, p], answers[1, p] = favourable, approval
    elites = linked = identity_sum = elite_identity = linked_identity = np.int64(0)
    for i in range(first, last):
        ident, e, g = _whole(identity[i]), np.int64(elite[i]), np.int64(ngo[i])
        elites += e
        linked += g
        identity_sum += ident
        elite_identity += ident * e
        linked_identity += ident * g
    sums[0, powers], sums[1, powers], sums[2, powers] = max(last - first, 0), elites, linked
    sums[0, powers + 1], sums[1, powers + 1] = identity_sum, elite_identity
    sums[2, powers + 1] = linked_identity
    return sums, answers


@numba.njit(nogil=True, cache=True)
def count_rows(rows, sign, attraction, elite, ngo, identity, table, sums, answers):
    """Add the parts of the persons at ``rows`` to the sums (``sign`` 1), or take them out
    (-1), in place."""
    for i in rows:
        _count_person(i, sign, attraction, elite, ngo, identity, table, sums, answers)


def channel_reach(model: MultivectorModel) -> np.ndarray:
    """Share of each channel's foreign signal reaching persons that comes from each power
    (P, C): what persons receive, as the count of students abroad measures it for education
    (a count of broadcasters counts what is aired instead: :func:`aired_shares`)."""
    return model.public.heard_shares(model.params, model.signals())


def aired_shares(model: MultivectorModel, channel: str) -> np.ndarray:
    """Each power's share of a channel's foreign content on the air (P,), what a count of
    broadcasters counts (docs/ODD.md §7.2), unlike :func:`channel_reach`, which is what
    persons receive. A power's presence is its share of foreign content at the start
    (``start_effort``); its content grows and shrinks with its effort against the start's
    (a channel it did not work at the start airs at its presence once it does), and the
    state's screening keeps part of it off the air (:func:`sim.model.rules.aired_shares`)."""
    c = CHANNELS.index(channel)
    effort = np.array([p.effort[c] for p in model.power_agents])
    presence = np.array([getattr(p.settings.presence, channel) for p in model.power_agents])
    screening = model.state.screening()[:, c]
    return rules.aired_shares(presence, effort, model.start_effort[:, c], screening)


def alignment(model: MultivectorModel) -> np.ndarray:
    return _reported(model, "alignment")


def screening(model: MultivectorModel) -> np.ndarray:
    """The mean screening of each power's channels."""
    return _reported(model, "screening")


def effort(model: MultivectorModel) -> np.ndarray:
    return _reported(model, "effort")


def student_flow(model: MultivectorModel) -> np.ndarray:
    """Each power's flow of students abroad relative to the start's (docs/ODD.md §7.13)."""
    return _reported(model, "student_flow")


def effective_vectors(model: MultivectorModel) -> float:
    return _reported(model, "effective_vectors")


def dominant_power(model: MultivectorModel) -> str:
    return _reported(model, "dominant_power")


def dominant_share(model: MultivectorModel) -> float:
    return _reported(model, "dominant_share")


def identity(model: MultivectorModel) -> float:
    return _reported(model, "identity")


def promotion(model: MultivectorModel) -> float:
    return _reported(model, "promotion")


def population(model: MultivectorModel) -> float:
    """The population aged 15 and over that the persons stand for (the profile's size in its
    census year, moved by entries, deaths and migration when demography is on); without a
    demography in the profile, the profile's whole population, fixed."""
    return _reported(model, "population")


PER_POWER = tuple(globals()[name] for name in columns.PER_POWER)
PER_STATE = tuple(globals()[name] for name in columns.OF_STATE)
"""The reporters, named as their columns (:mod:`sim.model.columns` holds the one list)."""


def model_reporters() -> dict:
    """Reporters for mesa's DataCollector, keyed by column name."""
    return {f.__name__: f for f in (*PER_POWER, *PER_STATE)}


# --- the month's record ---------------------------------------------------------------------


class Month(NamedTuple):
    """The month as it ends (:func:`month_record`): what its reporters read, and the
    channels table's month. The model's DataCollector keeps each month as this and makes
    the reporters' columns (:func:`record_columns`) and the channels table's rows
    (:func:`channel_rows`) only when they are read, a month paying for no column it is not
    asked. Every array in it is one that nothing changes later: read-only, a copy, or one
    the model replaces, never writes into."""

    step: int
    date: str
    means: np.ndarray  # (3, P) read-only: mean attraction of everyone, elites, NGO-linked
    poll: np.ndarray  # (2, P) read-only: the favourable and approval shares
    alignment: np.ndarray  # (P,) a copy of the state's
    screening: np.ndarray  # (P, C) read-only: the state's screening of each power's channels
    effort: np.ndarray  # (P, C): each power's effort per channel
    signal: np.ndarray  # (P, C): each power's signal per channel
    education_ties: list[float]  # (P,)
    pull: np.ndarray  # (P,): each power's pull on students (replaced month by month)
    identity: float
    promotion: float
    population: float


def month_record(
    model: MultivectorModel, signals: np.ndarray | None = None, effort: np.ndarray | None = None
) -> Month:
    """The month as it stands (:class:`Month`); ``signals`` and ``effort``: the powers' now
    (P, C each, arrays nothing changes later), if the caller has them. The powers are in
    the state's order (as the model holds them)."""
    kept = _month_sums(model)
    _, counts, identities = kept[1]
    state, agents = model.state, model.power_agents
    return Month(
        model.steps,
        model.date,
        kept[2],
        poll(model),
        state.alignment.copy(),
        state.screening(),
        efforts(agents) if effort is None else effort,
        np.array([p.signal for p in agents]) if signals is None else signals,
        [power.education_ties for power in model.params.powers.values()],
        model.public.pull,
        float(identities / max(counts[0], 1.0)),
        state.promotion(),
        float(model.public.adults),
    )


RECORDED = ("step", "date", *columns.PER_POWER, *columns.OF_STATE)
"""The columns a month's record makes (:func:`record_columns`)."""


def record_columns(months: Sequence[Month], powers: Sequence[str]) -> dict[str, list]:
    """The reporters' columns of the months recorded (:func:`month_record`, in order; the
    model's ``powers``): for each name of :data:`RECORDED`, the reporter's value in each
    month (arrays of their own). The months' arrays are stacked and each measure taken of
    all months at once: numpy reduces each row of a stack as it reduces the row alone
    (tests/test_model.py holds them to that)."""
    if not months:
        return {name: [] for name in RECORDED}
    means = np.array([m.means for m in months])  # (M, 3, P), the reporters' own copy
    shares = np.array([m.poll for m in months])  # (M, 2, P)
    aligned = np.array([m.alignment for m in months])  # (M, P)
    screened = np.array([m.screening for m in months])  # (M, P, C)
    effort = np.array([m.effort for m in months])
    strongest = aligned.argmax(axis=1)
    return {
        "step": [m.step for m in months],
        "date": [m.date for m in months],
        "attraction": list(means[:, 0]),
        "favourable": list(shares[:, 0]),
        "approval": list(shares[:, 1]),
        "elite_attraction": list(means[:, 1]),
        "alignment": list(aligned),
        "screening": list(np.add.reduce(screened, axis=2) / screened.shape[2]),
        "effort": list(effort.sum(axis=2)),
        "student_flow": [rules.pooled_flows(np.array(m.education_ties), m.pull) for m in months],
        "effective_vectors": rules.effective_number(aligned).tolist(),
        "dominant_power": [powers[k] for k in strongest.tolist()],
        "dominant_share": aligned.max(axis=1).tolist(),
        "identity": [m.identity for m in months],
        "promotion": [m.promotion for m in months],
        "population": [m.population for m in months],
    }


def _reported(model: MultivectorModel, name: str):
    """A reporter's value now: its column of the month as it stands."""
    return record_columns((month_record(model),), model.powers)[name][0]


def channel_rows(months: list[Month], powers: tuple[str, ...]) -> dict[str, list]:
    """Effort, signal and screening per power and channel: the table's rows as columns, of
    the months recorded (:func:`month_record`; one entry per month, power and channel;
    months outermost, then powers)."""
    if not months:
        return {name: [] for name in columns.CHANNEL_COLUMNS}
    steps, dates, effort, signal, screening = zip(
        *(  # (a month kept by a model pickled before the records: its five as a tuple)
            (m.step, m.date, m.effort, m.signal, m.screening) if isinstance(m, Month) else m
            for m in months
        ),
        strict=True,
    )
    per_month = len(powers) * len(CHANNELS)
    return {
        "step": np.repeat(steps, per_month).tolist(),
        "date": [date for date in dates for _ in range(per_month)],
        "power": [p for p in powers for _ in CHANNELS] * len(months),
        "channel": list(CHANNELS) * (len(powers) * len(months)),
        "effort": np.concatenate(effort, axis=None).tolist(),
        "signal": np.concatenate(signal, axis=None).tolist(),
        "screening": np.concatenate(screening, axis=None).tolist(),
    }


def group_month(model: MultivectorModel) -> tuple:
    """A month of the groups table as the model keeps it until the table is read
    (:func:`group_rows`): the step, the date, and the persons, the sum of attraction and of
    the chance of a favourable answer of every group of :data:`~sim.model.columns.GROUPED_BY`
    (cells: G, (G, P), (G, P); the groups of dimension d are the cells from
    ``offsets[d]``), in one compiled pass (:func:`_group_sums`)."""
    pop = model.public.persons
    s = model.params.survey
    offsets = _group_offsets(pop.labels)
    cells, powers = int(offsets[-1]), pop.attraction.shape[1]
    blocks = max(1, -(-pop.size // threads.SUM_BLOCK))
    size, total, fav = (np.zeros((blocks, cells, *shape)) for shape in ((), (powers,), (powers,)))
    table = _favourable_table(float(s.favourable_cut), float(max(s.spread, 0.0)))  # as poll_table
    codes = [pop.codes(dim) for dim in columns.GROUPED_BY]  # as held (area's made, 1 B a person)
    dtype = np.result_type(*codes)  # one type: the pass takes them as one tuple
    threads.over_rows(
        _group_sums,
        pop.size,
        threads.SUM_BLOCK,
        tuple(np.asarray(c, dtype) for c in codes),
        offsets,
        pop.attraction,
        s.favourable_cut,
        s.spread <= 1e-9,
        table,
        size,
        total,
        fav,
        block=threads.SUM_BLOCK,
    )
    return model.steps, model.date, size.sum(axis=0), total.sum(axis=0), fav.sum(axis=0)


@functools.lru_cache(maxsize=16)  # a run's instrument holds, mostly: made once
def _favourable_table(cut: float, spread: float) -> np.ndarray:
    """The chance of a favourable answer on the answer table's grid (:func:`rules.answer_table`;
    read-only)."""
    table = rules.answer_table(np.array([cut]), spread)[0]
    table.flags.writeable = False
    return table


def _group_offsets(labels: dict[str, list[str]]) -> np.ndarray:
    sizes = [len(labels[dim]) for dim in columns.GROUPED_BY]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def group_rows(
    months: list[tuple], labels: dict[str, list[str]], powers: tuple[str, ...]
) -> dict[str, list]:
    """Attraction and favourable share by population group and power: the table's rows as
    columns, of the months kept by :func:`group_month` (each month's rows by dimension, then
    power, then group; groups with no member left out). ``labels``: the persons' labels of
    each dimension (:attr:`Persons.labels <sim.model.population.Persons.labels>`)."""
    offsets = _group_offsets(labels)
    out: dict[str, list] = {name: [] for name in columns.GROUP_COLUMNS}
    for step, date, size, total, fav in months:
        rows = len(out["power"])
        for d, dim in enumerate(columns.GROUPED_BY):
            names = labels[dim]
            cells = slice(offsets[d], offsets[d + 1])
            held = np.flatnonzero(size[cells])
            count = size[cells][held]
            for k, power in enumerate(powers):
                out["dimension"] += [dim] * held.size
                out["group"] += [names[g] for g in held]
                out["power"] += [power] * held.size
                out["persons"] += count.astype(np.int64).tolist()
                out["attraction"] += (total[cells, k][held] / count).tolist()
                out["favourable"] += (fav[cells, k][held] / count).tolist()
        rows = len(out["power"]) - rows
        out["step"] += [step] * rows
        out["date"] += [date] * rows
    return out


@numba.njit(nogil=True, cache=True)
def _group_sums(first, last, block, codes, offsets, attraction, cut, hard, table, size, total, fav):
    """Persons, and sums of attraction and of the chance of a favourable answer, of every
    group of every dimension (``codes``: a tuple of (N,) codes, one per dimension; group g
    of dimension d is cell ``offsets[d] + g``), of rows ``first`` to ``last`` (``first`` a
    multiple of ``block``), each block of ``block`` rows into its own row of ``size``
    (blocks, G), ``total`` and ``fav`` (blocks, G, P). One pass: each person's chances are
    computed once for all the dimensions. The chance is the answer function tabulated at
    the cut (``table``, :func:`sim.model.rules.answer_table`) interpolated at the person's
    attraction, in floats (the national poll interpolates at the attraction rounded to
    2**-40 and rounds the chance to it: :func:`_count_person`); with ``hard`` (a spread of
    1e-9 or less), 1 above the cut and 0 below."""
    powers = attraction.shape[1]
    grid = rules.ANSWER_GRID
    yes = np.empty(powers)
    counted, summed, favoured = (
        np.empty(size.shape[1]),
        np.empty(total.shape[1:]),
        np.empty(fav.shape[1:]),
    )
    for start in range(first, last, block):  # a block's sums here, written once (as in
        counted[:] = 0.0  # threads writing next to each other's sums would take turns
        summed[:] = 0.0  # at the same cache lines)
        favoured[:] = 0.0
        for i in range(start, min(start + block, last)):
            for p in range(powers):
                a = attraction[i, p]
                if hard:
                    yes[p] = 1.0 if a > cut else 0.0
                else:
                    x = min(1.0, max(0.0, a)) * grid
                    k = min(int(x), grid - 1)
                    yes[p] = table[k] * (k + 1 - x) + table[k + 1] * (x - k)
            for d in range(len(codes)):
                cell = offsets[d] + codes[d][i]
                counted[cell] += 1.0
                for p in range(powers):
                    summed[cell, p] += attraction[i, p]
                    favoured[cell, p] += yes[p]
        b = start // block
        size[b] = counted
        total[b] = summed
        fav[b] = favoured
