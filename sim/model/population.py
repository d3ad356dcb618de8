"""The synthetic population: persons drawn from a country profile, held as numpy arrays, and
their homophilous small-world network (compressed sparse rows).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.inputs.profile import Profile, age_floor
from sim.inputs.schema import CHANNELS, DIMENSIONS, GROUP_DIMENSIONS, Parameters
from sim.model import rules

if TYPE_CHECKING:
    from scipy import sparse

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
    tongue: NDArray[np.int32]  # the set of languages the person speaks (of the profile's)
    tongues: Patterns  # every set of languages spoken
    culture: NDArray[np.float32]  # (N, D) cultural profile
    identity_baseline: NDArray[np.float32]
    susceptibility: NDArray[np.float32]  # (N, P) personal stereotype factor, mean 1
    personal: NDArray[np.float32]  # (N, P) personal deviation of the cultural baseline
    ties: NDArray[np.bool_]  # (N, P) education ties to a power
    kin: NDArray[np.bool_]  # (N, P) close family across the border with a power
    diet: NDArray[np.int32]  # the person's media diet: the set of outlets they follow
    diets: Diets  # every diet held, with its framing of each power and its outlet access
    engagement_cell: NDArray[np.integer]  # the cell of age band, area and roles (engagement)
    engagement_table: NDArray[np.float32]  # (cells, C) a cell's chance of engaging a channel
    network: Network
    identity: NDArray[np.float64]
    attraction: NDArray[np.float32]  # (N, P; ATTRACTION), filled by the model at its equilibrium
    next_id: int = 0

    @property
    def size(self) -> int:
        return self.ethnicity.shape[0]

    @property
    def speaks(self) -> NDArray[np.bool_]:
        """Which of the profile's languages each person speaks (N, L), a new read-only array
        (each person holds the index of their set of languages, ``tongue``)."""
        return _read_only(self.tongues.rows[self.tongue])

    @property
    def follows(self) -> NDArray[np.bool_]:
        """The media outlets each person follows (N, O; the profile's outlets), a new
        read-only array (each person holds the index of their diet, ``diet``)."""
        return _read_only(self.diets.follows[self.diet])

    @property
    def valence(self) -> NDArray[np.float32]:
        """The mean framing of news about each power in the outlets each person follows (N,
        P), a new read-only array (:func:`diet_terms`)."""
        return _read_only(self.diets.valence[self.diet])

    @property
    def media_access(self) -> NDArray[np.float32]:
        """The share of each power's media content the outlets each person follows carry (N,
        P; NaN for a power no outlet names), a new read-only array (:func:`diet_terms`)."""
        return _read_only(self.diets.access[self.diet])

    @property
    def engagement(self) -> NDArray[np.float32]:
        """Each person's monthly chance of engaging with each channel (N, C), a new
        read-only array: the row of their cell of age band, area and roles
        (:func:`engagement_cells`). The compiled passes look the cell up instead, so no (N,
        C) array is kept."""
        return _read_only(self.engagement_table[self.engagement_cell])

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
        columns |= {  # in double precision, as every other measure (the same numbers)
            f"attraction_{p}": self.attraction[:, k].astype(np.float64)
            for k, p in enumerate(powers)
        }
        frame = pd.DataFrame(columns)
        frame.index.name = "person"
        return frame


def _read_only[T: np.ndarray](values: T) -> T:
    """``values``, marked read-only: a view computed from what persons hold, where a write
    would change nothing (it fails instead)."""
    values.flags.writeable = False
    return values


ATTRACTION = np.float32
"""How persons' attraction is held: single precision (about seven significant digits, far
finer than any survey measures it), half the memory and traffic of double precision. The
rules compute in double precision and round the new value once, when it is stored."""

CHUNK = 8192
"""Persons per chunk where whole-population temporaries would cost memory per person."""


def chunks(n: int):
    """Slices of at most :data:`CHUNK` persons covering ``range(n)``."""
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))


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
        self.born_until = np.array([k.born_until for k in profile.cohorts], np.int64)
        # the mean weight of education ties (1.5 in town, 0.5 elsewhere) over the groups
        self.ties_weight = 0.5 + sum(g.share * g.urban for g in groups)
        self._mains: dict[float, dict] = {}
        self._main_arrays: dict[float, tuple] = {}
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
        self.speak_daily = np.array([-1 if d is None else d for d, _ in self.speaks], np.int64)
        self.speak_other = np.array([other for _, other in self.speaks]).reshape(
            len(self.speaks), len(groups)
        )
        self.outlet_languages = np.zeros((len(self.outlets), len(profile.languages)), bool)
        for col, (langs, *_) in enumerate(self.outlets):
            self.outlet_languages[col, langs] = True
        self.outlet_chances = (  # base (O,), by age (O, A), in town (O,), by region (O, R)
            np.array([o[1] for o in self.outlets], float),
            np.array([o[2] for o in self.outlets], float).reshape(-1, len(profile.ages)),
            np.array([o[3] for o in self.outlets], float),
            np.array([o[4] for o in self.outlets], float).reshape(-1, len(profile.regions)),
        )
        c = profile.culture
        self.culture = CultureTerms(
            english=_code(profile.languages, c.english_language),
            russian=_code(profile.languages, c.russian_language),
            russian_daily=_code(self.main_languages, c.russian_language),
            titular_daily=_code(self.main_languages, c.titular_language),
            liberal=np.array([c.liberal_base, c.liberal_young, c.liberal_urban, c.liberal_english]),
            cohort_liberal=np.array([k.liberal for k in profile.cohorts] or [0.0]),
            russian_levels=np.array(  # NaN for a level the profile leaves out (no such role)
                [
                    np.nan if x is None else x
                    for x in (c.russian_main, c.russian_spoken, c.russian_none)
                ]
            ),
            turkic=np.array([g.turkic for g in groups]),
            identity=np.array([g.identity for g in groups]),
            identity_titular_main=c.identity_titular_main,
            spread=c.spread,
            identity_spread=c.identity_spread,
        )
        channels = [profile.engagement[c] for c in CHANNELS]
        factors = (
            np.array([e.base for e in channels], np.float32),
            np.array([list(e.age.values()) for e in channels], np.float32).T,  # (A, C)
            *(
                np.array([getattr(e, x) for e in channels], np.float32)
                for x in ("urban", "elite", "ngo")
            ),
        )
        # the chances of every cell of age band, area and roles (rows: engagement_cells)
        cells = np.arange(len(profile.ages) * 8)
        self.engagement_table = np.empty((cells.size, len(CHANNELS)), np.float32)
        urban, elite, ngo = ((cells >> bit & 1).astype(bool) for bit in (2, 1, 0))
        _engagement_rows(self.engagement_table, cells, cells >> 3, urban, elite, ngo, *factors)

    @functools.cached_property
    def age_floors(self) -> np.ndarray:
        """Each age band's floor in months (B,)."""
        return _floors_in_months(tuple(self.profile.ages))

    @functools.cached_property
    def draw_sizes(self) -> tuple[int, int, int, int]:
        """What a person's attribute draws number (:func:`attribute_draws`): uniforms for the
        languages besides the daily one and English, normals (culture, identity), powers
        and outlets."""
        languages = len(self.speaks) + int(self.culture.english >= 0)
        return languages, len(DIMENSIONS) + 1, len(self.powers), len(self.outlets)

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

    def main_arrays(self, cohort_effect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`mains` as arrays for compiled code, one row per cell (group x cohorts +
        cohort): cumulative shares and codes, padded to the longest, and each row's length."""
        if cohort_effect not in self._main_arrays:
            self._main_arrays[cohort_effect] = self._padded(self.mains(cohort_effect))
        return self._main_arrays[cohort_effect]

    def _padded(self, mains: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cells = len(self.groups) * self.cohorts
        width = max(len(codes) for _, codes in mains.values())
        cumulative, codes = np.ones((cells, width)), np.zeros((cells, width), np.int8)
        length = np.zeros(cells, np.int64)
        for (k, c), (cum, code) in mains.items():
            row = k * self.cohorts + c
            cumulative[row, : cum.size], codes[row, : code.size], length[row] = cum, code, cum.size
        return cumulative, codes, length


class CultureTerms(NamedTuple):
    """The profile's cultural terms as compiled code takes them (:func:`_drawn_terms`);
    language codes are -1 where the profile has no such language."""

    english: int  # column of the profile's English in ``speaks``
    russian: int  # column of the language of the ``russian`` dimension in ``speaks``
    russian_daily: int  # its code among daily languages
    titular_daily: int  # the titular language's code among daily languages
    liberal: np.ndarray  # base, young, urban, English
    cohort_liberal: np.ndarray  # (K,)
    russian_levels: np.ndarray  # daily, spoken, neither
    turkic: np.ndarray  # (G,)
    identity: np.ndarray  # (G,)
    identity_titular_main: float
    spread: float
    identity_spread: float


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
    diets, tongues = Diets(tables), Patterns(len(profile.languages))
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
        chunk["diet"] = diets.of(chunk.pop("follows"))
        chunk["tongue"] = tongues.of(chunk.pop("speaks"))
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
        engagement_cell=engagement_cells(drawn["age"], urban, elite, ngo),
        engagement_table=tables.engagement_table,
        diets=diets,
        tongues=tongues,
        network=small_world(n, params.social.degree, params.social.rewiring, rng),
        identity=drawn["identity_baseline"].astype(np.float64),
        attraction=np.zeros((n, len(params.powers)), ATTRACTION),
        next_id=n,
        **drawn,
    )
    scholars = np.array([params.powers[p].scholarship_ties for p in tables.powers])
    persons.ties[elite] |= rng.random((int(elite.sum()), scholars.size)) < scholars
    return persons


def draw_attributes(
    profile, params, rng, ethnicity, urban, region, age_months, year, tables=None
) -> dict:
    """Everything about persons of the given ethnicity, area, region and age in ``year`` that the
    profile decides: band, cohort, languages, culture, identity, personal factors, ties,
    kin and media diet (arrays, one row per person). ``tables``: the profile's
    :class:`Tables` for the scenario's powers, if the caller keeps them.

    The random numbers are drawn first (:func:`attribute_draws`); one compiled pass
    (:func:`_drawn_terms`) turns them into attributes. The month's newcomers take the same
    draws and the same pass, which writes them into their rows (:func:`place_newcomers`)."""
    tables = tables or Tables(profile, list(params.powers))
    n, powers = ethnicity.size, len(tables.powers)
    draws = attribute_draws(rng, n, tables)
    drawn = {
        "ethnicity": np.empty(n, np.int8),
        "language": np.empty(n, np.int8),
        "age": np.empty(n, np.int8),
        "age_months": np.empty(n, np.int16),
        "cohort": np.empty(n, np.int8),
        "culture": np.empty((n, len(DIMENSIONS)), np.float32),
        "identity_baseline": np.empty(n, np.float32),
        "susceptibility": np.empty((n, powers), np.float32),
        "personal": np.empty((n, powers), np.float32),
        "ties": np.empty((n, powers), np.bool_),
        "kin": np.empty((n, powers), np.bool_),
    }
    roles = np.empty(n, np.int32), np.zeros(n, np.bool_), np.zeros(n, np.bool_)  # none yet
    speaks, follows, *_ = _write_terms(
        (*drawn.values(), *roles), np.arange(n), 0, np.asarray(ethnicity, np.int64), urban,
        region, age_months, year, profile, params, tables, draws, _NO_AFFINITY, _NO_MESSAGES,
    )  # fmt: skip
    return {**drawn, "speaks": speaks, "follows": follows}


def _write_terms(
    into: tuple, rows, first_id, ethnicity, urban, region, age_months, year, profile, params,
    tables, draws, affinity, messages, patterns=None,
) -> tuple:  # fmt: skip
    """What :func:`_drawn_terms` gives persons of the given group, area, region and age from
    their draws, age band and cohort included (:func:`_age_terms`), written into the arrays
    ``into`` (ethnicity to kin, then ids, elite and NGO roles) at ``rows``, and their
    ``affinity`` (N, P) to the powers' ``messages`` (P, D) unless both are empty; with
    ``patterns`` (the persons' ``tongue``, ``tongues``, ``diet`` and ``diets``), the index
    of each one's sets of languages and outlets held already."""
    tongue, tongues, diet, diets = patterns or (_NO_INDEX, None, _NO_INDEX, None)
    return _drawn_terms(  # arrays one by one: numba types a tuple's arrays one at a time, in
        rows,  # Python, at every call
        first_id,
        *into,
        affinity,
        messages,
        tongue,
        _NO_INDEX if tongues is None else tongues.lookup,
        diet,
        _NO_INDEX if diets is None else diets.lookup,
        susceptibility_of(draws.personal, params),
        ethnicity,
        urban,
        region,
        *_age_arguments(profile, tables, age_months, year),
        *draws,
        *_term_arguments(params, tables),
    )


_NO_AFFINITY, _NO_MESSAGES = np.empty((0, 0), np.float32), np.empty((0, 0))
"""No affinity to write (the persons' first draw: it is computed for everyone later)."""

_NO_INDEX = np.empty(0, np.int32)
"""No index of the sets of languages and outlets to write, or none to look them up in."""


class AttributeDraws(NamedTuple):
    """The random numbers of n persons' attributes (:func:`attribute_draws`)."""

    uniforms: np.ndarray  # (n (1 + languages),) daily language, other languages, English
    normals: np.ndarray  # (n (D + 1),) culture, identity
    personal: np.ndarray  # (2, n, P) float32: susceptibility, personal deviation
    chances: np.ndarray  # (2, n, P) float32: ties, kin
    outlets: np.ndarray  # (O, n): following each outlet


def attribute_draws(rng: np.random.Generator, n: int, tables: Tables) -> AttributeDraws:
    """The random numbers of ``n`` persons' attributes, in five calls, in the order the rules
    use them (daily language, other languages, English, culture, identity, susceptibility,
    personal deviation, ties, kin, outlets)."""
    languages, normals_each, powers, followed = tables.draw_sizes
    uniforms = rng.random(n * (1 + languages))
    normals = rng.standard_normal(n * normals_each)
    personal = rng.standard_normal(2 * n * powers, np.float32).reshape(2, n, powers)
    chances = rng.random(2 * n * powers, np.float32).reshape(2, n, powers)
    outlets = rng.random(n * followed).reshape(followed, n)
    return AttributeDraws(uniforms, normals, personal, chances, outlets)


class AgeBands(NamedTuple):
    """The profile's age bands as a person's band and age in it are drawn from them
    (:func:`age_bands`)."""

    cumulative: np.ndarray  # (B,) the bands' cumulative shares, the last 1 (categorical)
    floors: np.ndarray  # (B,) each band's floor in years
    tops: np.ndarray  # (B,) each band's top in years, the oldest age for the open top band
    old_mean: float  # years above the top band's floor, on average
    oldest: float


def age_bands(profile: Profile) -> AgeBands:
    """The profile's age bands, as :func:`categorical` draws a band from their shares and
    :func:`months_in_band` an age in it (for the month's immigrants:
    :func:`newcomers_drawn`)."""
    cumulative = np.cumsum(list(profile.ages.values()))
    floors = _floors_in_months(tuple(profile.ages)) / 12.0
    demo = profile.demography
    oldest = demo.oldest if demo else 100
    return AgeBands(
        cumulative / cumulative[-1],
        floors,
        np.append(floors[1:], oldest),
        float(demo.old_mean if demo else 12.0),
        float(oldest),
    )


def newcomers_drawn(
    stream: tuple, region: NDArray, chance: float, groups: NDArray, ages: AgeBands,
    entry_months: int, tables: Tables,
) -> tuple[NDArray[np.int64], NDArray[np.int16], AttributeDraws]:  # fmt: skip
    """Draw the month's newcomers of ``region`` (one each) from the stream whose handle is
    ``stream`` (:mod:`sim.model.streams`), in one compiled pass (:func:`_newcomers_drawn`),
    numpy's numbers in numpy's order: whether each immigrates (with ``chance``), the draw
    of each one's group, an immigrant's age band (:func:`categorical`) and age in it
    (:func:`months_in_band`), then their attributes' numbers (:func:`attribute_draws`).
    ``groups``: the groups' cumulative chances (kind, region, G), kind 1 for immigrants;
    the others turn ``entry_months`` old. Returns each newcomer's group (the first whose
    cumulative chance their draw does not pass), age in months and attribute draws."""
    ethnicity, age_months, *draws = _newcomers_drawn(
        stream, region, chance, groups, *ages, np.int16(entry_months), *tables.draw_sizes
    )
    return ethnicity, age_months, AttributeDraws(*draws)


@numba.njit(cache=True)
def _newcomers_drawn(
    stream, region, chance, groups, cumulative, floors, tops, old_mean, oldest, entry, languages,
    normals_each, powers, outlets,
):  # fmt: skip
    """:func:`newcomers_drawn`'s pass: numpy's draws of whole arrays, one number at a time
    in their order (the same numbers: numpy fills an array one draw after another), in
    loops rather than array expressions, which take more compiled code."""
    rng = rules.generator(stream)
    n = region.size
    immigrant = np.empty(n, np.bool_)
    for i in range(n):
        immigrant[i] = rng.random() < chance
    most = groups.shape[2] - 1
    ethnicity = np.empty(n, np.int64)
    for i in range(n):
        draw, kind, passed = rng.random(), np.int64(immigrant[i]), 0
        for g in range(groups.shape[2]):
            passed += draw >= groups[kind, region[i], g]
        ethnicity[i] = min(passed, most)
    age_months = np.full(n, entry, np.int16)
    movers = np.flatnonzero(immigrant)
    last = floors.size - 1
    band = np.empty(movers.size, np.int64)
    for j in range(movers.size):  # categorical
        band[j] = min(np.searchsorted(cumulative, rng.random()), last)
    years = np.empty(movers.size)
    for j in range(movers.size):  # months_in_band: uniform in the band...
        b = band[j]
        years[j] = floors[b] + rng.random() * (tops[b] - floors[b])
    for j in range(movers.size):  # ...falling off exponentially in the open top band
        if band[j] == last:
            years[j] = min(floors[last] + rng.exponential(old_mean), oldest - 1.0)
    for j in range(movers.size):
        age_months[movers[j]] = np.int16(years[j] * 12)
    uniforms = np.empty(n * (1 + languages))
    for j in range(uniforms.size):
        uniforms[j] = rng.random()
    normals = np.empty(n * normals_each)
    for j in range(normals.size):
        normals[j] = rng.standard_normal()
    personal = np.empty(2 * n * powers, np.float32)
    for j in range(personal.size):
        personal[j] = rng.standard_normal(dtype=np.float32)
    chances = np.empty(2 * n * powers, np.float32)
    for j in range(chances.size):
        chances[j] = rng.random(dtype=np.float32)
    chosen = np.empty(n * outlets)
    for j in range(chosen.size):
        chosen[j] = rng.random()
    personal, chances = personal.reshape(2, n, powers), chances.reshape(2, n, powers)
    chosen = chosen.reshape(outlets, n)
    return ethnicity, age_months, uniforms, normals, personal, chances, chosen


def susceptibility_of(personal: np.ndarray, params: Parameters) -> np.ndarray:
    """The stereotype's personal factor (n, P), log-normal with mean 1, from the first of the
    personal draws (:class:`AttributeDraws`)."""
    spread = params.population.stereotype_spread
    return np.exp(personal[0] * spread - spread**2 / 2)


def _age_arguments(profile, tables: Tables, age_months, year: int) -> tuple:
    """:func:`_age_terms`' arguments: English by age is the census year's, so a person keeps
    the English of their cohort."""
    census = profile.demography.census_year if profile.demography else year
    return age_months, tables.age_floors, census - year, year, tables.born_until


def _term_arguments(params, tables: Tables) -> tuple:
    """What :func:`_drawn_terms` takes after the draws: the profile's tables and the
    parameters that shape the attributes; kept on ``tables`` while those parameters hold
    (newcomers arrive every month)."""
    pop = params.population
    ties = [params.powers[pw].education_ties for pw in tables.powers]
    key = (pop.cohort_effect, ties, pop.alumni_age, params.persuasion.idiosyncrasy)
    kept = tables.__dict__.get("_term_arguments")
    if kept is None or kept[0] != key:
        kept = tables._term_arguments = (key, _made_term_arguments(params, tables, ties))
    return kept[1]


def _made_term_arguments(params, tables: Tables, ties: list[float]) -> tuple:
    cumulative, codes, length = tables.main_arrays(params.population.cohort_effect)
    return (
        cumulative,
        codes,
        length,
        tables.cohorts,
        tables.speak_daily,
        tables.speak_other,
        tables.english_by_age,
        tables.culture,
        params.population.cohort_effect,
        np.array(ties),
        tables.ties_weight,
        tables.kin,
        tables.outlet_languages,
        *tables.outlet_chances,
        params.population.alumni_age * 12,
        params.persuasion.idiosyncrasy,
    )


def place_newcomers(
    persons: Persons,
    rows: NDArray[np.int64],
    ethnicity: NDArray[np.int64],
    age_months: NDArray[np.int16],
    draws: AttributeDraws,
    year: int,
    profile: Profile,
    params: Parameters,
    tables: Tables,
    affinity: NDArray[np.float32] | None = None,
    messages: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], int, int]:
    """Newcomers into the persons' ``rows`` (sorted), written by one compiled pass
    (:func:`_drawn_terms`): of the given group, and age, the rest is what
    :func:`draw_attributes` gives persons of that group, area, region and age, from the
    same draws (:func:`attribute_draws`; for the month's newcomers,
    :func:`newcomers_drawn`) and the same compiled rules, written into their rows; so are
    their ids (from ``persons.next_id``, then moved on), their ``affinity`` (N, P) to the
    powers' ``messages`` (P, D) if kept, their roles, which they do not hold yet, and the
    index of their sets of languages and of outlets (``tongue``, ``diet``; a set not held
    yet is added, :meth:`Patterns.of`). Returns the languages each speaks and the outlets
    each follows, and the number of elite and NGO roles the leavers held."""
    n = rows.size
    into = (
        persons.ethnicity,
        persons.language,
        persons.age,
        persons.age_months,
        persons.cohort,
        persons.culture,
        persons.identity_baseline,
        persons.susceptibility,
        persons.personal,
        persons.ties,
        persons.kin,
        persons.person_id,
        persons.elite,
        persons.ngo,
    )
    kept = affinity is not None and messages is not None
    patterns = persons.tongue, persons.tongues, persons.diet, persons.diets
    speaks, follows, elites, links, missed = _write_terms(
        into, rows, persons.next_id, np.asarray(ethnicity, np.int64),
        persons.urban[rows], persons.region[rows], age_months, year, profile, params, tables,
        draws, affinity if kept else _NO_AFFINITY, messages if kept else _NO_MESSAGES, patterns,
    )  # fmt: skip
    persons.next_id += n
    if missed:  # a set of languages or outlets not held yet: added, and every index written
        persons.tongue[rows] = persons.tongues.of(speaks)
        persons.diet[rows] = persons.diets.of(follows)
    return speaks, follows, elites, links


