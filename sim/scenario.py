"""Scenario files: find, read, resolve ``extends``, apply overrides, validate.

Nothing in a file is evaluated: TOML is parsed with ``tomllib`` and checked against
:mod:`sim.schema`. Every problem is collected and reported with the file, the key path, the
line where it can be found, and what is allowed (:class:`sim.errors.ScenarioError`).
"""

from __future__ import annotations

import copy
import hashlib
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from sim.errors import Problem, ScenarioError, refuse
from sim.profile import Profile, load_profile
from sim.schema import (
    GROUP_DIMENSIONS,
    PATH_ACTIONS,
    Event,
    Power,
    Scenario,
    ShockEvent,
    bounds,
    is_init_only,
    month_index,
    resolve,
)

EVENT: TypeAdapter = TypeAdapter(Event)
MISSING = "required key is missing"
DEFAULT_SCENARIO = "baseline"
COMMAND_LINE = "command line"


def shipped_dir() -> Path:
    """The shipped scenario folder: inside an installed wheel, or the source tree's."""
    packaged = Path(__file__).parent / "_shipped" / "scenarios"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "scenarios"


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario names and their files, sorted by name."""
    return {p.stem: p for p in sorted(shipped_dir().glob("*.toml"))}


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario file from a path, or from the name of a shipped scenario."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_scenarios()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise refuse(
        name_or_path,
        "",
        f"no such file or shipped scenario; shipped: {', '.join(shipped) or 'none'}",
    )


@dataclass
class Source:
    """One file of an ``extends`` chain: its path, text and parsed table."""

    path: Path
    text: str
    data: dict[str, Any]


@dataclass
class Resolved:
    """A merged scenario table with where each part came from."""

    data: dict[str, Any]
    chain: list[Source]  # the file asked for first, then what it extends
    event_origins: list[tuple[Source, int]] = field(default_factory=list)


def read_toml(path: Path) -> Source:
    """Parse one TOML file; a syntax error is refused with its line and column."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise refuse(path, "", f"cannot read file: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
        return Source(path, text, tomllib.loads(text))
    except UnicodeDecodeError:
        raise refuse(path, "", "not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as err:
        where = re.search(r"at line (\d+)", str(err))
        raise refuse(path, "", f"not valid TOML: {err}", int(where[1]) if where else None) from None


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in ``top`` replaces the one in ``base``."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_extends(path: Path, _seen: tuple[Path, ...] = ()) -> Resolved:
    """Merge a scenario with the scenarios it extends: parents first, events concatenated."""
    source = read_toml(path)
    here = path.resolve()
    if here in _seen:
        cycle = " -> ".join(p.name for p in (*_seen, here))
        raise refuse(path, "extends", f"extends forms a cycle: {cycle}")
    parent_name = source.data.get("extends")
    own_events = source.data.get("events", [])
    own = {k: v for k, v in source.data.items() if k not in ("extends", "events")}
    if parent_name is None:
        origins = [
            (source, i) for i in range(len(own_events) if isinstance(own_events, list) else 0)
        ]
        return Resolved({**own, "events": own_events}, [source], origins)
    if not isinstance(parent_name, str):
        raise refuse(path, "extends", "must be the name of a shipped scenario or a file path")
    parent_path = _find_parent(parent_name, path)
    parent = resolve_extends(parent_path, (*_seen, here))
    # A scenario's name and description are its own; sources accumulate along the chain.
    inherited = {k: v for k, v in parent.data.items() if k not in ("events", "name", "description")}
    merged = deep_merge(inherited, own)
    if isinstance(parent.data.get("sources"), list) and isinstance(own.get("sources", []), list):
        merged["sources"] = parent.data["sources"] + own.get("sources", [])
    events = list(parent.data["events"]) + (own_events if isinstance(own_events, list) else [])
    origins = parent.event_origins + [
        (source, i) for i in range(len(events) - len(parent.data["events"]))
    ]
    if not isinstance(own_events, list):
        merged["events"] = own_events  # let the schema refuse it
    else:
        merged["events"] = events
    return Resolved(merged, [source, *parent.chain], origins)


def _find_parent(name: str, child: Path) -> Path:
    beside = child.parent / f"{name}.toml"
    if beside.is_file():
        return beside
    try:
        return find_scenario(name)
    except ScenarioError:
        shipped = ", ".join(shipped_scenarios())
        raise refuse(child, "extends", f"unknown scenario {name!r}; shipped: {shipped}") from None


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set dotted-path overrides (from the command line) in a scenario table."""
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            if not isinstance(node.get(part, {}), dict):
                raise refuse(COMMAND_LINE, path, f"{part!r} is a value, not a table")
            node = node.setdefault(part, {})
        node[last] = value
    return out


def load_scenario(
    name_or_path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Scenario:
    """Read, resolve, override and validate a scenario; the default is the baseline.

    Raises:
        ScenarioError: listing every problem found, each with file, key, line and what is
            allowed.
    """
    return load_with_profile(name_or_path, overrides)[0]


def load_with_profile(
    name_or_path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> tuple[Scenario, Profile, Resolved]:
    """As :func:`load_scenario`, also returning the country profile and the resolved chain.

    Events are validated one by one, so that one bad event does not hide the problems of
    the others or of the rest of the file.
    """
    overrides = overrides or {}
    path = find_scenario(name_or_path or DEFAULT_SCENARIO)
    resolved = resolve_extends(path)
    data = apply_overrides(resolved.data, overrides)
    raw_events = data.get("events", [])
    found: list[tuple[tuple[Any, ...], str]] = []
    scenario = None
    try:
        scenario = Scenario.model_validate({**data, "events": []})
    except ValidationError as err:
        found += [_loc_message(e) for e in err.errors()]
    events: list[tuple[int, Any]] = []
    if not isinstance(raw_events, list):
        found.append((("events",), "must be a list of [[events]] tables"))
        raw_events = []
    found = _merge_incomplete_powers(found, data)
    for i, raw in enumerate(raw_events):
        try:
            events.append((i, EVENT.validate_python(raw)))
        except ValidationError as err:
            found += [_loc_message(e, ("events", i)) for e in err.errors()]
    profile = None
    if scenario is not None:
        profiles = {p.stem: p for p in sorted((shipped_dir() / "profiles").glob("*.toml"))}
        if scenario.run.profile in profiles:
            profile = load_profile(profiles[scenario.run.profile])
            found += check_consistency(scenario, profile, events)
        else:
            found.append(
                (
                    ("run", "profile"),
                    f"unknown country profile {scenario.run.profile!r}; "
                    f"available: {', '.join(profiles)}",
                )
            )
    if found:
        problems = [_locate_problem(loc, msg, resolved, overrides) for loc, msg in found]
        raise ScenarioError(sorted(problems, key=lambda p: (p.source, p.line or 0)))
    scenario = scenario.model_copy(update={"events": [event for _, event in events]})
    return scenario, profile, resolved


def scenario_hash(path: Path) -> str:
    """SHA-256 of a scenario file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- problems -----------------------------------------------------------------------------


def _merge_incomplete_powers(
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


def _loc_message(err: Any, prefix: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str]:
    loc = (*prefix, *err["loc"])
    if loc and loc[0] == "events" and len(loc) > 2 and loc[2] in (*PATH_ACTIONS, "shock"):
        loc = loc[:2] + loc[3:]  # drop the union tag pydantic inserts
    return loc, _message(err, loc)


def _locate_problem(
    loc: tuple[Any, ...], message: str, resolved: Resolved, overrides: dict[str, Any]
) -> Problem:
    key = _dotted(loc)
    if any(key == o or key.startswith(o + ".") or o.startswith(key + ".") for o in overrides):
        return Problem(COMMAND_LINE, key, message)
    in_event = loc[:1] == ("events",) and len(loc) > 1 and isinstance(loc[1], int)
    if in_event and loc[1] < len(resolved.event_origins):
        source, index = resolved.event_origins[loc[1]]
        own = ("events", index, *loc[2:])
        return Problem(str(source.path), _dotted(own), message, locate(source.text, own))
    if message.startswith(MISSING):  # nowhere to point at: it belongs in the file asked for
        return Problem(str(resolved.chain[0].path), key, message)
    for source in resolved.chain:
        line = locate(source.text, loc)
        if line is not None:
            return Problem(str(source.path), key, message, line)
    return Problem(str(resolved.chain[0].path), key, message)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any, loc: tuple[Any, ...]) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc[:-1])
        return f"unknown key {loc[-1]!r}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return MISSING
    if kind == "too_short" and loc == ("powers",):
        return "at least two powers are needed: one has nobody to be balanced against"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"action must be one of: {', '.join((*PATH_ACTIONS, 'shock'))}"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and loc and loc[0] == "powers":
        return f"power name {value!r} must be a capitalised word of letters"
    return f"{msg} (got {value!r})" if not isinstance(value, dict | list) else msg


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows in the table at ``loc``."""
    model: Any = Scenario
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
    if typing.get_origin(model) is dict and typing.get_args(model)[1] is Power:
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

    A small scanner, enough for scenario files: it follows ``[table]`` and ``[[array]]``
    headers and ``key = value`` lines (dotted keys and inline tables included).
    """
    want = tuple(str(p) for p in loc)
    table: tuple[str, ...] = ()
    counts: dict[str, int] = {}
    best, best_len = None, 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            name = line[2:].split("]]")[0].strip()
            counts[name] = counts.get(name, -1) + 1
            table = (*_split_key(name), str(counts[name]))
            here = table
        elif line.startswith("["):
            table = _split_key(line[1:].split("]")[0])
            here = table
        elif "=" in line:
            here = (*table, *_split_key(line.split("=", 1)[0]))
        else:
            continue
        n = len(here)
        if want[:n] == here and n >= best_len:
            best, best_len = number, n
    return best


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"').strip("'") for part in key.split("."))


