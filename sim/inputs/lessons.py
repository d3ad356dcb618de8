"""The lessons file (``scenarios/lessons/lessons.toml``): each lesson a shipped scenario, the
question it asks and the population it runs, and the short glossary the dashboard shows.
The dashboard, ``docs/lessons.md`` (through ``sim.app.reference``) and its test read it here.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sim.inputs.scenario import shipped_dir

LESSONS_FILE = shipped_dir() / "lessons" / "lessons.toml"


@dataclass(frozen=True)
class LessonPlan:
    """One lesson: a shipped scenario, the question it asks, the population it runs."""

    name: str
    scenario: str
    question: str
    population: int

    @property
    def key(self) -> str:
        """The name of its block in docs/lessons.md (its scenario's)."""
        return self.scenario


@functools.cache
def _lessons_data(path: Path) -> dict:
    with path.open("rb") as file:
        return tomllib.load(file)


def lesson_plans(path: Path = LESSONS_FILE) -> list[LessonPlan]:
    """The lessons in the lessons file, in its order."""
    return [
        LessonPlan(
            name=item["name"],
            scenario=item["scenario"],
            question=" ".join(item["question"].split()),
            population=int(item["population"]),
        )
        for item in _lessons_data(path)["lessons"]
    ]


def glossary(path: Path = LESSONS_FILE) -> list[tuple[str, str]]:
    """The short definitions the dashboard shows: (term, meaning), in the file's order."""
    return [(item["term"], item["meaning"]) for item in _lessons_data(path)["glossary"]]
