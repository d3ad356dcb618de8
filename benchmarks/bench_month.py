"""Where a month's fixed cost goes: each stage of a month, timed. Prints figures; asserts
nothing.

    uv run python -m benchmarks.bench_month [--population 1000] [--months 200] [--rounds 5]

At 1,000 persons a month costs what it costs apart from its persons (the "fixed cost" that
``bench_limits`` prints beside its goal). This benchmark times each stage of
:meth:`MultivectorModel.step <sim.model.model.MultivectorModel.step>` on one model, over
``--months`` months after a year's warm-up, in ``--rounds`` rounds, and prints the fastest
and the median round of each stage, a month's share of each, and the number of Python-level
calls a month makes (counted with cProfile in a round of its own; counted, not timed). The
stages are timed by wrapping the model's own methods, which adds well under a microsecond a
stage; "the rest" is the month less its stages: Mesa's step and event list, the powers'
signals, the state's screening and promotion as the step asks for them. In rounds of
their own, it splits the month in three: the compiled passes (their work and the calls into
them; the table's "compiled" column, by stage), Mesa's step around the model's, and the
model's Python, the rest.

It then times what handing a random stream to a compiled pass costs, as a
``numpy.random.Generator`` and as its handle (:mod:`sim.model.streams`), warm and with the
processor's caches flushed, as within a month.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable
from contextlib import contextmanager

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the command line sets it

import numba
import numpy as np

from sim.inputs.scenario import load_with_profile
from sim.inputs.schema import month_index, month_name
from sim.model import model as model_module
from sim.model import rules
from sim.model.agents import Power
from sim.model.model import MultivectorModel
from sim.model.streams import handle

STAGES = (
    ("events", "the scenario's events applied, then measured"),
    ("emission", "the powers' signals"),
    ("flows", "students abroad"),
    ("update", "the public's update: exposure, news, the compiled pass, the sums"),
    ("renewal", "ageing, leavers and newcomers"),
    ("advice", "the state's assessment and the officials' reports"),
    ("policy", "the state's alignment and counter-measures"),
    ("adaptation", "the powers' yearly reallocation (December)"),
    ("records", "the DataCollector's reporters and the tables' months"),
)
"""The stages of a month, in the order of the step."""


def _timed(
    spent: dict[str, float], stage: str, function: Callable, current: list | None = None
) -> Callable:
    """``function``, adding the time of each call to ``spent[stage]``; with ``current``,
    ``current[0]`` names the stage while the call runs."""

    def timed(*arguments, **options):
        if current is not None:
            outer, current[0] = current[0], stage
        start = time.perf_counter()
        try:
            return function(*arguments, **options)
        finally:
            spent[stage] += time.perf_counter() - start
            if current is not None:
                current[0] = outer

    return timed


def baseline(population: int, months: int) -> MultivectorModel:
    """The baseline at ``population`` persons, running at least ``months`` months."""
    scenario, profile, _ = load_with_profile("baseline", {"run.population": population})
    end = month_name(max(month_index(scenario.run.end), month_index(scenario.run.start) + months))
    scenario, profile, _ = load_with_profile(
        "baseline", {"run.population": population, "run.end": end}
    )
    return MultivectorModel(scenario, profile)


def instrumented(
    population: int, months: int, current: list | None = None
) -> tuple[MultivectorModel, dict[str, float]]:
    """A model of the baseline at ``population`` persons, running at least ``months``
    months, whose stages add their time to the returned dict (seconds, by stage of
    :data:`STAGES`; with ``current``, ``current[0]`` names the stage running). Emission,
    and each power's ``adapt``, are timed by :func:`staged`."""
    model = baseline(population, months)
    spent = dict.fromkeys((name for name, _ in STAGES), 0.0)
    for stage, owner, name in (
        ("events", model.events, "apply_due"),
        ("events", model.events, "measure"),
        ("flows", model, "_record_flows"),
        ("update", model.public, "update"),
        ("renewal", model.public, "renew"),
        ("advice", model, "_advise"),
        ("policy", model.state, "set_policy"),
        ("adaptation", model, "channel_values"),
        ("records", model, "_collect"),
    ):
        setattr(owner, name, _timed(spent, stage, getattr(owner, name), current))
    return model, spent


