"""Explaining what is wrong in a scenario: the message, the key path, the file and line where
it stands, and what is allowed; and the checks that need more than one field to see."""

from __future__ import annotations

import datetime
import difflib
import functools
import typing
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sim.inputs.errors import COMMAND_LINE, Problem, shorten
from sim.inputs.profile import Profile
from sim.inputs.schema import (
    GROUP_DIMENSIONS,
    PATH_ACTIONS,
    PowerSettings,
    ScenarioSpec,
    ShockEvent,
    bounds,
    is_init_only,
    month_index,
    resolve,
)

if TYPE_CHECKING:
    from sim.inputs.scenario import Resolved

MISSING = "required key is missing"


def merge_incomplete_powers(
    found: list[tuple[tuple[Any, ...], str]], data: dict[str, Any]
) -> list[tuple[tuple[Any, ...], str]]:
    """One message per power that lacks required keys (a new power, or a misspelt name)."""
    lacking: dict[str, list[str]] = {}
    rest = []
    for loc, message in found:
        if message == MISSING and loc[:1] == ("powers",) and len(loc) == 3:
            lacking.setdefault(loc[1], []).append(loc[2])
        else:
            rest.append((loc, message))
    powers = data.get("powers", {}) if isinstance(data.get("powers"), dict) else {}
    complete = [name for name in powers if name not in lacking]
    for name, keys in lacking.items():
        rest.append(
            (
                ("powers", name),
                f"a power must define {', '.join(keys)}; is {name!r} a misspelling? "
                f"powers defined in full: {', '.join(complete) or 'none'}",
            )
        )
    return rest


def loc_message(err: Any, prefix: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str]:
    loc = (*prefix, *err["loc"])
    if loc and loc[0] == "events" and len(loc) > 2 and loc[2] in (*PATH_ACTIONS, "shock"):
        loc = loc[:2] + loc[3:]  # drop the union tag pydantic inserts
    return loc, message_for(err, loc)


def locate_problem(
    loc: tuple[Any, ...], message: str, resolved: Resolved, overrides: dict[str, Any]
) -> Problem:
    key = dotted(loc)
    if any(key == o or key.startswith(o + ".") or o.startswith(key + ".") for o in overrides):
        return Problem(COMMAND_LINE, key, message)
    in_event = loc[:1] == ("events",) and len(loc) > 1 and isinstance(loc[1], int)
    if in_event and loc[1] < len(resolved.event_origins):
        source, index = resolved.event_origins[loc[1]]
        own = ("events", index, *loc[2:])
        return Problem(str(source.path), dotted(own), message, locate(source.text, own))
    if message.startswith(MISSING):  # nowhere to point at: it belongs in the file asked for
        return Problem(str(resolved.chain[0].path), key, message)
    for source in resolved.chain:
        line = locate(source.text, loc)
        if line is not None:
            return Problem(str(source.path), key, message, line)
    return Problem(str(resolved.chain[0].path), key, message)


def dotted(loc: tuple[Any, ...]) -> str:
    """A key path as the user writes it, ``events[0].date``; a very long key is cut."""
    out = ""
    for part in loc:
        part = part if isinstance(part, int) else shorten(str(part))
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def unknown_key(key: Any, allowed: list[str]) -> str:
    """``unknown key 'x'; allowed: ...``, with the closest allowed key if one is close."""
    key = shorten(str(key))
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown key {key!r}; allowed: {', '.join(allowed)}{hint}"


DATE_TYPES = (datetime.date, datetime.time, datetime.datetime)


def message_for(err: Any, loc: tuple[Any, ...]) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        return unknown_key(loc[-1], allowed_keys(loc[:-1]))
    if isinstance(value, DATE_TYPES):
        text = value.isoformat()[:7] if isinstance(value, datetime.date) else "2022-02"
        return f'write dates as quoted text, "{text}" (TOML read {value.isoformat()} as a date)'
    if kind == "finite_number":
        return f"must be a finite number (got {value!r}): nan and inf are not values"
    if kind == "missing":
        return MISSING
    if kind == "too_short" and loc == ("powers",):
        return "at least two powers are needed: one has nobody to be balanced against"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"action must be one of: {', '.join((*PATH_ACTIONS, 'shock'))}"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and loc and loc[0] == "powers":
        return f"power name {shorten(str(value))!r} must be a capitalised word of letters"
    if isinstance(value, dict | list):
        return msg
    return f"{msg} (got {shorten(repr(value), 80)})"


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows in the table at ``loc``."""
    model: Any = ScenarioSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            model = info.annotation if info else None
        elif typing.get_origin(model) is dict:
            model = typing.get_args(model)[1]
        if typing.get_origin(model) is list:
            model = typing.get_args(model)[0]
        if typing.get_origin(model) is typing.Annotated:
            model = typing.get_args(model)[0]
    if typing.get_origin(model) is dict and typing.get_args(model)[1] is PowerSettings:
        return ["a power name"]
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    if loc and loc[0] == "events":
        return [
            "date",
            "label",
            "action",
            "path",
            "value",
            "until",
            "power",
            "delta",
            "reach",
            "groups",
        ]
    return []


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of a TOML file that sets the key at ``loc`` (or its nearest table).

    Looked up in an index of the file's keys (:func:`line_index`, built once per text), so
    locating every problem of a file costs one pass over it, however many there are.
    """
    index = line_index(text)
    want = tuple(str(p) for p in loc)
    for n in range(len(want), 0, -1):
        line = index.get(want[:n])
        if line is not None:
            return line
    return None


