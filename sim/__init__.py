"""multivector: great powers' soft power on a middle state, and how it balances them.

The public face, for notebooks and scripts::

    import sim

    model = sim.build("post2022_russia_weakening", seed=7, run__population=5000)
    model.run_to("2030-12")
    model.timeseries()                      # tidy pandas tables

    result = sim.run("baseline", until="2030-12")          # tables of one run
    ensemble = sim.run_ensemble("baseline", reps=10)       # ... of ten seeded runs
    saved = sim.load_results("results/baseline-20261129T120000Z")
    figure = sim.draw("trajectories", saved)               # a matplotlib Figure

The package is layered; each layer imports only the ones before it:
``sim.inputs`` (schema, profiles, scenario files, errors) -> ``sim.model`` (rules, persons,
agents, the Mesa model) -> ``sim.experiments`` (runs, ensembles, sweeps, validation,
calibration) -> ``sim.results`` (saved results, bands, comparisons, figures, writing) ->
``sim.app`` (command line, dashboard). Names are imported on first use, so ``import sim``
stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.experiments.runner import Result
    from sim.inputs.profile import Profile
    from sim.inputs.schema import ScenarioSpec
    from sim.model.model import MultivectorModel
    from sim.results.saved import Saved

__all__ = [
    "MultivectorModel",
    "ScenarioError",
    "ScenarioSpec",
    "__version__",
    "build",
    "draw",
    "load_profile",
    "load_results",
    "load_scenario",
    "run",
    "run_ensemble",
    "shipped_scenarios",
]

_LAZY = {
    "MultivectorModel": "sim.model.model",
    "ScenarioError": "sim.inputs.errors",
    "ScenarioSpec": "sim.inputs.schema",
    "shipped_scenarios": "sim.inputs.scenario",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read on first use: importlib.metadata costs 0.2 s a start
        from sim.experiments.provenance import package_version

        return package_version()
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def _overrides(parameters: dict[str, Any]) -> dict[str, Any]:
    """Keyword parameters (``state__balance_strength``) as dotted paths."""
    from sim.inputs.assignments import keyword_overrides

    return keyword_overrides(parameters)


def load_scenario(scenario: str | Path | None = None, **parameters: Any) -> ScenarioSpec:
    """A validated scenario: a shipped name or a file (default: the baseline), with any
    parameter set by keyword (``state__balance_strength=1.5``). Raises ScenarioError naming
    every problem."""
    from sim.inputs.scenario import load_scenario as load

    return load(scenario, _overrides(parameters))


def load_profile(name: str) -> Profile:
    """A shipped country profile by name (``kazakhstan``)."""
    from sim.inputs.scenario import profile_for

    return profile_for(name)


def build(
    scenario: str | Path | None = None,
    *,
    seed: int | None = None,
    until: str | None = None,
    **parameters: Any,
) -> MultivectorModel:
    """A model of a scenario, ready to step: load, check and build in one call.

    Args:
        scenario: a shipped scenario's name or a scenario file (default: the baseline).
        seed: root seed (default: the scenario's ``run.seed``).
        until: the last month to run (``YYYY-MM``), if before the scenario's end.
        **parameters: any parameter by its path with ``__`` for the dots.
    """
    from sim.inputs.scenario import load_with_profile
    from sim.model.model import MultivectorModel

    spec, profile, _ = load_with_profile(scenario, _overrides(parameters))
    return MultivectorModel(spec, profile, seed=seed, until=until)


def run(
    scenario: str | Path | None = None,
    *,
    until: str | None = None,
    snapshots: list[str] | None = None,
    **parameters: Any,
) -> Result:
    """Run a scenario to ``until`` (default: its end): its tables (``timeseries``,
    ``groups``, ``channels``) and person-level ``snapshots`` at the months asked for."""
    from sim.experiments import runner

    request = runner.plan(
        scenario, overrides=_overrides(parameters), until=until, snapshots=snapshots
    )
    return runner.execute(request)


def run_ensemble(
    scenario: str | Path | None = None,
    reps: int = 10,
    *,
    workers: int | None = None,
    until: str | None = None,
    snapshots: list[str] | None = None,
    **parameters: Any,
) -> Result:
    """``reps`` runs of a scenario, seeded from one root seed, on ``workers`` processes
    (default: every core); the tables, and the person-level ``snapshots`` at the months
    asked for, gain a ``run`` column."""
    from sim.experiments import ensemble, runner

    request = runner.plan(
        scenario, overrides=_overrides(parameters), until=until, snapshots=snapshots
    )
    return ensemble.run_ensemble(request, reps, workers)


def load_results(source: str | Path | MultivectorModel | Result) -> Saved:
    """Results to plot or compare: a results folder written by ``multivector run``, a model
    that has run, or the result of :func:`run` or :func:`run_ensemble`."""
    from sim.experiments.runner import Result
    from sim.model.model import MultivectorModel
    from sim.results import saved

    if isinstance(source, MultivectorModel):
        return saved.from_model(source)
    if isinstance(source, Result):
        return saved.from_result(source)
    return saved.load(source)


def draw(
    kind: str, results: Saved, *, at: str | None = None, path: str | Path | None = None
) -> Figure:
    """A figure of results (``trajectories``, ``alignment``, ``balance``, ``groups``,
    ``channels`` or ``changes``: the last needs results with two snapshot dates), saved to
    ``path`` too when one is given. ``at``: a month to mark."""
    from sim.results import plots

    if kind not in plots.FIGURES:
        raise ValueError(f"unknown figure {kind!r}; kinds: {', '.join(plots.FIGURES)}")
    figure = plots.FIGURES[kind](results, at)
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
