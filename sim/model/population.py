"""The synthetic population: persons drawn from a country profile, held as numpy arrays, and
their homophilous small-world network (a scipy sparse matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from sim.inputs.profile import Profile
from sim.inputs.schema import CHANNELS, DIMENSIONS, GROUP_DIMENSIONS, Parameters

URBAN, RURAL = "urban", "rural"


@dataclass
class Persons:
    """Person-level state, one row per synthetic person (the population as arrays).

    Fixed attributes are small integer codes into the label lists; ``identity`` and
    ``attraction`` are the state that changes month by month.
    """

    labels: dict[str, list[str]]  # ethnicity, language, age, area, region -> labels
    ethnicity: NDArray[np.int8]
    language: NDArray[np.int8]  # main (daily) language
    age: NDArray[np.int8]
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
    engagement: NDArray[np.float32]  # (N, C) monthly chance of engaging with a channel
    network: sparse.csr_array
    identity: NDArray[np.float64]
    attraction: NDArray[np.float64]  # (N, P), filled by the model at its equilibrium

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
        columns = {
            dim: pd.Categorical.from_codes(self.codes(dim), self.labels[dim])
            for dim in GROUP_DIMENSIONS
        }
        columns |= {"elite": self.elite, "ngo": self.ngo, "identity": self.identity}
        columns |= {f"attraction_{p}": self.attraction[:, k] for k, p in enumerate(powers)}
        frame = pd.DataFrame(columns)
        frame.index.name = "person"
        return frame


def synthesize(profile: Profile, params: Parameters, rng: np.random.Generator) -> Persons:
    """Draw N persons from the profile's census composition (docs/ODD.md §5)."""
    n = params.run.population
    powers = list(params.powers.values())
    groups = list(profile.groups.values())
    ages = list(profile.ages)
    main_languages = profile.main_languages()

    ethnicity = _categorical(rng, [g.share for g in groups], n)
    urban = rng.random(n) < np.array([g.urban for g in groups])[ethnicity]
    age = _categorical(rng, list(profile.ages.values()), n)
    region = np.empty(n, np.int8)
    language = np.empty(n, np.int8)
    speaks = np.zeros((n, len(profile.languages)), bool)
    for k, group in enumerate(groups):
        members = np.flatnonzero(ethnicity == k)
        region[members] = _categorical(
            rng, [group.regions.get(r, 0.0) for r in profile.regions], members.size
        )
        main = _categorical(rng, list(group.main.values()), members.size)
        language[members] = np.array([main_languages.index(lang) for lang in group.main])[main]
        for col, lang in enumerate(profile.languages):
            speaks[members, col] = _speaks(rng, group, lang, main, members.size)
    english = _column(profile, profile.culture.english_language)
    if english is not None:  # the profile's English: spoken by age band, whatever the group
        speaks[:, english] = rng.random(n) < np.array(list(profile.english_by_age.values()))[age]

    # Store persons in the order of their attributes: the network's lattice ties then join
    # persons that sit side by side in memory, which makes social influence cache-friendly.
    order = np.lexsort((rng.random(n), age, language, ethnicity, urban, region))
    ethnicity, urban, age, region, language, speaks = (
        x[order] for x in (ethnicity, urban, age, region, language, speaks)
    )

    elite = _weighted_flags(rng, params.population.elite_share, urban & np.isin(age, [1, 2]), n)
    ngo = _weighted_flags(rng, params.population.ngo_share, urban, n)
    culture = _culture(
        rng, profile, groups, ethnicity, age, urban, language, speaks, main_languages
    )
    identity = _identity(rng, profile, groups, ethnicity, language, main_languages)

    p = len(powers)
    spread = params.population.stereotype_spread  # log-normal with mean 1:
    susceptibility = np.exp(rng.standard_normal((n, p), np.float32) * spread - spread**2 / 2)
    personal = rng.standard_normal((n, p), np.float32) * params.persuasion.idiosyncrasy
    tie_weight = np.where(urban, 1.5, 0.5)
    tie_chance = (
        np.array([pw.education_ties for pw in powers])[None, :]
        * (tie_weight / tie_weight.mean())[:, None]
    )
    ties = rng.random((n, p), np.float32) < tie_chance

    return Persons(
        labels={
            "ethnicity": list(profile.groups),
            "language": main_languages,
            "age": ages,
            "area": [URBAN, RURAL],
            "region": list(profile.regions),
        },
        ethnicity=ethnicity.astype(np.int8),
        language=language,
        age=age.astype(np.int8),
        urban=urban,
        region=region,
        elite=elite,
        ngo=ngo,
        speaks=speaks,
        culture=culture.astype(np.float32),
        identity_baseline=identity.astype(np.float32),
        susceptibility=susceptibility.astype(np.float32),
        personal=personal,
        ties=ties,
        engagement=_engagement(profile, age, urban, elite, ngo),
        network=small_world(n, params.social.degree, params.social.rewiring, rng),
        identity=identity.astype(np.float64),
        attraction=np.zeros((n, p)),
    )


def _categorical(rng: np.random.Generator, shares: list[float], n: int) -> NDArray[np.intp]:
    cumulative = np.cumsum(shares)
    return np.minimum(np.searchsorted(cumulative / cumulative[-1], rng.random(n)), len(shares) - 1)


def _speaks(rng, group, lang: str, main: NDArray[np.intp], n: int) -> NDArray[np.bool_]:
    """Speaking ``lang``: always if it is the daily language, otherwise with the chance that
    keeps the group's share of speakers at ``speaks[lang]``."""
    main_langs = list(group.main)
    p_main = group.main.get(lang, 0.0)
    p_other = (group.speaks.get(lang, 0.0) - p_main) / (1.0 - p_main) if p_main < 1 else 0.0
    is_main = main == main_langs.index(lang) if lang in main_langs else np.zeros(n, bool)
    return is_main | (rng.random(n) < p_other)


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


def _culture(rng, profile, groups, ethnicity, age, urban, language, speaks, main_languages):
    """Cultural means (docs/ODD.md §5): liberal values by age, area and the profile's English;
    affinity on the ``russian`` dimension by use of the language the profile names for it;
    the groups' Turkic-Islamic means. Then personal deviations."""
    c = profile.culture
    n = ethnicity.size
    young = age == 0
    english = _column(profile, c.english_language)
    english = speaks[:, english] if english is not None else 0
    liberal = (
        c.liberal_base
        + c.liberal_young * young
        + c.liberal_urban * urban
        + c.liberal_english * english
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


def _engagement(profile, age, urban, elite, ngo):
    out = np.empty((age.size, len(CHANNELS)), np.float32)
    for column, channel in enumerate(CHANNELS):
        e = profile.engagement[channel]
        chance = (
            e.base
            * np.array(list(e.age.values()), np.float32)[age]
            * np.where(urban, np.float32(e.urban), np.float32(1))
            * np.where(elite, np.float32(e.elite), np.float32(1))
            * np.where(ngo, np.float32(e.ngo), np.float32(1))
        )
        out[:, column] = np.clip(chance, 0.0, 1.0)
    return out


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
