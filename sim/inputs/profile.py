"""Country profiles: who the synthetic persons are (census composition and channel engagement).

A profile is a data file under ``scenarios/profiles/``; another middle state is another profile
and another set of powers, not new code.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from sim.inputs.errors import Problem, ScenarioError, refuse
from sim.inputs.schema import CHANNELS, Strict

Share = Annotated[float, Field(ge=0, le=1)]


class Group(Strict):
    """An ethnic group: its share, residence, languages and cultural means."""

    share: Share
    urban: Share
    speaks: dict[str, Share]
    main: dict[str, Share]
    turkic: Share
    identity: Share
    regions: dict[str, Share]
    kin: dict[str, Share] = {}  # chance of close family across the border with a power

    @model_validator(mode="after")
    def _consistent(self) -> Group:
        if abs(sum(self.main.values()) - 1) > 1e-6:
            raise ValueError("main-language shares must sum to 1")
        if abs(sum(self.regions.values()) - 1) > 1e-6:
            raise ValueError("region shares must sum to 1")
        for lang, p in self.main.items():
            if self.speaks.get(lang, 0.0) < p:
                raise ValueError(f"speaks.{lang} must be at least main.{lang} ({p})")
        return self


class Culture(Strict):
    """Persons' cultural profile, and which of the profile's languages carries each role.

    No language is special in the code: ``english_language`` (spoken by age band, raises
    liberal values), ``russian_language`` (sets the affinity on the ``russian`` dimension)
    and ``titular_language`` (daily use raises national identity) name codes from the
    profile's ``languages``; a role left out is absent from the country (docs/profiles.md).
    """

    liberal_base: Share
    liberal_young: Share
    liberal_urban: Share
    liberal_english: Share = 0.0
    russian_none: Share
    russian_main: Share | None = None
    russian_spoken: Share | None = None
    spread: Share
    identity_titular_main: Share = 0.0
    identity_spread: Share
    english_language: str | None = None
    russian_language: str | None = None
    titular_language: str | None = None

    @model_validator(mode="after")
    def _roles(self) -> Culture:
        if self.russian_language is not None and None in (self.russian_main, self.russian_spoken):
            raise ValueError("russian_main and russian_spoken are needed with russian_language")
        return self


class Cohort(Strict):
    """Persons born up to ``born_until``, schooled in one era: its shifts of the starting
    cultural profile (docs/profiles.md, "Cohorts")."""

    name: str
    born_until: int
    titular_main: float = Field(0.0, ge=-1, le=1)  # shift of daily use of the titular language
    liberal: float = Field(0.0, ge=-1, le=1)  # shift of the liberal-values score


class Outlet(Strict):
    """A kind of media persons follow: who can follow it, how it frames news about each
    power, and whose media content it carries (docs/profiles.md, "Outlets")."""

    languages: list[str]  # a follower speaks at least one of them
    base: Share  # chance of following it, for a speaker aged in the profile's third age band
    age: dict[str, Annotated[float, Field(ge=0)]]
    urban: float = Field(1.0, ge=0)
    regions: dict[str, Annotated[float, Field(ge=0)]] = {}  # multipliers by region (default 1)
    # power -> -1 condemns its hostile acts, +1 justifies them
    frames: dict[str, Annotated[float, Field(ge=-1, le=1)]] = {}
    carries: dict[str, Share] = {}  # power -> share of the power's media content it carries


class Demography(Strict):
    """Ageing, deaths, migration and new cohorts of the population aged 15 and over."""

    sources: list[str] = []
    census_year: int = Field(2021, ge=1900, le=2100)  # the year the groups' shares describe
    adults: float = Field(gt=0)  # persons aged entry_age and over in census_year
    entry_age: int = Field(15, ge=0, le=40)
    oldest: int = Field(100, ge=50, le=120)
    old_mean: float = Field(12.0, gt=0, le=40)  # mean years above the top band's lower bound
    mortality: dict[str, Annotated[float, Field(ge=0, le=1)]]  # deaths a year, by age band
    entrants: Share  # persons turning entry_age a year, as a share of the population
    entrant_shares: dict[str, Share]  # ethnic groups' shares of those turning entry_age
    migration: dict[str, Annotated[float, Field(ge=-0.2, le=0.2)]] = {}  # net a year, by group


class Engagement(Strict):
    """Monthly chance of engaging with a channel: base times multipliers."""

    base: Share
    age: dict[str, Annotated[float, Field(ge=0)]]
    urban: float = Field(ge=0)
    elite: float = Field(ge=0)
    ngo: float = Field(ge=0)


class Profile(Strict):
    """A country profile (see ``scenarios/profiles/kazakhstan.toml``)."""

    name: str
    population: int = Field(gt=0)
    sources: list[str] = []
    languages: list[str]
    ages: dict[str, Share]
    english_by_age: dict[str, Share] = {}
    regions: list[str]
    groups: dict[str, Group]
    culture: Culture
    engagement: dict[str, Engagement]
    language_gated: dict[str, bool]
    cohorts: list[Cohort] = []
    outlets: dict[str, Outlet] = {}
    demography: Demography | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if abs(sum(g.share for g in self.groups.values()) - 1) > 1e-3:
            raise ValueError("group shares must sum to 1")
        if abs(sum(self.ages.values()) - 1) > 1e-6:
            raise ValueError("age shares must sum to 1")
        for table in ("engagement", "language_gated"):
            if set(getattr(self, table)) != set(CHANNELS):
                raise ValueError(f"{table} must list exactly the channels {', '.join(CHANNELS)}")
        for name, g in self.groups.items():
            unknown = (set(g.speaks) | set(g.main)) - set(self.languages)
            if unknown:
                raise ValueError(f"group {name} names unknown languages {sorted(unknown)}")
            if set(g.regions) - set(self.regions):
                raise ValueError(f"group {name} names unknown regions")
        for e in self.engagement.values():
            if set(e.age) != set(self.ages):
                raise ValueError("engagement age multipliers must list every age band")
        c = self.culture
        for role in ("english_language", "russian_language", "titular_language"):
            lang = getattr(c, role)
            if lang is not None and lang not in self.languages:
                raise ValueError(
                    f"culture.{role} {lang!r} is not one of the profile's languages "
                    f"({', '.join(self.languages)})"
                )
        if c.english_language is not None and list(self.english_by_age) != list(self.ages):
            raise ValueError(
                "english_by_age must list every age band, in the order of ages "
                f"({', '.join(self.ages)}), when culture.english_language is set"
            )
        if c.english_language is None and self.english_by_age:
            raise ValueError("english_by_age needs culture.english_language (its language)")
        age_floor(list(self.ages), strict=self.demography is not None)
        for name, outlet in self.outlets.items():
            if set(outlet.age) != set(self.ages):
                raise ValueError(f"outlets.{name}.age must list every age band")
            if set(outlet.languages) - set(self.languages):
                raise ValueError(f"outlets.{name} names languages the profile does not list")
            if set(outlet.regions) - set(self.regions):
                raise ValueError(f"outlets.{name} names regions the profile does not list")
        years = [k.born_until for k in self.cohorts]
        if years != sorted(set(years)):
            raise ValueError("cohorts must be listed oldest first, born_until increasing")
        d = self.demography
        if d is not None:
            if set(d.mortality) != set(self.ages):
                raise ValueError("demography.mortality must list every age band")
            if set(d.entrant_shares) != set(self.groups):
                raise ValueError("demography.entrant_shares must list every ethnic group")
            if abs(sum(d.entrant_shares.values()) - 1) > 1e-3:
                raise ValueError("demography.entrant_shares must sum to 1")
            if set(d.migration) - set(self.groups):
                raise ValueError("demography.migration names unknown groups")
            if not age_floor(list(self.ages), strict=True)[0] <= d.entry_age:
                raise ValueError("demography.entry_age is below the youngest age band")
        return self

    def cohort_names(self) -> list[str]:
        """The cohorts' names, oldest first (one cohort, "all", when the profile has none)."""
        return [k.name for k in self.cohorts] or ["all"]

    def group_values(self, dimension: str) -> list[str]:
        """The values a person attribute can take (for events and grouped results)."""
        return {
            "ethnicity": list(self.groups),
            "language": self.main_languages(),
            "age": list(self.ages),
            "cohort": self.cohort_names(),
            "area": ["urban", "rural"],
            "region": list(self.regions),
        }[dimension]

    def main_languages(self) -> list[str]:
        """Languages somebody uses daily, in the profile's language order."""
        used = {lang for g in self.groups.values() for lang in g.main}
        return [lang for lang in self.languages if lang in used]