@contextmanager
def staged(population: int, months: int, current: list | None = None):
    """:func:`instrumented`'s model and dict, emission timed through the model module's
    ``emit``, which the step calls, and adaptation also as each power's ``adapt``, until
    the block ends; after a year's warm-up."""
    model, spent = instrumented(population, 12 + months, current)
    emit, adapt = model_module.emit, Power.adapt
    model_module.emit = _timed(spent, "emission", emit, current)
    Power.adapt = _timed(spent, "adaptation", adapt, current)
    try:
        for _ in range(12):
            model.step()
        yield model, spent
    finally:
        model_module.emit, Power.adapt = emit, adapt


def _rounds(model: MultivectorModel, spent: dict, months: int, rounds: int):
    """``rounds`` rounds of ``months`` months of ``model``, ``spent``'s counts set to 0
    before each: yields, for each, the seconds a month and ``spent``'s counts a month."""
    for _ in range(rounds):
        for key in spent:
            spent[key] = 0.0
        start = time.perf_counter()
        for _ in range(months):
            model.step()
        seconds = time.perf_counter() - start
        yield seconds / months, {key: value / months for key, value in spent.items()}


def month_stages(population: int = 1000, months: int = 200, rounds: int = 5) -> dict:
    """Seconds a month of each stage and of the whole month, in each round (lists, by stage;
    ``"month"`` the whole), after a year's warm-up (:func:`staged`)."""
    with staged(population, months * rounds) as (model, spent):
        out: dict[str, list[float]] = {name: [] for name in (*spent, "month")}
        for month, per_month in _rounds(model, spent, months, rounds):
            out["month"].append(month)
            for stage, seconds in per_month.items():
                out[stage].append(seconds)
    return out


def calls_a_month(population: int = 1000, months: int = 100) -> float:
    """Python-level calls a month makes (functions, methods and built-ins), counted."""
    model = baseline(population, 12 + months)
    for _ in range(12):
        model.step()
    profile_run = cProfile.Profile()
    profile_run.enable()
    for _ in range(months):
        model.step()
    profile_run.disable()
    stats = pstats.Stats(profile_run).stats  # type: ignore[attr-defined]
    return sum(calls for _, calls, _, _, _ in stats.values()) / months


def compiled_share(population: int = 1000, months: int = 200, rounds: int = 5) -> dict:
    """Where a month goes, in three parts, by round (seconds a month, lists, by key): the
    compiled passes the month's Python calls from this thread (``"compiled"``: their work
    and their calls, each call timed by a wrapper, which adds well under a microsecond),
    Mesa's own step around the model's (``"mesa"``: its event list and clock), and the
    whole ``"month"``; with ``"calls"``, this thread's compiled calls a month, the compiled
    passes of each stage of :data:`STAGES` by its name (the stage running when the call
    began; ``"the rest"``: those of no stage), and ``"other threads"``, the passes that ran
    on other threads (from 5,000 persons: the parts of a pass split between threads, and
    next month's exposure drawn ahead; they overlap this thread's time). The rest of the
    month is the model's Python, the wrappers' calls included, and, where passes ran on
    other threads, this thread's waits for them.

    Run it once the same months have run in the process (:func:`main` runs
    :func:`month_stages` first): numba resolves a compiled pass's globals when it compiles
    it, and a pass compiled for the first time while the passes are wrapped would find a
    wrapper among them and fail."""
    current: list[str | None] = [None]
    modules = [module for name, module in sys.modules.items() if name.startswith("sim.")]
    passes = {
        id(value): value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, numba.core.registry.CPUDispatcher)
    }
    stages = [name for name, _ in STAGES]
    kinds = (*stages, "the rest", "other threads")
    spent = dict.fromkeys((*kinds, "calls", "model"), 0.0)
    lock, main_thread = threading.Lock(), threading.get_ident()

    def timed_pass(function: Callable) -> Callable:
        def timed(*arguments, **options):
            here = threading.get_ident() == main_thread
            kind = (current[0] or "the rest") if here else "other threads"
            start = time.perf_counter()
            try:
                return function(*arguments, **options)
            finally:
                with lock:
                    spent[kind] += time.perf_counter() - start
                    spent["calls"] += here

        return timed

    wrappers = {key: timed_pass(function) for key, function in passes.items()}
    patched = [
        (module, name, value)
        for module in modules
        for name, value in list(vars(module).items())
        if id(value) in wrappers
    ]
    keys = ("compiled", "mesa", "month", "calls", *kinds)
    out: dict[str, list[float]] = {key: [] for key in keys}
    with staged(population, months * rounds, current) as (model, _):
        own_step = model._user_step  # what Mesa's step calls: the model's own

        def timed_step() -> None:
            start = time.perf_counter()
            try:
                own_step()
            finally:
                spent["model"] += time.perf_counter() - start

        try:
            for module, name, value in patched:
                setattr(module, name, wrappers[id(value)])
            model._user_step = timed_step
            for month, per_month in _rounds(model, spent, months, rounds):
                out["month"].append(month)
                out["mesa"].append(month - per_month["model"])
                out["calls"].append(per_month["calls"])
                for kind in kinds:
                    out[kind].append(per_month[kind])
                out["compiled"].append(sum(per_month[s] for s in (*stages, "the rest")))
        finally:
            for module, name, value in patched:
                setattr(module, name, value)
            model._user_step = own_step
    return out


