"""What the model measures. Each reporter is a named function with the name of its column
(picklable, unlike lambdas), returning one value per power or one for the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.inputs.schema import CHANNELS
from sim.model import columns, rules

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
    return column_mean(model.public.persons.attraction)


def favourable(model: MultivectorModel) -> np.ndarray:
    """Expected share answering "favourable" (:func:`sim.model.survey.favourable`)."""
    return poll(model)[0]


def approval(model: MultivectorModel) -> np.ndarray:
    """Expected share approving of each power's leadership (:func:`sim.model.survey.approval`)."""
    return poll(model)[1]


def poll(model: MultivectorModel) -> np.ndarray:
    """This month's favourable and approval shares (2, P), in one pass over the persons and
    kept for the month (both reporters ask)."""
    s = model.params.survey
    instrument = (s.favourable_cut, s.approval_cut, s.spread)
    cached = getattr(model, "_poll", None)
    if cached is None or cached[0] != (model.steps, *instrument):
        cuts = np.array(instrument[:2])
        table = getattr(model, "_answer_table", None)  # kept while the instrument holds
        if table is None or table[0] != instrument:
            model._answer_table = table = (instrument, rules.answer_table(cuts, s.spread))
        attraction = model.public.persons.attraction
        shares = rules.shares_on_table(attraction, cuts, s.spread, table[1])
        model._poll = cached = ((model.steps, *instrument), shares)
    return cached[1]


def elite_attraction(model: MultivectorModel) -> np.ndarray:
    """Mean attraction of the elites; with no elite (a small population, or
    ``population.elite_share = 0``), the mean of everyone: what officials then weigh as the
    elites' interest (:func:`audiences`), so the column shows what the model used."""
    return audiences(model)[1]