# --- consistency across the schema, the profile and the run --------------------------------


def check_consistency(
    scenario: Scenario, profile: Profile, events: list[tuple[int, Any]]
) -> list[tuple[tuple[Any, ...], str]]:
    """Problems that need more than one field to see: events, languages, groups.

    ``events`` are (index in the file's list, validated event) pairs.
    """
    found: list[tuple[tuple[Any, ...], str]] = []
    for name, power in scenario.powers.items():
        for lang in power.languages:
            if lang not in profile.languages:
                found.append(
                    (
                        ("powers", name, "languages", lang),
                        f"unknown language {lang!r}; "
                        f"the profile has: {', '.join(profile.languages)}",
                    )
                )
    start, end = month_index(scenario.run.start), month_index(scenario.run.end)
    params = scenario.parameters()
    for i, event in events:
        here = ("events", i)
        if not start <= month_index(event.date) <= end:
            found.append(((*here, "date"), _outside(event.date, scenario)))
        if isinstance(event, ShockEvent):
            found += [((*here, *loc), msg) for loc, msg in _check_shock(event, scenario, profile)]
            continue
        until = getattr(event, "until", None)
        if until is not None and not month_index(event.date) < month_index(until) <= end:
            found.append(
                ((*here, "until"), f"{_outside(until, scenario)} and after date {event.date}")
            )
        found += [((*here, loc), msg) for loc, msg in _check_path_event(event, params)]
    return found


def _outside(date: str, scenario: Scenario) -> str:
    return f"date {date} must fall within the run, {scenario.run.start} to {scenario.run.end}"


def _check_path_event(event: Any, params: Any) -> list[tuple[str, str]]:
    try:
        container, key, info = resolve(params, event.path)
    except KeyError as err:
        return [("path", f"unknown parameter path {event.path!r}: {err.args[0]}")]
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
    event: ShockEvent, scenario: Scenario, profile: Profile
) -> list[tuple[tuple[str, ...], str]]:
    out: list[tuple[tuple[str, ...], str]] = []
    if event.power not in scenario.powers:
        out.append(
            (("power",), f"unknown power {event.power!r}; powers: {', '.join(scenario.powers)}")
        )
    for dim in GROUP_DIMENSIONS:
        allowed = profile.group_values(dim)
        for value in getattr(event.groups, dim):
            if value not in allowed:
                out.append(
                    (("groups", dim), f"unknown {dim} {value!r}; allowed: {', '.join(allowed)}")
                )
    return out
