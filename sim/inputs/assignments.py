"""``path=value`` assignments, as typed on the command line (``--set``) and in the dashboard.

Values are read as TOML (``0.5``, ``true``, ``"text"``); anything TOML cannot read is kept as
text, for the schema to accept or refuse with its own message.
"""

from __future__ import annotations

import tomllib
from typing import Any

from sim.inputs.errors import COMMAND_LINE, refuse


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """One ``path=value`` pair; a ScenarioError names ``option`` if it is not of that form."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise refuse(COMMAND_LINE, option, f"{text!r} is not of the form path=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path.strip(), value


def parse_assignments(items: list[str], option: str = "--set") -> dict[str, Any]:
    """Several ``path=value`` pairs, as dotted-path overrides (a later one wins)."""
    return dict(parse_assignment(item, option) for item in items)