@numba.njit(cache=True)
def _one_draw(rng):
    return rng.random()


@numba.njit(cache=True)
def _one_draw_by_handle(stream):
    return rules.generator(stream).random()


def stream_handoff(calls: int = 2000, rounds: int = 5) -> dict[str, tuple[float, float]]:
    """Seconds a call of a compiled pass that draws one number, handed the stream as a
    ``numpy.random.Generator`` (numba reads it through Python's ctypes) or as its handle
    (:mod:`sim.model.streams`): ``"warm"``, the fastest of ``rounds`` loops of ``calls``
    calls, and ``"cold"``, the median of ``calls`` calls each after 16 MiB are summed, which
    pushes the code out of the processor's caches as the rest of a month does. By key:
    (Generator, handle)."""
    rng = np.random.default_rng(0)
    stream = handle(rng)
    flush = np.ones(2 * 1024 * 1024)
    out = {}
    for label, call in (
        ("Generator", lambda: _one_draw(rng)),
        ("handle", lambda: _one_draw_by_handle(stream)),
    ):
        call()  # compiled, or loaded from the cache
        warm = min(timeit.repeat(call, number=calls, repeat=rounds)) / calls
        cold = []
        for _ in range(calls // 10):
            flush.sum()
            start = time.perf_counter()
            call()
            cold.append(time.perf_counter() - start)
        out[label] = (warm, statistics.median(cold))
    return {
        kind: (out["Generator"][k], out["handle"][k]) for k, kind in enumerate(("warm", "cold"))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--months", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    times = month_stages(options.population, options.months, options.rounds)
    parts = compiled_share(options.population, options.months, options.rounds)
    compiled = {key: statistics.median(values) for key, values in parts.items()}
    month = min(times["month"])
    print(
        f"a month at {options.population:,} persons: {month * 1e3:.3f} ms "
        f"(median {statistics.median(times['month']) * 1e3:.3f}; "
        f"{options.rounds} rounds of {options.months} months)"
    )
    print(f"{'stage':<12}{'fastest':>10}{'median':>10}{'share':>8}{'compiled':>11}  what")
    rest = [m - sum(times[s][k] for s, _ in STAGES) for k, m in enumerate(times["month"])]
    for stage, what in (*STAGES, ("the rest", "Mesa's step, signals, screening, promotion")):
        values = rest if stage == "the rest" else times[stage]
        fastest = min(values)
        print(
            f"{stage:<12}{fastest * 1e6:>8.0f} µs{statistics.median(values) * 1e6:>7.0f} µs"
            f"{statistics.median(values) / statistics.median(times['month']):>8.0%}"
            f"{compiled[stage] * 1e6:>8.0f} µs  {what}"
        )
    print(f"Python-level calls a month: {calls_a_month(options.population):.0f}")
    python = compiled["month"] - compiled["compiled"] - compiled["mesa"]
    print(
        f"of a month (median of {options.rounds} more rounds, {compiled['month'] * 1e6:.0f} "
        f"µs): compiled passes {compiled['compiled'] * 1e6:.0f} µs in "
        f"{compiled['calls']:.1f} calls (their work and their calls; by stage above); "
        f"Mesa's step around the model's {compiled['mesa'] * 1e6:.0f} µs; the model's Python "
        f"{python * 1e6:.0f} µs"
    )
    if compiled["other threads"]:
        print(
            f"  and on other threads, side by side with these: compiled passes "
            f"{compiled['other threads'] * 1e6:.0f} µs a month (the model's Python above "
            "includes the waits for them)"
        )
    handoff = stream_handoff()
    print("a compiled pass handed a random stream, µs a call (Generator; its handle):")
    for kind, (by_generator, by_handle) in handoff.items():
        print(f"  {kind:<5} {by_generator * 1e6:6.1f} {by_handle * 1e6:6.1f}")


if __name__ == "__main__":
    main()