@numba.njit(cache=True)
def _drawn_terms(
    rows,
    first_id,
    ethnicity_of,
    language_of,
    band_of,
    age_months_of,
    cohort_of,
    culture_of,
    identity_of,
    susceptibility_of,
    personal_of,
    ties_of,
    kin_of,
    person_id,
    elite,
    ngo,
    affinity_of,
    messages,
    tongue_of,
    tongue_lookup,
    diet_of,
    diet_lookup,
    susceptibility,
    ethnicity,
    urban,
    region,
    age_months,
    floors,
    years_to_census,
    year,
    born_until,
    uniforms,
    normals,
    personal_draws,
    chances,
    outlet_draws,
    cumulative,
    codes,
    length,
    cohorts,
    speak_daily,
    speak_other,
    english_by_age,
    c,
    cohort_effect,
    education_ties,
    mean_weight,
    kin_chance,
    outlet_languages,
    outlet_base,
    outlet_age,
    outlet_town,
    outlet_region,
    alumni_months,
    idiosyncrasy,
):
    """The attributes :func:`draw_attributes` draws, from its random numbers (docs/ODD.md
    §5), written into the arrays ``ethnicity_of`` to ``kin_of`` at ``rows`` (the persons'
    own, for newcomers: :func:`place_newcomers`), with ids from ``first_id``; the roles
    there (``elite``, ``ngo``) are counted and taken away; and each person's affinity to
    the powers (:func:`sim.model.rules.affinity`) into ``affinity_of`` (N, P) at ``rows``,
    from their culture as kept and the powers' ``messages`` (P, D; none if empty). Age band
    and cohort come from the ages (:func:`_age_terms`: ``floors`` to ``born_until``). The
    index of each person's set of languages and of outlets is written into ``tongue_of``
    and ``diet_of`` at ``rows`` where the set is held already (``tongue_lookup`` and
    ``diet_lookup``: :attr:`Patterns.lookup`; none if empty). Returns the languages spoken
    and the outlets followed (rows, L and rows, O), the two counts of roles, and the
    number of sets not held (their persons' indices not written). The rules:

    - daily language: a categorical draw from the shares of the person's group and cohort
      (persons taken cell by cell, in row order within a cell);
    - other languages: each with the chance that keeps the group's share of speakers; the
      profile's English by age band in the census year;
    - culture: liberal values by age, cohort, area and English; the ``russian`` dimension by
      use of its language; the group's Turkic-Islamic mean; plus a normal deviation each,
      clipped to [0, 1];
    - identity: the group's mean, raised for daily users of the titular language, plus a
      normal deviation, clipped;
    - education ties (a weight of 1.5 in town and 0.5 elsewhere, over its mean; none before
      the alumni age, ``alumni_months``: not yet back) and kin across the border with each
      power;
    - the personal deviation of the cultural baseline: the second personal draw times
      ``idiosyncrasy``, in single precision;
    - outlets: a speaker of one of an outlet's languages follows it with its base chance
      times the age, urban and region multipliers.
    """
    n = ethnicity.size
    powers = education_ties.size
    languages = speak_daily.size
    dims = 3
    band, english_band, cohort = _age_terms(age_months, floors, years_to_census, year, born_until)
    cell = ethnicity.astype(np.int64) * cohorts + cohort
    language = np.empty(n, np.int8)
    for k, i in enumerate(np.argsort(cell, kind="mergesort")):
        row = cell[i]
        main = 0
        while main < length[row] and cumulative[row, main] < uniforms[k]:
            main += 1
        language[i] = codes[row, min(main, length[row] - 1)]
    speaks = np.zeros((n, languages), np.bool_)
    for col in range(languages):
        for i in range(n):
            draw = uniforms[n * (1 + col) + i]
            speaks[i, col] = (
                language[i] == speak_daily[col] or draw < speak_other[col, ethnicity[i]]
            )
    if c.english >= 0:
        for i in range(n):
            speaks[i, c.english] = (
                uniforms[n * (1 + languages) + i] < english_by_age[english_band[i]]
            )
    culture = np.empty((n, dims))
    identity = np.empty(n)
    base, young, town, english = c.liberal[0], c.liberal[1], c.liberal[2], c.liberal[3]
    for i in range(n):
        liberal = base + young * (band[i] == 0) + town * urban[i]
        liberal = liberal + english * (speaks[i, c.english] if c.english >= 0 else 0.0)
        liberal = liberal + cohort_effect * c.cohort_liberal[cohort[i]]
        if c.russian < 0:
            russian = c.russian_levels[2]
        elif c.russian_daily >= 0 and language[i] == c.russian_daily:
            russian = c.russian_levels[0]
        elif speaks[i, c.russian]:
            russian = c.russian_levels[1]
        else:
            russian = c.russian_levels[2]
        means = (liberal, russian, c.turkic[ethnicity[i]])
        for d in range(dims):
            value = means[d] + (0.0 + c.spread * normals[dims * i + d])
            culture[i, d] = min(1.0, max(0.0, value))
        mean = c.identity[ethnicity[i]]
        if c.titular_daily >= 0:
            mean = mean + c.identity_titular_main * (language[i] == c.titular_daily)
        value = mean + (0.0 + c.identity_spread * normals[dims * n + i])
        identity[i] = min(1.0, max(0.0, value))
    ties = np.empty((n, powers), np.bool_)
    kin = np.empty((n, powers), np.bool_)
    personal = np.empty((n, powers), np.float32)
    deviation = np.float32(idiosyncrasy)
    for i in range(n):
        weight = (1.5 if urban[i] else 0.5) / mean_weight
        back = age_months[i] >= alumni_months
        for p in range(powers):
            ties[i, p] = back and chances[0, i, p] < education_ties[p] * weight
            kin[i, p] = chances[1, i, p] < kin_chance[ethnicity[i], p]
            personal[i, p] = personal_draws[1, i, p] * deviation
    outlets = outlet_base.size
    follows = np.zeros((n, outlets), np.bool_)
    for o in range(outlets):
        for i in range(n):
            can = False
            for lang in range(languages):
                can = can or (outlet_languages[o, lang] and speaks[i, lang])
            chance = outlet_base[o] * outlet_age[o, band[i]]
            chance = chance * (outlet_town[o] if urban[i] else 1.0) * outlet_region[o, region[i]]
            follows[i, o] = can and outlet_draws[o, i] < chance
    elites = links = 0  # written into the persons' rows
    for k in range(n):
        i = rows[k]
        ethnicity_of[i] = ethnicity[k]
        language_of[i] = language[k]
        band_of[i] = band[k]
        age_months_of[i] = age_months[k]
        cohort_of[i] = cohort[k]
        for d in range(dims):  # element by element: a row's slice assignment costs
            culture_of[i, d] = culture[k, d]  # numba much more code
        for p in range(messages.shape[0]):  # of the culture as kept (float32)
            affinity_of[i, p] = rules.person_affinity(culture_of, i, messages, p)
        identity_of[i] = identity[k]
        for p in range(powers):
            susceptibility_of[i, p] = susceptibility[k, p]
            personal_of[i, p] = personal[k, p]
            ties_of[i, p] = ties[k, p]
            kin_of[i, p] = kin[k, p]
        person_id[i] = first_id + k
        elites += elite[i]
        links += ngo[i]
        elite[i] = False
        ngo[i] = False
    missed = 0
    if tongue_lookup.size and diet_lookup.size:  # the sets' indices, where held already
        for k in range(n):
            tongue, diet = _row_mask(speaks, k), _row_mask(follows, k)
            if tongue_lookup[tongue] < 0 or diet_lookup[diet] < 0:
                missed += 1
            else:
                tongue_of[rows[k]] = tongue_lookup[tongue]
                diet_of[rows[k]] = diet_lookup[diet]
    else:
        missed = n
    return speaks, follows, elites, links, missed


