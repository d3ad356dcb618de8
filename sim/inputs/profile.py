"""Country profiles: who the synthetic persons are (census composition and channel engagement).

A profile is a data file under ``scenarios/profiles/``; another middle state is another profile
and another set of powers, not new code.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, model_validator

from sim.inputs.errors import refuse
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
    liberal_base: Share
    liberal_young: Share
    liberal_urban: Share
    liberal_english: Share
    russian_main: Share
    russian_spoken: Share
    russian_none: Share
    spread: Share
    identity_kazakh_main: Share
    identity_spread: Share


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
    english_by_age: dict[str, Share]
    regions: list[str]
    groups: dict[str, Group]
    culture: Culture
    engagement: dict[str, Engagement]
    language_gated: dict[str, bool]

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
        return self

    def group_values(self, dimension: str) -> list[str]:
        """The values a person attribute can take (for events and grouped results)."""
        return {
            "ethnicity": list(self.groups),
            "language": self.main_languages(),
            "age": list(self.ages),
            "area": ["urban", "rural"],
            "region": list(self.regions),
        }[dimension]

    def main_languages(self) -> list[str]:
        """Languages somebody uses daily, in the profile's language order."""
        used = {lang for g in self.groups.values() for lang in g.main}
        return [lang for lang in self.languages if lang in used]


def load_profile(path: Path) -> Profile:
    """Read and validate a profile file; a ScenarioError names what is wrong."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise refuse(path, "run.profile", "no such country profile file") from None
    except tomllib.TOMLDecodeError as err:
        raise refuse(path, "", f"not valid TOML: {err}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise refuse(path, key, first["msg"]) from None
