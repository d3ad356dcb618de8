"""``path=value`` assignments, as typed on the command line (``--set``) and in the dashboard.

Values are read as TOML (``0.5``, ``true``, ``"text"``); anything TOML cannot read is kept as
text, for the schema to accept or refuse with its own message.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

from sim.inputs.errors import COMMAND_LINE, refuse, shorten
from sim.inputs.limits import MAX_DEPTH, MAX_PATH_CHARS, MAX_TEXT_CHARS
from sim.inputs.reading import nesting_depth


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """One ``path=value`` pair; a ScenarioError names ``option`` if it is not of that form,
    if it is too long or too deeply nested, or if its value is nan or infinite."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise refuse(COMMAND_LINE, option, f"{shorten(text)!r} is not of the form path=value")
    path, raw = path.strip(), raw.strip()
    if len(path) > MAX_PATH_CHARS or path.count(".") >= MAX_DEPTH:
        raise refuse(
            COMMAND_LINE,
            option,
            f"{shorten(path)!r} is not a parameter path: at most {MAX_PATH_CHARS} characters "
            f"and {MAX_DEPTH} parts",
        )
    if len(raw) > MAX_TEXT_CHARS or nesting_depth(f"v = {raw}")[0] >= MAX_DEPTH:
        raise refuse(
            COMMAND_LINE,
            f"{option} {shorten(path)}",
            f"value too long or too deeply nested: at most {MAX_TEXT_CHARS} characters "
            f"and {MAX_DEPTH} levels",
        )
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = raw
    if isinstance(value, float) and not math.isfinite(value):
        raise refuse(
            COMMAND_LINE, f"{option} {path}", f"{raw} is not a finite number: give a value"
        )
    return path, value


def parse_assignments(items: list[str], option: str = "--set") -> dict[str, Any]:
    """Several ``path=value`` pairs, as dotted-path overrides (a later one wins)."""
    return dict(parse_assignment(item, option) for item in items)


def path_of(keyword: str) -> str:
    """A parameter's dotted path from its keyword form: ``state__balance_strength`` is
    ``state.balance_strength`` (a Python keyword cannot hold a dot)."""
    return keyword.replace("__", ".")


def keyword_of(path: str) -> str:
    """A parameter's keyword form from its dotted path (the inverse of :func:`path_of`)."""
    return path.replace(".", "__")


def keyword_overrides(parameters: dict[str, Any]) -> dict[str, Any]:
    """Keyword parameters (``state__balance_strength=1.5``) as dotted-path overrides."""
    return {path_of(name): value for name, value in parameters.items()}
