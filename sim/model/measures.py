"""What the model measures. Each reporter is a named function with the name of its column
(picklable, unlike lambdas), returning one value per power or one for the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.inputs.schema import CHANNELS
from sim.model import columns, rules, survey

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
    key = (model.steps, s.favourable_cut, s.approval_cut, s.spread)
    cached = getattr(model, "_poll", None)
    if cached is None or cached[0] != key:
        cuts = np.array([s.favourable_cut, s.approval_cut])
        shares = rules.shares_answering_yes(model.public.persons.attraction, cuts, s.spread)
        model._poll = cached = (key, shares)
    return cached[1]


def elite_attraction(model: MultivectorModel) -> np.ndarray:
    """Mean attraction of the elites; with no elite (a small population, or
    ``population.elite_share = 0``), the mean of everyone: what officials then weigh as the
    elites' interest (:func:`audiences`), so the column shows what the model used."""
    return audiences(model)[1]


def audiences(model: MultivectorModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean attraction to each power (P,) of everyone, of the elites and of persons linked to
    foreign-funded NGOs: what officials weigh. A group with no member counts as everyone."""
    persons = model.public.persons
    public = column_mean(persons.attraction)
    elite = column_mean(persons.attraction, persons.elite) if persons.elite.any() else public
    advocacy = column_mean(persons.attraction, persons.ngo) if persons.ngo.any() else public
    return public, elite, advocacy


def channel_reach(model: MultivectorModel) -> np.ndarray:
    """Share of each channel's foreign signal reaching persons that comes from each power
    (P, C), as the survey counts of students abroad and broadcasters measure it."""
    return model.public.heard_shares(model.params, model.signals())


def alignment(model: MultivectorModel) -> np.ndarray:
    return model.state.alignment.copy()


def screening(model: MultivectorModel) -> np.ndarray:
    return model.state.screening().mean(axis=1)


def effort(model: MultivectorModel) -> np.ndarray:
    return np.array([p.effort.sum() for p in model.power_agents])


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
    answers = survey.favourable(pop.attraction, s.favourable_cut, s.spread)
    powers = len(model.powers)
    out: dict[str, list] = {name: [] for name in columns.GROUP_COLUMNS}
    for dim in columns.GROUPED_BY:
        codes = pop.codes(dim)
        labels = pop.labels[dim]
        size = np.bincount(codes, minlength=len(labels))
        # one bincount for every power: bin (group, power); each bin sums its persons in
        # the same order as a bincount per power would
        cells = (codes.astype(np.intp) * powers)[:, None] + np.arange(powers)
        total = np.bincount(cells.ravel(), pop.attraction.ravel(), size.size * powers)
        fav = np.bincount(cells.ravel(), answers.ravel(), size.size * powers)
        held = np.flatnonzero(size)
        for k, power in enumerate(model.powers):
            at = held * powers + k
            out["dimension"] += [dim] * held.size
            out["group"] += [labels[g] for g in held]
            out["power"] += [power] * held.size
            out["persons"] += size[held].tolist()
            out["attraction"] += (total[at] / size[held]).tolist()
            out["favourable"] += (fav[at] / size[held]).tolist()
    rows = len(out["power"])
    out["step"], out["date"] = [model.steps] * rows, [model.date] * rows
    return out