def age_floor(bands: list[str], strict: bool = False) -> list[int]:
    """The lower age of each band ("15-29" -> 15, "60+" -> 60). Bands not named by their
    ages ("young", "old") are taken to span 15 years each from 15, unless ``strict``
    (demography needs the real ages): then ValueError."""
    floors = []
    for band in bands:
        digits = band[: len(band) - len(band.lstrip("0123456789"))]
        if not digits:
            if strict:
                raise ValueError(
                    f"age band {band!r} must start with its lowest age (e.g. '15-29') when "
                    "the profile has a demography"
                )
            return [15 + 15 * k for k in range(len(bands))]
        floors.append(int(digits))
    if floors != sorted(floors):
        raise ValueError("age bands must be listed youngest first")
    return floors


def load_profile(path: Path) -> Profile:
    """Read and validate a profile file; a ScenarioError names what is wrong."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise refuse(path, "run.profile", "no such country profile file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise refuse(path, "", f"cannot read the country profile: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise refuse(path, "", f"not valid TOML: {err}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError([_problem(path, e) for e in err.errors()]) from None


def _problem(path: Path, error: Any) -> Problem:
    """A profile's validation error as a problem: its key, and what is allowed there."""
    loc = [str(p) for p in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    table = _table(loc[:-1])
    if error["type"] == "extra_forbidden" and table is not None:
        message = f"unknown key; allowed: {', '.join(table.model_fields)}"
    return Problem(str(path), ".".join(loc), message)


def _table(parent: list[str]) -> type[Strict] | None:
    """The table a key sits in: the profile, its culture, a group or a channel's engagement."""
    if not parent:
        return Profile
    if parent == ["culture"]:
        return Culture
    if parent == ["demography"]:
        return Demography
    if len(parent) == 2:
        return {"groups": Group, "engagement": Engagement, "outlets": Outlet}.get(parent[0])
    return None
