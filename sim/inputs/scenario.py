"""Scenario files: find, read, resolve ``extends``, apply overrides, validate (the messages
are phrased in :mod:`sim.inputs.problems`).

Nothing in a file is evaluated: TOML is parsed with ``tomllib`` and checked against
:mod:`sim.inputs.schema`. Every problem is collected and reported with the file, the key path, the
line where it can be found, and what is allowed (:class:`sim.inputs.errors.ScenarioError`).
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sim.inputs.errors import COMMAND_LINE, Problem, ScenarioError, refuse
from sim.inputs.limits import (
    MAX_DEPTH,
    MAX_EVENTS,
    MAX_EXTENDS,
    MAX_PATH_CHARS,
    MAX_POWERS,
    MAX_PROBLEMS,
)
from sim.inputs.problems import (
    MISSING,
    check_consistency,
    dotted,
    loc_message,
    locate,
    locate_problem,
    merge_incomplete_powers,
    shorten,
)
from sim.inputs.profile import Profile, load_profile
from sim.inputs.reading import parse_text, read_text
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


def profile_for(name_or_path: str) -> Profile:
    """A country profile: a shipped one by name, or a profile file (a relative path is read
    from the working directory). A ScenarioError names the shipped ones, or what is wrong."""
    return load_profile(profile_path(name_or_path))


def profile_path(name_or_path: str, folder: Path | None = None) -> Path:
    """The file of a country profile: a shipped profile's name (``kazakhstan``), or a file
    path, relative ones read from ``folder`` (default: the working directory)."""
    path = _profile_file(name_or_path, folder)
    if path is None:
        raise refuse("scenario", "run.profile", _unknown_profile(name_or_path, folder))
    return path


def _profile_file(name_or_path: str, folder: Path | None) -> Path | None:
    """A shipped profile's file, or an existing file at the path (None if neither)."""
    profiles = shipped_profiles()
    if name_or_path in profiles:
        return profiles[name_or_path]
    path = Path(name_or_path).expanduser()
    if not path.is_absolute() and folder is not None:
        path = folder / path
    return path if path.is_file() else None


def _unknown_profile(name_or_path: str, folder: Path | None) -> str:
    where = f"{folder}" if folder is not None else "the working directory"
    return (
        f"unknown country profile {shorten(name_or_path)!r}: not a shipped profile "
        f"({', '.join(shipped_profiles())}) and no such file (relative paths are read "
        f"from {where})"
    )


def _profile_folder(resolved: Resolved, overrides: dict[str, Any]) -> Path | None:
    """Where a relative ``run.profile`` is read from: the folder of the scenario file that
    sets it (the nearest in the ``extends`` chain); the working directory if an override
    (``--profile``, ``--set run.profile=``) sets it or no file does."""
    if "run.profile" in overrides:
        return None
    for source in resolved.chain:
        run = source.data.get("run") if isinstance(source.data, dict) else None
        if isinstance(run, dict) and "profile" in run:
            return source.path.parent
    return None