@numba.njit(inline="always", cache=True)
def _row_mask(flags, k):
    """Row k of ``flags`` (N, W) as a bit mask, bit j for flag j (:attr:`Patterns.lookup`)."""
    mask = 0
    for j in range(flags.shape[1]):
        mask |= np.int64(flags[k, j]) << j
    return mask


# --- ages, cohorts and the population's renewal ---------------------------------------------


@numba.njit(cache=True)
def _age_terms(age_months, floors, years_to_census, year, born_until):
    """:func:`age_band` of each age (in months) now and ``years_to_census`` later, and
    :func:`cohort_of` its year of birth, in one pass (``born_until`` empty: one cohort)."""
    n = age_months.size
    band, english_band = np.empty(n, np.int8), np.empty(n, np.int8)
    cohort = np.zeros(n, np.int8)
    for i in range(n):
        age = np.int64(age_months[i])
        band[i] = max(np.searchsorted(floors, age, side="right") - 1, 0)
        later = age + 12 * years_to_census
        english_band[i] = max(np.searchsorted(floors, later, side="right") - 1, 0)
        if born_until.size:
            cohort[i] = min(np.searchsorted(born_until, year - age // 12), born_until.size - 1)
    return band, english_band, cohort


def age_band(profile: Profile, age_months: NDArray) -> NDArray[np.int8]:
    """The profile's age band of each age (in months)."""
    floors = _floors_in_months(tuple(profile.ages))
    return (np.searchsorted(floors, age_months, side="right") - 1).clip(0).astype(np.int8)


@functools.cache
def _floors_in_months(bands: tuple[str, ...]) -> np.ndarray:
    return np.array(age_floor(list(bands))) * 12


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
    bands = age_bands(profile)
    floors, tops = bands.floors, bands.tops
    years = floors[band] + rng.random(band.size) * (tops - floors)[band]
    top = band == floors.size - 1
    above = rng.exponential(bands.old_mean, top.sum())
    years[top] = np.minimum(floors[-1] + above, bands.oldest - 1.0)
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
    return urban & ((band == 1) | (band == 2))


def categorical(rng: np.random.Generator, shares: list[float], n: int) -> NDArray[np.intp]:
    cumulative = np.cumsum(shares)
    return np.minimum(np.searchsorted(cumulative / cumulative[-1], rng.random(n)), len(shares) - 1)


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


def _code(languages: list[str], lang: str | None) -> int:
    """The index of a language the profile names for a role in a list of languages, or -1
    (no such role, or the language is not in the list)."""
    return languages.index(lang) if lang in languages else -1


FEW = 64
"""Rows that :meth:`Patterns.of` looks up one by one (a month's newcomers); more are sorted
and looked up once per distinct row."""

LOOKUP_FLAGS = 16
"""The widest rows :attr:`Patterns.lookup` holds (a table of 2**16 indices, 256 KiB)."""


def _masks(rows: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Each row of flags (N, W) as a bit mask, bit j for flag j (:func:`_row_mask`)."""
    return (rows.astype(np.int64) << np.arange(rows.shape[1])).sum(axis=1)


class Patterns:
    """Distinct rows of flags that persons hold (K, W), each kept once: a person holds the
    index of theirs, and whatever follows from the row alone is computed once for all who
    hold it. Rows are added as newcomers bring new ones; an index never changes.

    Attributes:
        rows: (K, W) the rows held.
    """

    def __init__(self, width: int):
        self.rows = np.empty((0, width), np.bool_)
        self._index: dict[bytes, int] = {}
        self._lookup = self._lookup_of(self.rows)

    @property
    def lookup(self) -> NDArray[np.int32]:
        """The index of each row held by the row as a bit mask (bit j for flag j), -1 for a
        row not held: compiled code looks a row up here (:func:`_drawn_terms`). Empty for
        rows of more than :data:`LOOKUP_FLAGS` flags (then looked up by :meth:`of`)."""
        table = self.__dict__.get("_lookup")
        if table is None:  # (pickled before the lookup was kept)
            table = self._lookup = self._lookup_of(self.rows)
        return table

    @staticmethod
    def _lookup_of(rows: NDArray[np.bool_]) -> NDArray[np.int32]:
        width = rows.shape[1]
        if width > LOOKUP_FLAGS:
            return np.empty(0, np.int32)
        table = np.full(1 << width, -1, np.int32)
        table[_masks(rows)] = np.arange(len(rows), dtype=np.int32)
        return table

    def of(self, flags: NDArray[np.bool_]) -> NDArray[np.int32]:
        """The index of each row of ``flags`` (N, W), adding rows not held yet."""
        flags = np.ascontiguousarray(flags, np.bool_)
        n, width = flags.shape
        if n <= FEW:  # a month's newcomers: row by row
            ids, new = np.empty(n, np.int32), []
            for k in range(n):
                key = flags[k].tobytes()
                index = self._index.get(key)
                if index is None:
                    index = self._index[key] = len(self._index)
                    new.append(k)
                ids[k] = index
            if new:
                self._add(flags[new])
            return ids
        if width:  # many rows: each distinct row once
            rows = flags.view(np.dtype((np.void, width))).ravel()
            unique, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
            keys = [key.tobytes() for key in unique]
        else:  # rows of no flags: one row, the empty one
            keys, first, inverse = [b""], np.zeros(1, np.intp), np.zeros(n, np.intp)
        new = [k for k, key in enumerate(keys) if key not in self._index]
        for k in new:
            self._index[keys[k]] = len(self._index)
        if new:
            self._add(flags[first[new]])
        ids = np.array([self._index[key] for key in keys], np.int32)
        return ids[inverse.ravel()]

    def _add(self, rows: NDArray[np.bool_]) -> None:
        start = len(self.rows)
        self.rows = np.concatenate((self.rows, rows))
        table = self.__dict__.get("_lookup")
        if table is not None and table.size:
            table[_masks(rows)] = np.arange(start, start + len(rows), dtype=np.int32)


class Diets(Patterns):
    """The media diets persons hold, each a distinct set of outlets followed (a row of
    :class:`Patterns`), with what it decides (:func:`diet_terms`): the framing of news about
    each power and each power's outlet access, computed once for everyone who follows that
    set (a person holds the index of theirs, ``Persons.diet``). The numbers are those
    computed person by person.

    Attributes:
        follows: (K, O) the outlets of each diet (its row).
        valence, access: (K, P) its :func:`diet_terms`.
    """

    def __init__(self, tables: Tables):
        super().__init__(len(tables.outlets))
        self.tables = tables
        self.valence = np.empty((0, len(tables.powers)), np.float32)
        self.access = np.empty((0, len(tables.powers)), np.float32)

    @property
    def follows(self) -> NDArray[np.bool_]:
        return self.rows

    def _add(self, rows: NDArray[np.bool_]) -> None:
        super()._add(rows)
        valence, access = diet_terms(self.tables, rows)
        self.valence = np.concatenate((self.valence, valence))
        self.access = np.concatenate((self.access, access))


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
    unnamed = np.zeros(powers, np.bool_)
    unnamed[tables.unnamed] = True
    return _diet(follows, tables.frames, tables.carries, unnamed)


@numba.njit(cache=True)
def _diet(follows, frames, carries, unnamed):
    """:func:`diet_terms` in one pass (float32 sums over the outlets, in order)."""
    n, outlets = follows.shape
    powers = frames.shape[1]
    valence = np.empty((n, powers), np.float32)
    access = np.zeros((n, powers), np.float32)
    for i in range(n):
        count = np.float32(0)
        for o in range(outlets):
            count += np.float32(follows[i, o])
        for p in range(powers):
            total = np.float32(0)
            for o in range(outlets):
                if follows[i, o]:
                    total += frames[o, p]
                    access[i, p] = max(access[i, p], carries[o, p])
            valence[i, p] = total / count if count > 0 else np.float32(-1.0)
            if unnamed[p]:
                access[i, p] = np.nan
    return valence, access


def engagement_cells(age, urban, elite, ngo) -> NDArray[np.uint16]:
    """Each person's cell of age band, area and roles (N,): the row of
    ``Tables.engagement_table`` that holds their engagement (:func:`_cells_of_rows`)."""
    cells = np.empty(age.size, np.uint16)
    _cells_of_rows(cells, np.arange(age.size), age, urban, elite, ngo)
    return cells


def engagement(tables: Tables, age, urban, elite, ngo):
    """Monthly chance of engaging with each channel (N, C), from age band, area and roles."""
    return tables.engagement_table[engagement_cells(age, urban, elite, ngo)]


def refresh_engagement(persons: Persons, rows: NDArray) -> None:
    """Recompute, in place, the engagement cell of the persons at ``rows`` (a row may
    repeat)."""
    _cells_of_rows(
        persons.engagement_cell, rows, persons.age, persons.urban, persons.elite, persons.ngo
    )


@numba.njit(cache=True)
def _cells_of_rows(out, rows, age, urban, elite, ngo):
    """The engagement cells of the persons at ``rows``, into ``out``: ((band x 2 + urban) x
    2 + elite) x 2 + NGO link (``Tables`` lists the cells in that order)."""
    for k in range(rows.size):
        i = rows[k]
        out[i] = ((age[i] * 2 + urban[i]) * 2 + elite[i]) * 2 + ngo[i]


@numba.njit(cache=True)
def _engagement_rows(out, rows, age, urban, elite, ngo, base, by_age, in_town, as_elite, with_ngo):
    """The engagement of the persons (or cells) at ``rows`` into ``out``: base x age x area x
    elite x NGO link, in float32 and in that order, clipped to [0, 1]."""
    one, zero = np.float32(1), np.float32(0)
    for k in range(rows.size):
        i = rows[k]
        for c in range(base.size):
            chance = base[c] * by_age[age[i], c]
            chance = chance * (in_town[c] if urban[i] else one)
            chance = chance * (as_elite[c] if elite[i] else one)
            chance = chance * (with_ngo[c] if ngo[i] else one)
            out[i, c] = min(max(chance, zero), one)


class Network(NamedTuple):
    """The persons' ties in compressed sparse rows: person i's neighbours are
    ``indices[indptr[i]:indptr[i + 1]]``, sorted (what the compiled passes read)."""

    indptr: NDArray[np.int32]
    indices: NDArray[np.int32]
    far_starts: NDArray[np.int64]
    far_rows: NDArray[np.int32]
    """Each block of persons' far neighbours (:func:`sim.model.rules.far_ties`), whose rows
    the monthly update asks for ahead."""

    @classmethod
    def of(cls, indptr: NDArray[np.int32], indices: NDArray[np.int32]) -> Network:
        """The network of these compressed sparse rows."""
        return cls(indptr, indices, *rules.far_ties(indptr, indices))

    def matrix(self) -> sparse.csr_array:
        """The adjacency as a scipy sparse matrix (for inspection and tests)."""
        from scipy import sparse  # imported here: it costs 0.1 s of every start

        n = self.indptr.size - 1
        return sparse.csr_array(
            (np.ones(self.indices.size, bool), self.indices, self.indptr), (n, n)
        )


def small_world(n: int, degree: int, rewiring: float, rng: np.random.Generator) -> Network:
    """A Watts-Strogatz ring (1998) over persons in storage order.

    Persons are stored sorted by region, area, ethnicity, language and age, so lattice ties
    join similar persons (homophily, McPherson et al. 2001); a share ``rewiring`` of ties goes
    to random persons instead. Undirected, no self-ties, every person has a neighbour.
    """
    half = max(1, degree // 2)
    ties = n * half  # tie k joins person k // half to the (k % half + 1)-th after them
    rewired = [  # the ties drawn to go elsewhere, a chunk of draws at a time (same numbers)
        start + np.flatnonzero(rng.random(min(CHUNK * half, ties - start), np.float32) < rewiring)
        for start in range(0, ties, CHUNK * half)
    ]
    rewired = np.concatenate(rewired) if rewired else np.empty(0, np.int64)
    elsewhere = rng.integers(0, n, rewired.size, dtype=np.int32)
    return Network.of(*_undirected_rows(n, half, rewired, elsewhere))


@numba.njit(inline="always")
def _tie(k, half, n, rewired, elsewhere, next_rewired):
    """Tie k of the ring, (source, target): target k // half + k % half + 1 (mod n), or
    ``elsewhere[j]`` if it is the j-th rewired tie (``rewired`` ascending; ``next_rewired``
    is j for the first rewired tie at or after k)."""
    source = k // half
    if next_rewired < rewired.size and rewired[next_rewired] == k:
        return source, elsewhere[next_rewired]
    return source, (source + k % half + 1) % n


@numba.njit(cache=True)
def _undirected_rows(n, half, rewired, elsewhere):
    """The compressed sparse rows (indptr, indices; int32) of the undirected graph of the
    ring's ties, :func:`_tie` (no array of them is made): each row's neighbours sorted, a
    tie listed twice kept once, ties of a person with themself left out (what scipy's CSR
    of the symmetric adjacency holds after ``sum_duplicates``)."""
    start = np.zeros(n + 1, np.int32)
    j = 0
    for k in range(n * half):
        s, t = _tie(k, half, n, rewired, elsewhere, j)
        j += j < rewired.size and rewired[j] == k
        if s != t:
            start[s + 1] += 1
            start[t + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    indices = np.empty(start[n], np.int32)
    fill = start[:-1].copy()
    j = 0
    for k in range(n * half):
        s, t = _tie(k, half, n, rewired, elsewhere, j)
        j += j < rewired.size and rewired[j] == k
        if s != t:
            indices[fill[s]] = t
            fill[s] += 1
            indices[fill[t]] = s
            fill[t] += 1
    indptr = np.empty(n + 1, np.int32)
    indptr[0] = 0
    kept = 0
    for i in range(n):  # sort each row, keep each neighbour once (rows only move left)
        row = indices[start[i] : start[i + 1]]
        row.sort()
        for j in range(row.size):
            if j == 0 or row[j] != row[j - 1]:
                indices[kept] = row[j]
                kept += 1
        indptr[i + 1] = kept
    return indptr, indices[:kept]
