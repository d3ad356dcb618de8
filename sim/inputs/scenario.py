"""Scenario files: find, read, resolve ``extends``, apply overrides, validate (the messages
are phrased in :mod:`sim.inputs.problems`).

Nothing in a file is evaluated: TOML is parsed with ``tomllib`` and checked against
:mod:`sim.inputs.schema`. Every problem is collected and reported with the file, the key path, the
line where it can be found, and what is allowed (:class:`sim.inputs.errors.ScenarioError`).
"""

from __future__ import annotations

import copy
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sim.inputs.errors import COMMAND_LINE, Problem, ScenarioError, refuse
from sim.inputs.problems import (
    check_consistency,
    dotted,
    loc_message,
    locate_problem,
    merge_incomplete_powers,
)
from sim.inputs.profile import Profile, load_profile
from sim.inputs.schema import Event, ScenarioSpec

EVENT: TypeAdapter = TypeAdapter(Event)
DEFAULT_SCENARIO = "baseline"


def shipped_dir() -> Path:
    """The shipped scenario folder: inside an installed wheel, or the source tree's."""
    package = Path(__file__).resolve().parents[1]  # sim/
    packaged = package / "_shipped" / "scenarios"
    return packaged if packaged.is_dir() else package.parent / "scenarios"


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario names and their files, sorted by name."""
    return {p.stem: p for p in sorted(shipped_dir().glob("*.toml"))}


def shipped_profiles() -> dict[str, Path]:
    """Shipped country profiles and their files, sorted by name."""
    return {p.stem: p for p in sorted((shipped_dir() / "profiles").glob("*.toml"))}


def profile_for(name: str) -> Profile:
    """The shipped country profile of that name (a ScenarioError names the ones there are)."""
    profiles = shipped_profiles()
    if name not in profiles:
        raise refuse(
            "scenario",
            "run.profile",
            f"unknown country profile {name!r}; available: {', '.join(profiles)}",
        )
    return load_profile(profiles[name])


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


def with_overrides(
    spec: ScenarioSpec, overrides: dict[str, Any], source: str = COMMAND_LINE
) -> ScenarioSpec:
    """A validated scenario with dotted-path overrides applied and checked again (every
    problem is named, with ``source`` as its origin). No overrides: the scenario itself."""
    if not overrides:
        return spec
    data = apply_overrides(spec.model_dump(), overrides)
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as err:
        found = merge_incomplete_powers([loc_message(e) for e in err.errors()], data)
        raise ScenarioError([Problem(source, dotted(loc), msg) for loc, msg in found]) from None


def load_scenario(
    name_or_path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> ScenarioSpec:
    """Read, resolve, override and validate a scenario; the default is the baseline.

    Raises:
        ScenarioError: listing every problem found, each with file, key, line and what is
            allowed.
    """
    return load_with_profile(name_or_path, overrides)[0]


def load_with_profile(
    name_or_path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> tuple[ScenarioSpec, Profile, Resolved]:
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
        scenario = ScenarioSpec.model_validate({**data, "events": []})
    except ValidationError as err:
        found += [loc_message(e) for e in err.errors()]
    events: list[tuple[int, Any]] = []
    if not isinstance(raw_events, list):
        found.append((("events",), "must be a list of [[events]] tables"))
        raw_events = []
    found = merge_incomplete_powers(found, data)
    for i, raw in enumerate(raw_events):
        try:
            events.append((i, EVENT.validate_python(raw)))
        except ValidationError as err:
            found += [loc_message(e, ("events", i)) for e in err.errors()]
    profile = None
    if scenario is not None:
        profiles = shipped_profiles()
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
        problems = [locate_problem(loc, msg, resolved, overrides) for loc, msg in found]
        raise ScenarioError(sorted(problems, key=lambda p: (p.source, p.line or 0)))
    scenario = scenario.model_copy(update={"events": [event for _, event in events]})
    return scenario, profile, resolved


def scenario_hash(path: Path) -> str:
    """SHA-256 of a scenario file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
