"""Errors a user can cause and fix: each names the file, the key and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COMMAND_LINE = "command line"
"""The source named in problems with options and ``--set`` overrides."""


@dataclass(frozen=True)
class Problem:
    """One problem in one input: where it is and what is wrong."""

    source: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ScenarioError(Exception):
    """A scenario, profile or command-line value was refused, with every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def shorten(text: str, most: int = 60) -> str:
    """A user's text cut to ``most`` characters for a message (a name may be very long)."""
    return text if len(text) <= most else f"{text[: most - 3]}..."


def refuse(source: str | Path, key: str, message: str, line: int | None = None) -> ScenarioError:
    """A ScenarioError with a single problem."""
    return ScenarioError([Problem(str(source), key, message, line)])
