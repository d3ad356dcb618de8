"""The model as an EMA Workbench model: levers and uncertainties from the schema's roles.

The scenario schema marks every parameter's role in the XLRM terms of exploratory modelling
(:data:`sim.inputs.schema.ROLES`): a ``lever`` the middle state controls, an ``uncertainty``
about the world, or a ``setting`` of the experiment. :func:`model` turns the levers and a
chosen subset of the uncertainties into EMA Workbench parameters, and named outcomes (the
sweep files' :class:`~sim.experiments.sweep.Outcome`) into its scalar outcomes::

    from ema_workbench import MultiprocessingEvaluator
    from sim.experiments import ema
    from sim.experiments.sweep import Outcome

    em = ema.model(
        "post2022_russia_weakening",
        uncertainties=["persuasion.rate", "powers.China.efficiency"],
        outcomes=[Outcome(name="russia_alignment", measure="alignment", power="Russia",
                          at="2030-12")],
        until="2030-12",
    )
    with MultiprocessingEvaluator(em, n_processes=2) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=50, policies=4)

EMA Workbench 3 wants parameter names that are Python identifiers, so a parameter is named
by its path with ``__`` for the dots (``state__balance_strength``), the same keyword that
:class:`~sim.model.model.MultivectorModel` takes; :func:`path_of` reads it back.

ema_workbench is an optional dependency (``pip install 'multivector[analysis]'``); it is
imported only when :func:`model` is called.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.experiments.sweep import Outcome
from sim.experiments.sweep.runs import outcome_value
from sim.inputs.assignments import keyword_of as name_of  # an EMA name is the keyword form
from sim.inputs.assignments import path_of
from sim.inputs.errors import ScenarioError, refuse
from sim.inputs.scenario import find_scenario, load_scenario
from sim.inputs.schema import bounds, numeric_leaves, resolve, role

SOURCE = "ema.model(...)"
"""Where a refusal says the problem came from."""

Ranges = Iterable[str] | Mapping[str, tuple[float, float]]
"""Parameters to vary: dotted paths (each over its default range, :func:`default_range`) or
a mapping of paths to ``(low, high)``."""


def import_workbench(source: str = SOURCE, key: str = "ema_workbench") -> Any:
    """ema_workbench, or a ScenarioError (naming ``source`` and ``key``) saying which extra
    installs it."""
    try:
        with warnings.catch_warnings():  # it warns on import when ipyparallel is missing
            warnings.filterwarnings("ignore", message=".*ipyparallel", category=UserWarning)
            import ema_workbench
            import ema_workbench.analysis.prim
    except ImportError:
        raise refuse(
            source, key, "needs the EMA Workbench: pip install 'multivector[analysis]'"
        ) from None
    return ema_workbench


def numeric_paths(scenario: str | Path, wanted: str) -> list[str]:
    """Every numeric parameter of a scenario whose role is ``wanted`` (``lever``,
    ``uncertainty`` or ``setting``), powers by name (``powers.Russia.efficiency``)."""
    return numeric_leaves(load_scenario(scenario), (wanted,))


def default_range(scenario: str | Path, path: str) -> tuple[float, float]:
    """The range a parameter is varied over by default: the classroom range where the schema
    gives one (``state.balance_strength``: 0.1 to 10), else its allowed bounds."""
    spec = load_scenario(scenario)
    _, _, info = resolve(spec, path)
    if info is None:
        return (0.0, 1.0)  # a share in a table (a power's languages)
    extra = info.json_schema_extra or {}
    low, high = extra.get("lesson") or bounds(info)
    return float(low), float(high)


def model(
    scenario: str | Path,
    *,
    uncertainties: Ranges,
    outcomes: Sequence[Outcome],
    levers: Ranges | None = None,
    until: str | None = None,
    population: int | None = None,
    seed: int | None = None,
    replications: int = 1,
    name: str = "multivector",
) -> Any:
    """An ``ema_workbench.Model`` of a scenario.

    Args:
        scenario: a shipped scenario's name or a scenario file.
        uncertainties: parameters whose role is ``uncertainty`` (paths, or paths to ranges).
        outcomes: what each run reports, as in a sweep file (a measure at a month, or a
            statistic over a period); each becomes a ``ScalarOutcome`` of the same name.
        levers: parameters whose role is ``lever`` (default: every numeric lever).
        until: stop every run at this month (default: the scenario's end).
        population: persons per run (default: the scenario's).
        seed: the root seed of every run (default: the scenario's ``run.seed``). Every
            experiment uses the same randomness (common random numbers).
        replications: above 1, a ``ReplicatorModel``: replication i of every experiment
            draws from ``SeedSequence(seed, spawn_key=(i,))``, as run i of an ensemble does,
            and each outcome (an ``ArrayOutcome``) holds one value per replication. (The
            workbench registers an outcome's kind by name for the whole process: give
            replicated outcomes names no scalar outcome has used.)
        name: the model's name (an identifier).

    Raises ScenarioError for a path that does not exist, is not numeric, or has another role,
    a range outside the parameter's bounds, or an outcome the scenario cannot measure.
    """
    workbench = import_workbench()
    path = find_scenario(scenario)
    spec = load_scenario(path)
    chosen_levers = numeric_paths(path, "lever") if levers is None else levers
    varied = {
        "uncertainty": _ranges(path, uncertainties),
        "lever": _ranges(path, chosen_levers),
    }
    problems = []
    for wanted, ranges in varied.items():
        for p, (low, high) in ranges.items():
            problems += _check(spec, p, wanted, low, high)
    known = {o.name for o in outcomes}
    if len(known) != len(outcomes):
        problems.append(refuse(SOURCE, "outcomes", "outcome names must be unique"))
    last = until or spec.run.end
    for outcome in outcomes:
        key = f"outcomes.{outcome.name}"
        if outcome.power is not None and outcome.power not in spec.powers:
            problems.append(refuse(SOURCE, key, f"no power {outcome.power!r}"))
        for month in [outcome.at] if outcome.at else list(outcome.period or ()):
            if not spec.run.start <= month <= last:
                problems.append(
                    refuse(SOURCE, key, f"{month} is outside the run ({spec.run.start} to {last})")
                )
    if problems:
        raise ScenarioError([p for err in problems for p in err.problems])

    def parameter(p: str, low: float, high: float) -> Any:
        _, _, info = resolve(spec, p)
        if info is not None and info.annotation is int:
            return workbench.IntegerParameter(name_of(p), int(low), int(high))
        return workbench.RealParameter(name_of(p), low, high)

    function = functools.partial(
        simulate,
        scenario=str(path),
        outcomes=tuple(outcomes),
        until=until,
        population=population,
        seed=seed,
    )
    if replications > 1:
        em = workbench.ReplicatorModel(name, function=function)
        em.replications = [{"replicate": i} for i in range(replications)]
    else:
        em = workbench.Model(name, function=function)
    em.uncertainties = [parameter(p, *r) for p, r in varied["uncertainty"].items()]
    em.levers = [parameter(p, *r) for p, r in varied["lever"].items()]
    kind = workbench.ArrayOutcome if replications > 1 else workbench.ScalarOutcome
    em.outcomes = [kind(o.name) for o in outcomes]
    return em


def simulate(
    *,
    scenario: str,
    outcomes: tuple[Outcome, ...],
    until: str | None,
    population: int | None,
    seed: int | None,
    replicate: int | None = None,
    **parameters: Any,
) -> dict[str, float]:
    """One experiment: the scenario with ``parameters`` (EMA names, ``__`` for dots), run to
    ``until``; each outcome's value. The function an EMA model calls (module level, so that
    a MultiprocessingEvaluator's workers can import it)."""
    from sim.inputs.scenario import load_with_profile
    from sim.model.model import MultivectorModel

    overrides = {path_of(k): _plain(v) for k, v in parameters.items()}
    if population is not None:
        overrides["run.population"] = population
    spec, profile, _ = load_with_profile(scenario, overrides)
    run = MultivectorModel(spec, profile, seed=seed, until=until, replicate=replicate, tables=False)
    run.run_to()
    ts = run.timeseries()
    return {o.name: outcome_value(ts, o) for o in outcomes}


def _ranges(scenario: Path, chosen: Ranges) -> dict[str, tuple[float, float]]:
    if isinstance(chosen, Mapping):
        return {p: (float(low), float(high)) for p, (low, high) in chosen.items()}
    if isinstance(chosen, str):
        chosen = [chosen]
    out = {}
    for p in chosen:
        try:
            out[p] = default_range(scenario, p)
        except KeyError:
            out[p] = (0.0, 1.0)  # reported by _check with what is allowed
    return out


def _check(spec: Any, p: str, wanted: str, low: float, high: float) -> list[ScenarioError]:
    try:
        _, _, info = resolve(spec, p)
    except KeyError as err:
        return [refuse(SOURCE, p, str(err.args[0]))]
    if info is not None and info.annotation not in (int, float):
        return [refuse(SOURCE, p, "is not a number and cannot be varied by the EMA Workbench")]
    found = role(spec, p)
    if found != wanted:
        return [refuse(SOURCE, p, f"has the role {found!r}, not {wanted!r}")]
    allowed = bounds(info) if info is not None else (0.0, 1.0)
    if not allowed[0] <= low < high <= allowed[1]:
        return [
            refuse(
                SOURCE,
                p,
                f"range {low} to {high} must be increasing and within {allowed[0]} to {allowed[1]}",
            )
        ]
    return []


def _plain(value: Any) -> Any:
    """A numpy scalar from the sampler as a Python number (scenario overrides want those)."""
    return value.item() if hasattr(value, "item") else value