def _outside(profile: Path, asked: Path, folder: Path | None, overrides: dict[str, Any]) -> str:
    """Why a profile file that a scenario file names may not be read (empty if it may): like
    ``extends``, it must lie inside the folder of the file asked for or the shipped scenarios'
    folder. A profile given on the command line (``--profile``) is the user's own choice."""
    if folder is None or "run.profile" in overrides:
        return ""
    roots = (asked.resolve().parent, shipped_dir().resolve())
    if any(profile.resolve().is_relative_to(root) for root in roots):
        return ""
    return (
        f"{shorten(str(profile))!r} lies outside the scenario folders ({roots[0]} and the "
        f"shipped {roots[1]}); put the profile beside the scenario, or give it with --profile"
    )


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario file from a path, or from the name of a shipped scenario."""
    path = Path(name_or_path)
    try:
        if path.is_file():
            return path
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        pass
    shipped = shipped_scenarios()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise refuse(
        shorten(str(name_or_path)),
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
    """A merged scenario table with where each part came from.

    ``problems`` are those of the ``extends`` chain itself (a parent not found, a cycle): the
    chain stops there, and what was read is still checked.
    """

    data: dict[str, Any]
    chain: list[Source]  # the file asked for first, then what it extends
    event_origins: list[tuple[Source, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_toml(path: Path) -> Source:
    """Parse one TOML file, its size and nesting bounded first (:mod:`sim.inputs.limits`); a
    syntax error is refused with its line and column."""
    text = read_text(path)
    return Source(path, text, parse_text(text, path))


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in ``top`` replaces the one in ``base``."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_extends(path: Path) -> Resolved:
    """Merge a scenario with the scenarios it extends: parents first, events concatenated.

    A parent is a file beside the one that names it (``name`` or ``name.toml``, a path
    relative to that file's folder) or a shipped scenario; it must lie inside the folder of
    the file asked for or the shipped scenarios' folder. A problem with the chain (a parent
    not found, outside those folders, a cycle, a chain longer than ``MAX_EXTENDS``) is kept
    in ``problems`` and the chain stops there.
    """
    chain = [read_toml(path)]
    roots = (path.resolve().parent, shipped_dir().resolve())
    seen = [path.resolve()]
    problems: list[Problem] = []
    while "extends" in chain[-1].data:
        source = chain[-1]
        line = locate(source.text, ("extends",))
        try:
            parent = _find_parent(source.data["extends"], source.path, roots)
            if parent.resolve() in seen:
                cycle = " -> ".join(p.name for p in (*seen, parent.resolve()))
                raise refuse(source.path, "extends", f"extends forms a cycle: {cycle}")
            if len(chain) >= MAX_EXTENDS:
                raise refuse(
                    source.path,
                    "extends",
                    f"the extends chain is longer than {MAX_EXTENDS} files; at most "
                    f"{MAX_EXTENDS} (from {path.name})",
                )
            chain.append(read_toml(parent))
            seen.append(parent.resolve())
        except ScenarioError as err:
            problems += [
                p if p.line or p.key != "extends" else Problem(p.source, p.key, p.message, line)
                for p in err.problems
            ]
            break
    last = chain[-1]
    data = {k: v for k, v in last.data.items() if k not in ("extends", "events")}
    events = last.data.get("events", [])
    origins = [(last, i) for i in range(len(events) if isinstance(events, list) else 0)]
    for source in reversed(chain[:-1]):
        own = {k: v for k, v in source.data.items() if k not in ("extends", "events")}
        own_events = source.data.get("events", [])
        # A scenario's name and description are its own; sources accumulate along the chain.
        inherited = {k: v for k, v in data.items() if k not in ("name", "description")}
        merged = deep_merge(inherited, own)
        if isinstance(data.get("sources"), list) and isinstance(own.get("sources", []), list):
            merged["sources"] = data["sources"] + own.get("sources", [])
        if isinstance(own_events, list) and isinstance(events, list):
            origins = origins + [(source, i) for i in range(len(own_events))]
            events = events + own_events
        elif not isinstance(own_events, list):
            events = own_events  # let the schema refuse it
        data = merged
    return Resolved({**data, "events": events}, chain, origins, problems)


def _find_parent(name: Any, child: Path, roots: tuple[Path, ...]) -> Path:
    """The file an ``extends`` names (see :func:`resolve_extends`); ScenarioError if none."""
    shipped = ", ".join(shipped_scenarios())
    if not isinstance(name, str):
        raise refuse(child, "extends", "must be the name of a shipped scenario or a file path")
    if len(name) > MAX_PATH_CHARS or not name.strip() or "\0" in name:
        raise refuse(
            child,
            "extends",
            f"{shorten(name)!r} is not a scenario name or file path "
            f"(1 to {MAX_PATH_CHARS} characters)",
        )
    if Path(name).is_absolute() or name.startswith("~"):
        raise refuse(
            child,
            "extends",
            f"{shorten(name)!r} is an absolute path; write a shipped scenario's name or a "
            "path relative to this file's folder",
        )
    candidates = [child.parent / f"{name}.toml", child.parent / name]
    found = next((c for c in candidates if _is_file(c)), None)
    if found is None:
        if name in shipped_scenarios():
            return shipped_scenarios()[name]
        raise refuse(child, "extends", f"unknown scenario {name!r}; shipped: {shipped}")
    if not any(found.resolve().is_relative_to(root) for root in roots):
        raise refuse(
            child,
            "extends",
            f"{name!r} leads outside the scenario folders ({roots[0]} and the shipped "
            f"{roots[1]}); extend a file inside them",
        )
    return found


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set dotted-path overrides (from the command line) in a scenario table."""
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        check_path(path)
        node = out
        *parents, last = path.split(".")
        for part in parents:
            if not isinstance(node.get(part, {}), dict):
                raise refuse(COMMAND_LINE, path, f"{part!r} is a value, not a table")
            node = node.setdefault(part, {})
        node[last] = value
    return out