@functools.lru_cache(maxsize=16)
def line_index(text: str) -> dict[tuple[str, ...], int]:
    """Each key path a TOML text sets, and the last line that sets it.

    A small scanner, enough for scenario files: it follows ``[table]`` and ``[[array]]``
    headers and ``key = value`` lines (dotted keys and inline tables included). An array of
    tables is also found by its name alone (``[[evnts]]`` for ``evnts``).
    """
    index: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    counts: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            name = line[2:].split("]]")[0].strip()
            counts[name] = counts.get(name, -1) + 1
            table = (*_split_key(name), str(counts[name]))
            index.setdefault(table[:-1], number)
            here = table
        elif line.startswith("["):
            table = _split_key(line[1:].split("]")[0])
            here = table
        elif "=" in line:
            here = (*table, *_split_key(line.split("=", 1)[0]))
        else:
            continue
        index[here] = number
    return index


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"').strip("'") for part in key.split("."))


# --- consistency across the schema, the profile and the run --------------------------------


def check_consistency(
    scenario: ScenarioSpec,
    profile: Profile | None,
    events: list[tuple[int, Any]],
    dates: bool = True,
) -> list[tuple[tuple[Any, ...], str]]:
    """Problems that need more than one field to see: events, languages, groups.

    ``events`` are (index in the file's list, validated event) pairs. Without a profile
    (an unknown one), languages and groups are not checked; with ``dates`` false (the run's
    span itself is wrong), event dates are not.
    """
    found: list[tuple[tuple[Any, ...], str]] = []
    for name, power in scenario.powers.items():
        for lang in power.languages if profile is not None else ():
            if lang not in profile.languages:
                found.append(
                    (
                        ("powers", name, "languages", lang),
                        f"unknown language {shorten(lang)!r}; "
                        f"the profile has: {', '.join(profile.languages)}",
                    )
                )
    start, end = month_index(scenario.run.start), month_index(scenario.run.end)
    params = scenario.parameters()
    for i, event in events:
        here = ("events", i)
        if dates and not start <= month_index(event.date) <= end:
            found.append(((*here, "date"), _outside(event.date, scenario)))
        if isinstance(event, ShockEvent):
            found += [((*here, *loc), msg) for loc, msg in _check_shock(event, scenario, profile)]
            continue
        until = getattr(event, "until", None)
        if dates and until is not None and not month_index(event.date) < month_index(until) <= end:
            found.append(
                ((*here, "until"), f"{_outside(until, scenario)} and after date {event.date}")
            )
        found += [((*here, loc), msg) for loc, msg in _check_path_event(event, params)]
    return found


def _outside(date: str, scenario: ScenarioSpec) -> str:
    return f"date {date} must fall within the run, {scenario.run.start} to {scenario.run.end}"


def _check_path_event(event: Any, params: Any) -> list[tuple[str, str]]:
    try:
        container, key, info = resolve(params, event.path)
    except KeyError as err:
        return [("path", f"unknown parameter path {shorten(event.path)!r}: {err.args[0]}")]
    current = container[key] if isinstance(container, dict) else getattr(container, key)
    if isinstance(current, BaseModel | dict):
        return [("path", f"{event.path!r} is a table; name one of its values")]
    if is_init_only(info):
        return [("path", f"{event.path!r} is read once at the start; an event cannot change it")]
    if isinstance(current, bool):
        if event.action != "set" or not isinstance(event.value, bool):
            return [("value", f"{event.path!r} is a switch: only 'set' with true or false")]
        return []
    if isinstance(event.value, bool):
        return [("value", f"{event.path!r} is a number, not a switch")]
    if event.action in ("set", "ramp"):
        low, high = bounds(info) if info is not None else (0.0, 1.0)
        if not low <= event.value <= high:
            return [
                (
                    "value",
                    f"{event.value} is out of range for {event.path!r}: allowed {low} to {high}",
                )
            ]
    return []


def _check_shock(
    event: ShockEvent, scenario: ScenarioSpec, profile: Profile | None
) -> list[tuple[tuple[str, ...], str]]:
    out: list[tuple[tuple[str, ...], str]] = []
    if event.power not in scenario.powers:
        out.append(
            (
                ("power",),
                f"unknown power {shorten(event.power)!r}; powers: {', '.join(scenario.powers)}",
            )
        )
    for dim in GROUP_DIMENSIONS if profile is not None else ():
        allowed = profile.group_values(dim)
        for value in getattr(event.groups, dim):
            if value not in allowed:
                out.append(
                    (
                        ("groups", dim),
                        f"unknown {dim} {shorten(value)!r}; allowed: {', '.join(allowed)}",
                    )
                )
    return out
