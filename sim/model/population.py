"""The synthetic population: persons drawn from a country profile, held as numpy arrays, and
their homophilous small-world network (a scipy sparse matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from sim.inputs.profile import Profile, age_floor
from sim.inputs.schema import CHANNELS, DIMENSIONS, GROUP_DIMENSIONS, Parameters
from sim.model import rules

URBAN, RURAL = "urban", "rural"


@dataclass
class Persons:
    """Person-level state, one row per synthetic person (the population as arrays).

    Fixed attributes are small integer codes into the label lists; ``identity`` and
    ``attraction`` change month by month, and with demography so do ``age_months`` and, when
    a person leaves and a newcomer takes the row, every attribute of that row
    (``person_id`` tells persons apart across time).
    """

    labels: dict[str, list[str]]  # ethnicity, language, age, cohort, area, region -> labels
    person_id: NDArray[np.int32]
    ethnicity: NDArray[np.int8]
    language: NDArray[np.int8]  # main (daily) language
    age: NDArray[np.int8]  # age band
    age_months: NDArray[np.int16]
    cohort: NDArray[np.int8]  # schooling era, from the year of birth
    urban: NDArray[np.bool_]
    region: NDArray[np.int8]
    elite: NDArray[np.bool_]
    ngo: NDArray[np.bool_]
    speaks: NDArray[np.bool_]  # (N, L), the profile's languages
    culture: NDArray[np.float32]  # (N, D) cultural profile
    identity_baseline: NDArray[np.float32]
    susceptibility: NDArray[np.float32]  # (N, P) personal stereotype factor, mean 1
    personal: NDArray[np.float32]  # (N, P) personal deviation of the cultural baseline
    ties: NDArray[np.bool_]  # (N, P) education ties to a power
    kin: NDArray[np.bool_]  # (N, P) close family across the border with a power
    follows: NDArray[np.bool_]  # (N, O) media outlets followed (the profile's outlets)
    valence: NDArray[np.float32]  # (N, P) mean framing of news about a power in those outlets
    media_access: NDArray[np.float32]  # (N, P) share of a power's media content they carry
    engagement: NDArray[np.float32]  # (N, C) monthly chance of engaging with a channel
    network: sparse.csr_array
    identity: NDArray[np.float64]
    attraction: NDArray[np.float64]  # (N, P), filled by the model at its equilibrium
    next_id: int = 0

    @property
    def size(self) -> int:
        return self.ethnicity.shape[0]

    def codes(self, dimension: str) -> NDArray[np.integer]:
        """Integer codes of a grouping dimension (``area``: 0 urban, 1 rural)."""
        if dimension == "area":
            return (~self.urban).astype(np.int8)
        return getattr(self, dimension)

    def frame(self, powers: list[str]) -> pd.DataFrame:
        """One row per person: attributes, identity and attraction to each power."""
        columns: dict = {"person_id": self.person_id, "age_years": self.age_months // 12}
        columns |= {
            dim: pd.Categorical.from_codes(self.codes(dim), self.labels[dim])
            for dim in GROUP_DIMENSIONS
        }
        columns |= {"elite": self.elite, "ngo": self.ngo, "identity": self.identity}
        columns |= {f"attraction_{p}": self.attraction[:, k] for k, p in enumerate(powers)}
        frame = pd.DataFrame(columns)
        frame.index.name = "person"
        return frame


CHUNK = 8192
"""Persons per chunk where whole-population temporaries would cost memory per person."""


def chunks(n: int):
    """Slices of at most :data:`CHUNK` persons covering ``range(n)``."""
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))


def parts(rows: NDArray | None, n: int) -> list:
    """Everyone (``rows`` None, ``n`` persons) or the given rows, in pieces of at most
    :data:`CHUNK` persons."""
    if rows is None:
        return list(chunks(n))
    return [rows[k : k + CHUNK] for k in range(0, len(rows), CHUNK)]


class Tables:
    """The profile's lookup tables for drawing persons, built once: newcomers arrive every
    month in small numbers, and rebuilding these from the profile each time would cost more
    than drawing them. The draws that use them are the same, to the bit, as from the
    profile directly."""

    def __init__(self, profile: Profile, powers: list[str]):
        groups = list(profile.groups.values())
        self.profile, self.powers, self.groups = profile, powers, groups
        self.main_languages = profile.main_languages()
        self.cohorts = len(profile.cohort_names())
        self._mains: dict[float, dict] = {}
        self.speaks = []  # per language: chance of speaking it besides the daily one (G,)
        for lang in profile.languages:
            p_main = np.array([g.main.get(lang, 0.0) for g in groups])
            p_speak = np.array([g.speaks.get(lang, 0.0) for g in groups])
            p_other = np.where(
                p_main < 1, (p_speak - p_main) / np.maximum(1.0 - p_main, 1e-12), 0.0
            )
            daily = self.main_languages.index(lang) if lang in self.main_languages else None
            self.speaks.append((daily, np.maximum(p_other, 0.0)))
        self.english_by_age = np.array(list(profile.english_by_age.values()))
        self.kin = np.array([[g.kin.get(pw, 0.0) for pw in powers] for g in groups])
        self.outlets = [
            (
                [profile.languages.index(x) for x in o.languages],
                o.base,
                np.array([o.age[a] for a in profile.ages]),
                o.urban,
                np.array([o.regions.get(r, 1.0) for r in profile.regions]),
            )
            for o in profile.outlets.values()
        ]
        outlets = list(profile.outlets.values())
        self.frames = np.array(
            [[o.frames.get(p, -1.0) for p in powers] for o in outlets], np.float32
        )
        self.carries = np.array(
            [[o.carries.get(p, 0.0) for p in powers] for o in outlets], np.float32
        )
        self.unnamed = [k for k, p in enumerate(powers) if not any(p in o.carries for o in outlets)]
        channels = [profile.engagement[c] for c in CHANNELS]
        self.engagement = (
            np.array([e.base for e in channels], np.float32),
            np.array([list(e.age.values()) for e in channels], np.float32).T,  # (A, C)
            *(
                np.array([getattr(e, x) for e in channels], np.float32)
                for x in ("urban", "elite", "ngo")
            ),
        )

    def mains(self, cohort_effect: float) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        """Per (group, cohort): the cumulative shares of the daily languages (as
        :func:`categorical` draws them) and their codes."""
        if cohort_effect not in self._mains:
            table = {}
            for k, group in enumerate(self.groups):
                for c in range(self.cohorts):
                    mains = _shifted_main(self.profile, group, c, cohort_effect)
                    cumulative = np.cumsum(list(mains.values()))
                    codes = np.array([self.main_languages.index(x) for x in mains])
                    table[k, c] = (cumulative / cumulative[-1], codes)
            self._mains[cohort_effect] = table
        return self._mains[cohort_effect]


def synthesize(profile: Profile, params: Parameters, rng: np.random.Generator) -> Persons:
    """Draw N persons from the profile's census composition (docs/ODD.md §5), as it stood in
    the run's first year: with demography on, the census shares projected back with the
    profile's demographic rates."""
    n = params.run.population
    year = int(params.run.start[:4])
    groups = list(profile.groups.values())
    shares = start_shares(profile, year) if params.mechanisms.demography else None
    if shares is None:
        shares = np.array([g.share for g in groups])
    ethnicity = categorical(rng, list(shares), n)
    urban = rng.random(n) < np.array([g.urban for g in groups])[ethnicity]
    band = categorical(rng, list(profile.ages.values()), n)
    age_months = months_in_band(rng, profile, band)
    region = np.empty(n, np.int8)
    for k, group in enumerate(groups):
        members = np.flatnonzero(ethnicity == k)
        region[members] = categorical(
            rng, [group.regions.get(r, 0.0) for r in profile.regions], members.size
        )
    # Store persons in the order of their attributes: the network's lattice ties then join
    # persons that sit side by side in memory, which makes social influence cache-friendly.
    order = np.lexsort((rng.random(n), band, ethnicity, urban, region))
    ethnicity, urban, band, region, age_months = (
        x[order] for x in (ethnicity, urban, band, region, age_months)
    )
    drawn: dict[str, np.ndarray] = {}
    tables = Tables(profile, list(params.powers))
    for part in chunks(n):  # chunk by chunk: the draws' temporaries stay small
        chunk = draw_attributes(
            profile,
            params,
            rng,
            ethnicity[part],
            urban[part],
            region[part],
            age_months[part],
            year,
            tables,
        )
        for name, values in chunk.items():
            drawn.setdefault(name, np.empty((n, *values.shape[1:]), values.dtype))[part] = values
    eligible = elite_eligible(drawn["age"], urban)
    elite = _weighted_flags(rng, params.population.elite_share, eligible, n)
    ngo = _weighted_flags(rng, params.population.ngo_share, urban, n)
    persons = Persons(
        labels={
            "ethnicity": list(profile.groups),
            "language": profile.main_languages(),
            "age": list(profile.ages),
            "cohort": profile.cohort_names(),
            "area": [URBAN, RURAL],
            "region": list(profile.regions),
        },
        person_id=np.arange(n, dtype=np.int32),
        region=region.astype(np.int8),
        urban=urban,
        elite=elite,
        ngo=ngo,
        engagement=np.empty((n, len(CHANNELS)), np.float32),
        network=small_world(n, params.social.degree, params.social.rewiring, rng),
        identity=drawn["identity_baseline"].astype(np.float64),
        attraction=np.zeros((n, len(params.powers))),
        next_id=n,
        **drawn,
    )
    persons.engagement = engagement(tables, persons.age, urban, elite, ngo)
    return persons