def audiences(model: MultivectorModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean attraction to each power (P,) of everyone, of the elites and of persons linked to
    foreign-funded NGOs: what officials weigh. A group with no member counts as everyone.
    Kept for the month: the officials' advice and the ``elite_attraction`` reporter both
    ask, after the public's update and renewal, and the attraction array is the same."""
    persons = model.public.persons
    key = (model.steps, id(persons.attraction))
    cached = getattr(model, "_audiences", None)
    if cached is None or cached[0] != key:
        sums, counts = _audience_sums(persons.attraction, persons.elite, persons.ngo)
        public = sums[0] / max(counts[0], 1.0)
        elite = sums[1] / counts[1] if counts[1] else public
        advocacy = sums[2] / counts[2] if counts[2] else public
        model._audiences = cached = (key, (public, elite, advocacy))
    return cached[1]


@numba.njit(cache=True)
def _audience_sums(attraction, elite, ngo):
    """Sums of attraction (3, P) and counts (3,) of everyone, the elites and the NGO-linked,
    in one pass over persons."""
    n, powers = attraction.shape
    sums = np.zeros((3, powers))
    counts = np.zeros(3)
    for i in range(n):
        for p in range(powers):
            a = attraction[i, p]
            sums[0, p] += a
            if elite[i]:
                sums[1, p] += a
            if ngo[i]:
                sums[2, p] += a
        counts[0] += 1.0
        counts[1] += elite[i]
        counts[2] += ngo[i]
    return sums, counts


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
    return model.state.alignment.copy()


def screening(model: MultivectorModel) -> np.ndarray:
    return model.state.screening().mean(axis=1)


def effort(model: MultivectorModel) -> np.ndarray:
    return np.array([p.effort.sum() for p in model.power_agents])


def student_flow(model: MultivectorModel) -> np.ndarray:
    """Each power's flow of students abroad relative to the start's (docs/ODD.md §7.13)."""
    return model.public.student_flows(model.params)


def effective_vectors(model: MultivectorModel) -> float:
    return rules.effective_number(model.state.alignment)


def dominant_power(model: MultivectorModel) -> str:
    return model.powers[int(np.argmax(model.state.alignment))]


def dominant_share(model: MultivectorModel) -> float:
    return float(np.max(model.state.alignment))


def identity(model: MultivectorModel) -> float:
    return float(model.public.persons.identity.mean())


def promotion(model: MultivectorModel) -> float:
    return model.state.promotion()


def population(model: MultivectorModel) -> float:
    """The population aged 15 and over that the persons stand for (the profile's size in its
    census year, moved by entries, deaths and migration when demography is on); without a
    demography in the profile, the profile's whole population, fixed."""
    return float(model.public.adults)


PER_POWER = tuple(globals()[name] for name in columns.PER_POWER)
PER_STATE = tuple(globals()[name] for name in columns.OF_STATE)
"""The reporters, named as their columns (:mod:`sim.model.columns` holds the one list)."""


def model_reporters() -> dict:
    """Reporters for mesa's DataCollector, keyed by column name."""
    return {f.__name__: f for f in (*PER_POWER, *PER_STATE)}


def channel_rows(model: MultivectorModel) -> dict[str, list]:
    """Effort, signal and screening per power and channel: the table's rows as columns
    (one entry per power and channel, powers outermost)."""
    agents = model.power_agents
    channels = len(CHANNELS)
    return {
        "step": [model.steps] * (channels * len(agents)),
        "date": [model.date] * (channels * len(agents)),
        "power": [p.name for p in agents for _ in CHANNELS],
        "channel": list(CHANNELS) * len(agents),
        "effort": np.concatenate([p.effort for p in agents]).tolist(),
        "signal": np.concatenate([p.signal for p in agents]).tolist(),
        "screening": model.state.screening()[[p.index for p in agents]].ravel().tolist(),
    }


def group_rows(model: MultivectorModel) -> dict[str, list]:
    """Attraction and favourable share by population group and power: the table's rows as
    columns (dimension, then power, then group; groups with no member left out)."""
    pop = model.public.persons
    s = model.params.survey
    codes = np.stack([pop.codes(dim) for dim in columns.GROUPED_BY]).astype(np.int64)
    sizes = [len(pop.labels[dim]) for dim in columns.GROUPED_BY]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    size, total, fav = _group_sums(
        codes, offsets, pop.attraction, s.favourable_cut, s.spread, int(offsets[-1])
    )
    out: dict[str, list] = {name: [] for name in columns.GROUP_COLUMNS}
    for d, dim in enumerate(columns.GROUPED_BY):
        labels = pop.labels[dim]
        cells = slice(offsets[d], offsets[d + 1])
        held = np.flatnonzero(size[cells])
        count = size[cells][held]
        for k, power in enumerate(model.powers):
            out["dimension"] += [dim] * held.size
            out["group"] += [labels[g] for g in held]
            out["power"] += [power] * held.size
            out["persons"] += count.astype(np.int64).tolist()
            out["attraction"] += (total[cells, k][held] / count).tolist()
            out["favourable"] += (fav[cells, k][held] / count).tolist()
    rows = len(out["power"])
    out["step"], out["date"] = [model.steps] * rows, [model.date] * rows
    return out


@numba.njit(cache=True)
def _group_sums(codes, offsets, attraction, cut, spread, cells):
    """Persons (G,), and sums of attraction and of the chance of a favourable answer
    (G, P), of every group of every dimension (``codes``: (D, N); group g of dimension d
    is cell ``offsets[d] + g``), in one pass: the chance is
    :func:`sim.model.survey.favourable`'s logistic, a hard cut-off below a spread of 1e-9."""
    dims, n = codes.shape
    powers = attraction.shape[1]
    size = np.zeros(cells)
    total = np.zeros((cells, powers))
    fav = np.zeros((cells, powers))
    yes = np.empty(powers)
    for i in range(n):
        for p in range(powers):
            a = attraction[i, p]
            if spread <= 1e-9:
                yes[p] = 1.0 if a > cut else 0.0
            else:
                yes[p] = 1.0 / (1.0 + np.exp(-min(60.0, max(-60.0, (a - cut) / spread))))
        for d in range(dims):
            cell = offsets[d] + codes[d, i]
            size[cell] += 1.0
            for p in range(powers):
                total[cell, p] += attraction[i, p]
                fav[cell, p] += yes[p]
    return size, total, fav