def check_path(path: str, source: str = COMMAND_LINE) -> None:
    """Refuse a dotted parameter path longer or deeper than any parameter can be."""
    if len(path) > MAX_PATH_CHARS or path.count(".") >= MAX_DEPTH:
        raise refuse(
            source,
            shorten(path),
            f"not a parameter path: at most {MAX_PATH_CHARS} characters and {MAX_DEPTH} parts",
        )


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

    Every problem is collected in one pass: a broken ``extends`` chain does not hide the
    file's own problems, one bad event does not hide the others, and a bad value elsewhere
    does not hide the events' problems (they are checked against the rest of the file).
    """
    overrides = overrides or {}
    path = find_scenario(DEFAULT_SCENARIO if name_or_path is None else name_or_path)
    resolved = resolve_extends(path)
    data = apply_overrides(resolved.data, overrides)
    raw_events = data.get("events", [])
    found: list[tuple[tuple[Any, ...], str]] = []
    if not isinstance(raw_events, list):
        found.append((("events",), "must be a list of [[events]] tables"))
        raw_events = []
    elif len(raw_events) > MAX_EVENTS:
        found.append((("events",), f"{len(raw_events)} events; at most {MAX_EVENTS}"))
        raw_events = []
    powers = data.get("powers")
    if isinstance(powers, dict) and len(powers) > MAX_POWERS:
        found.append((("powers",), f"{len(powers)} powers; at most {MAX_POWERS}"))
    scenario, invalid = None, []
    try:
        scenario = ScenarioSpec.model_validate({**data, "events": []})
    except ValidationError as err:
        invalid = err.errors()
        found += [loc_message(e) for e in invalid]
    if resolved.problems:  # what the missing parent would have given is not missing
        found = [(loc, msg) for loc, msg in found if msg != MISSING]
    else:
        found = merge_incomplete_powers(found, data)
    events: list[tuple[int, Any]] = []
    for i, raw in enumerate(raw_events):
        try:
            events.append((i, EVENT.validate_python(raw)))
        except ValidationError as err:
            found += [loc_message(e, ("events", i)) for e in err.errors()]
    checked = scenario or _the_rest(data, invalid)
    profile = None
    reference, profile_problems = None, []
    if checked is not None:
        folder = _profile_folder(resolved, overrides)
        profile_file = _profile_file(checked.run.profile, folder)
        outside = profile_file is not None and _outside(profile_file, path, folder, overrides)
        if outside:
            found.append((("run", "profile"), outside))
        elif profile_file is not None:
            try:
                profile = load_profile(profile_file)
            except ScenarioError as err:  # the profile's own problems, in its own file
                profile_problems = err.problems
            shipped = checked.run.profile in shipped_profiles()
            reference = checked.run.profile if shipped else str(profile_file.resolve())
        elif scenario is not None:
            found.append((("run", "profile"), _unknown_profile(checked.run.profile, folder)))
        dates = not any(e["loc"][:1] == ("run",) for e in invalid)
        found += check_consistency(checked, profile, events, dates)
    problems = [locate_problem(loc, msg, resolved, overrides) for loc, msg in found]
    problems = sorted(
        resolved.problems + profile_problems + problems, key=lambda p: (p.source, p.line or 0)
    )
    if problems:
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            last = Problem(problems[0].source, "", f"... and {more} more problems")
            problems = [*problems[:MAX_PROBLEMS], last]
        raise ScenarioError(problems)
    if reference is not None and reference != scenario.run.profile:  # a profile file, found
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"profile": reference})}
        )
    scenario = scenario.model_copy(update={"events": [event for _, event in events]})
    return scenario, profile, resolved


def _the_rest(data: dict[str, Any], invalid: list[Any]) -> ScenarioSpec | None:
    """The scenario without the keys that were refused (their defaults instead), to check
    the events against; None if it still does not validate."""
    rest = copy.deepcopy({**data, "events": []})
    for error in invalid:
        node, loc = rest, [p for p in error["loc"] if isinstance(p, str)]
        for part in loc[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and loc:
            node.pop(loc[-1], None)
    try:
        return ScenarioSpec.model_validate(rest)
    except ValidationError:
        return None


def scenario_hash(path: Path) -> str:
    """SHA-256 of a scenario file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