def draw_attributes(
    profile, params, rng, ethnicity, urban, region, age_months, year, tables=None
) -> dict:
    """Everything about persons of the given ethnicity, area, region and age in ``year`` that the
    profile decides: band, cohort, languages, culture, identity, personal factors, ties,
    kin and media diet (arrays, one row per person). ``tables``: the profile's
    :class:`Tables` for the scenario's powers, if the caller keeps them."""
    tables = tables or Tables(profile, list(params.powers))
    n = ethnicity.size
    groups = tables.groups
    band = age_band(profile, age_months)
    cohort = cohort_of(profile, year - age_months // 12)
    language = np.empty(n, np.int8)
    mains = tables.mains(params.population.cohort_effect)
    cell = ethnicity.astype(np.intp) * tables.cohorts + cohort  # (group, cohort), in that order
    order = np.argsort(cell, kind="stable")
    present, starts = np.unique(cell[order], return_index=True)
    bounds = [*starts, n]
    for j, key in enumerate(present):
        members = order[bounds[j] : bounds[j + 1]]
        cumulative, codes = mains[divmod(int(key), tables.cohorts)]
        main = np.minimum(np.searchsorted(cumulative, rng.random(members.size)), codes.size - 1)
        language[members] = codes[main]
    speaks = _speaks(rng, tables, ethnicity, language)
    english = _column(profile, profile.culture.english_language)
    if english is not None:  # the profile's English: spoken by age band, whatever the group
        # the bands are the census year's: a person keeps the English of their cohort
        census = profile.demography.census_year if profile.demography else year
        then = age_band(profile, age_months + 12 * (census - year))
        speaks[:, english] = rng.random(n) < tables.english_by_age[then]
    culture = _culture(
        rng,
        profile,
        groups,
        ethnicity,
        band,
        cohort,
        urban,
        language,
        speaks,
        tables.main_languages,
        params.population.cohort_effect,
    )
    identity = _identity(rng, profile, groups, ethnicity, language, tables.main_languages)

    powers = tables.powers
    p = len(powers)
    spread = params.population.stereotype_spread  # log-normal with mean 1:
    susceptibility = np.exp(rng.standard_normal((n, p), np.float32) * spread - spread**2 / 2)
    personal = rng.standard_normal((n, p), np.float32) * params.persuasion.idiosyncrasy
    tie_weight = np.where(urban, 1.5, 0.5)
    urban_share = sum(g.share * g.urban for g in groups)  # the weights' mean, profile-wide
    tie_chance = (
        np.array([params.powers[pw].education_ties for pw in powers])[None, :]
        * (tie_weight / (0.5 + urban_share))[:, None]
    )
    ties = rng.random((n, p), np.float32) < tie_chance
    kin = rng.random((n, p), np.float32) < tables.kin[ethnicity]
    follows = _follows(rng, tables, speaks, band, urban, region)
    valence, media_access = diet_terms(tables, follows)
    return {
        "ethnicity": ethnicity.astype(np.int8),
        "language": language,
        "age": band.astype(np.int8),
        "age_months": age_months.astype(np.int16),
        "cohort": cohort.astype(np.int8),
        "speaks": speaks,
        "culture": culture.astype(np.float32),
        "identity_baseline": identity.astype(np.float32),
        "susceptibility": susceptibility.astype(np.float32),
        "personal": personal,
        "ties": ties,
        "kin": kin,
        "follows": follows,
        "valence": valence,
        "media_access": media_access,
    }


# --- ages, cohorts and the population's renewal ---------------------------------------------


def age_band(profile: Profile, age_months: NDArray) -> NDArray[np.int8]:
    """The profile's age band of each age (in months)."""
    floors = np.array(age_floor(list(profile.ages))) * 12
    return (np.searchsorted(floors, age_months, side="right") - 1).clip(0).astype(np.int8)


def cohort_of(profile: Profile, birth_year: NDArray) -> NDArray[np.int8]:
    """The cohort of each year of birth: the first whose ``born_until`` it does not pass."""
    if not profile.cohorts:
        return np.zeros(np.shape(birth_year), np.int8)
    limits = np.array([k.born_until for k in profile.cohorts])
    return np.minimum(np.searchsorted(limits, birth_year), limits.size - 1).astype(np.int8)


def months_in_band(rng, profile: Profile, band: NDArray) -> NDArray[np.int16]:
    """An age in months within each person's band: uniform, except in the open top band,
    where it falls off exponentially (``demography.old_mean`` years on average above its
    floor) and stops below the oldest age."""
    floors = np.array(age_floor(list(profile.ages)), float)
    demo = profile.demography
    oldest = demo.oldest if demo else 100
    tops = np.append(floors[1:], oldest)
    years = floors[band] + rng.random(band.size) * (tops - floors)[band]
    top = band == floors.size - 1
    above = rng.exponential(demo.old_mean if demo else 12.0, top.sum())
    years[top] = np.minimum(floors[-1] + above, oldest - 1.0)
    return (years * 12).astype(np.int16)


def group_growth(profile: Profile) -> np.ndarray:
    """Each ethnic group's yearly growth from entrants and migration, beyond what deaths
    take from every group alike (G,)."""
    d = profile.demography
    groups = list(profile.groups)
    share = np.array([profile.groups[g].share for g in groups])
    entrants = d.entrants * np.array([d.entrant_shares[g] for g in groups]) / share
    return entrants + np.array([d.migration.get(g, 0.0) for g in groups])


def start_shares(profile: Profile, year: int) -> np.ndarray | None:
    """The groups' shares in ``year``: the census shares projected back (or forward) from
    the census year with each group's growth (None without demography in the profile)."""
    if profile.demography is None:
        return None
    census = np.array([g.share for g in profile.groups.values()])
    years = year - profile.demography.census_year
    shares = rules.projected(census, group_growth(profile), years)
    return shares / shares.sum()


def adults_in(profile: Profile, year: int) -> float | None:
    """The population aged entry_age and over in ``year``: the census count projected with
    the profile's mean yearly growth (entrants and migration less deaths, at the profile's
    age structure); None without demography in the profile."""
    d = profile.demography
    if d is None:
        return None
    shares = np.array([g.share for g in profile.groups.values()])
    migration = np.array([d.migration.get(g, 0.0) for g in profile.groups])
    deaths = sum(profile.ages[a] * d.mortality[a] for a in profile.ages)
    growth = d.entrants + float(shares @ migration) - deaths
    return float(rules.projected(d.adults, growth, year - d.census_year))


def elite_eligible(band: NDArray, urban: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Who may be in the elites: urban persons in the two middle age bands (30-59)."""
    return urban & np.isin(band, [1, 2])


def categorical(rng: np.random.Generator, shares: list[float], n: int) -> NDArray[np.intp]:
    cumulative = np.cumsum(shares)
    return np.minimum(np.searchsorted(cumulative / cumulative[-1], rng.random(n)), len(shares) - 1)


def _speaks(rng, tables: Tables, ethnicity, language) -> NDArray[np.bool_]:
    """Who speaks each of the profile's languages (N, L): everyone their daily language, and
    another with the chance that keeps each group's share of speakers at ``speaks[lang]``
    (given the group's daily-language shares)."""
    n = ethnicity.size
    speaks = np.zeros((n, len(tables.speaks)), bool)
    for col, (daily_code, other) in enumerate(tables.speaks):
        daily = language == daily_code if daily_code is not None else False
        speaks[:, col] = daily | (rng.random(n) < other[ethnicity])
    return speaks


def _shifted_main(profile: Profile, group, cohort: int, scale: float = 1.0) -> dict[str, float]:
    """The group's daily-language shares for a cohort: the cohort's ``titular_main`` (times
    ``population.cohort_effect``) moves daily use between the titular language and Russian
    (where the group uses both)."""
    mains = dict(group.main)
    c = profile.culture
    titular, russian = c.titular_language, c.russian_language
    if not profile.cohorts or titular not in mains or russian not in mains:
        return mains
    shift = scale * profile.cohorts[cohort].titular_main
    moved = min(max(shift, -mains[titular]), mains[russian])
    mains[titular] += moved
    mains[russian] -= moved
    return mains


def _weighted_flags(rng, share: float, eligible: NDArray[np.bool_], n: int) -> NDArray[np.bool_]:
    """Flag ``share`` of all persons, drawn among the eligible only."""
    chance = min(1.0, share * n / max(1, eligible.sum()))
    return eligible & (rng.random(n) < chance)


def _column(profile: Profile, lang: str | None) -> int | None:
    """The column of ``speaks`` holding a language the profile names for a role, if any."""
    return None if lang is None else profile.languages.index(lang)


def _daily(language: NDArray[np.int8], lang: str | None, main_languages: list[str]):
    """Who uses ``lang`` daily (nobody if no group does, or if the role is not in the profile)."""
    if lang not in main_languages:
        return np.zeros(language.size, bool)
    return language == main_languages.index(lang)


def _culture(
    rng,
    profile,
    groups,
    ethnicity,
    age,
    cohort,
    urban,
    language,
    speaks,
    main_languages,
    cohort_effect=1.0,
):
    """Cultural means (docs/ODD.md §5): liberal values by age, cohort, area and the
    profile's English; affinity on the ``russian`` dimension by use of the language the
    profile names for it; the groups' Turkic-Islamic means. Then personal deviations."""
    c = profile.culture
    n = ethnicity.size
    young = age == 0
    by_cohort = cohort_effect * np.array([k.liberal for k in profile.cohorts] or [0.0])[cohort]
    english = _column(profile, c.english_language)
    english = speaks[:, english] if english is not None else 0
    liberal = (
        c.liberal_base
        + c.liberal_young * young
        + c.liberal_urban * urban
        + c.liberal_english * english
        + by_cohort
    )
    russian_col = _column(profile, c.russian_language)
    if russian_col is None:
        russian = np.full(n, c.russian_none)
    else:
        daily = _daily(language, c.russian_language, main_languages)
        spoken = np.where(speaks[:, russian_col], c.russian_spoken, c.russian_none)
        russian = np.where(daily, c.russian_main, spoken)
    turkic = np.array([g.turkic for g in groups])[ethnicity]
    means = np.stack([liberal, russian, turkic], axis=1)
    assert means.shape[1] == len(DIMENSIONS)
    return np.clip(means + rng.normal(0.0, c.spread, (n, len(DIMENSIONS))), 0.0, 1.0)


def _identity(rng, profile, groups, ethnicity, language, main_languages):
    c = profile.culture
    mean = np.array([g.identity for g in groups])[ethnicity]
    if c.titular_language in main_languages:  # daily use of the titular language
        mean = mean + c.identity_titular_main * _daily(language, c.titular_language, main_languages)
    return np.clip(mean + rng.normal(0.0, c.identity_spread, ethnicity.size), 0.0, 1.0)


def _follows(rng, tables: Tables, speaks, band, urban, region) -> NDArray[np.bool_]:
    """Which outlets each person follows (N, O): a speaker of one of its languages follows
    it with its base chance times the age, urban and region multipliers."""
    out = np.zeros((band.size, len(tables.outlets)), bool)
    for col, (langs, base, by_age, in_town, by_region) in enumerate(tables.outlets):
        can = speaks[:, langs].any(axis=1)
        chance = base * by_age[band] * np.where(urban, in_town, 1.0) * by_region[region]
        out[:, col] = can & (rng.random(band.size) < chance)
    return out


def diet_terms(tables: Tables, follows) -> tuple[np.ndarray, np.ndarray]:
    """From the outlets followed (N, O): the mean framing of news about each power (N, P;
    -1, news heard unframed as hostile, for someone who follows none), and the share of each
    power's media content that reaches them (N, P; the most any followed outlet carries;
    NaN for a power no outlet names, whose media then reach persons through language, as
    every other language-gated channel)."""
    n, powers = follows.shape[0], len(tables.powers)
    if not tables.outlets:
        return np.full((n, powers), -1.0, np.float32), np.ones((n, powers), np.float32)
    # an outlet that takes no line on a power reports its hostile acts as hostile
    frames, carries = tables.frames, tables.carries
    weight = follows.astype(np.float32)
    count = weight.sum(axis=1, keepdims=True)
    valence = np.where(count > 0, weight @ frames / np.maximum(count, 1), -1.0)
    access = np.zeros((n, powers), np.float32)
    for col in range(len(tables.outlets)):
        np.maximum(access, weight[:, col, None] * carries[None, col], out=access)
    access[:, tables.unnamed] = np.nan
    return valence.astype(np.float32), access


def engagement(tables: Tables, age, urban, elite, ngo):
    """Monthly chance of engaging with each channel (N, C), from age band, area and roles."""
    base, by_age, in_town, as_elite, with_ngo = tables.engagement
    one = np.float32(1)
    chance = (
        base
        * by_age[age]
        * np.where(urban[:, None], in_town, one)
        * np.where(elite[:, None], as_elite, one)
        * np.where(ngo[:, None], with_ngo, one)
    )
    return np.clip(chance, np.float32(0), one)


def small_world(n: int, degree: int, rewiring: float, rng: np.random.Generator) -> sparse.csr_array:
    """A Watts-Strogatz ring (1998) over persons in storage order.

    Persons are stored sorted by region, area, ethnicity, language and age, so lattice ties
    join similar persons (homophily, McPherson et al. 2001); a share ``rewiring`` of ties goes
    to random persons instead. Undirected, no self-ties, every person has a neighbour.
    """
    half = max(1, degree // 2)
    source = np.repeat(np.arange(n, dtype=np.int32), half)
    target = (source + np.tile(np.arange(1, half + 1, dtype=np.int32), n)) % n
    rewire = np.flatnonzero(rng.random(source.size, np.float32) < rewiring)
    target[rewire] = rng.integers(0, n, rewire.size, dtype=np.int32)
    keep = source != target
    rows = np.concatenate([source[keep], target[keep]])
    cols = np.concatenate([target[keep], source[keep]])
    del source, target, keep
    adjacency = sparse.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(n, n))
    adjacency.sum_duplicates()
    adjacency.indices = adjacency.indices.astype(np.int32, copy=False)
    adjacency.indptr = adjacency.indptr.astype(np.int32, copy=False)
    return adjacency
