"""Calibration: fit the free parameters to the calibration targets of the facts file.

Method (``docs/calibration.md``): bounded Nelder-Mead (Nelder & Mead 1965; scipy's
implementation) over the free parameters rescaled to [0, 1], minimising the sum of squared
standardised residuals ``((measured - target) / band)^2`` of the ensemble means. Every
evaluation runs the same seeds (common random numbers), so the objective is a deterministic
function of the parameters and the simplex search is not misled by sampling noise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from sim.experiments import patterns
from sim.inputs.schema import CHANNELS
from sim.inputs.surveys import figure


@dataclass(frozen=True)
class Free:
    """A free parameter: its dotted path, bounds, and why it is free."""

    path: str
    low: float
    high: float
    reason: str


FREE: tuple[Free, ...] = (
    Free("powers.Russia.efficiency", 0.2, 1.0, "study §5.2 says 'not efficient'; no figure"),
    Free("powers.West.efficiency", 0.2, 1.0, "no source gives it"),
    Free(
        "powers.China.stereotype",
        0.15,
        0.6,
        "study §5.3: 'strong stereotypes' toward China, so bounded away from zero",
    ),
    Free("powers.West.stereotype", 0.0, 0.6, "study §5.1: some liberal values are rejected"),
    Free(
        "powers.West.languages.ru",
        0.1,
        0.9,
        "share of Western content in Russian (BBC, RFE/RL, Euronews); no figure",
    ),
    Free(
        "powers.West.presence.media",
        0.05,
        0.3,
        "the 74 of 276 broadcasters not in Russian are shared by the rest; no split given",
    ),
    Free("persuasion.idiosyncrasy", 0.05, 0.3, "spread of personal attraction; no source"),
    Free(
        "population.cohort_effect",
        0.0,
        3.0,
        "how far schooling eras shift liberal values; only the age gradient can tell",
    ),
    Free(
        "survey.favourable_cut",
        0.2,
        0.8,
        "where a latent attraction turns into a 'favourable' answer; only polls can tell",
    ),
    Free(
        "survey.approval_cut",
        0.2,
        0.9,
        "where it turns into approval of a leadership; only polls can tell",
    ),
)
"""The parameters calibration may move. Every other parameter keeps its cited value.

China's efficiency is not among them: the targets see China only through its approval, which
its efficiency and its stereotype lower alike, so the fit slid along that ridge (0.28 to 0.79
at nearly equal loss) and P4 fails at its low end. It keeps the value of the last fit that
held it free (docs/calibration.md)."""


@dataclass(frozen=True)
class Target:
    """A calibration target: what is measured, its value, its band, where it comes from."""

    name: str
    value: float
    band: float
    source: str


AGE_GRADIENT = patterns.AGE_GRADIENT

COUNT_WEIGHT = 0.5
"""The reach targets are counts (students, broadcasters), not polls: the fit holds them to
half the band that validation allows, so that the fitted values sit well inside it."""

TARGETS: tuple[Target, ...] = (
    Target(
        "Russia favourable 2017-2019",
        *patterns.RUSSIA_FAVOURABLE,
        "Central Asia Barometer 2017-2019: 87 % favourable (facts: Attitudes)",
    ),
    Target(
        "Russia approval 2015-2019",
        figure("gallup_ca_avg_russia_approval_2006_2018", "fit").value,
        0.15,
        "Gallup 2006-2018, approval of Russia's leadership, Central Asian average 80 % "
        "(scenarios/data/kazakhstan_surveys.toml: gallup_ca_avg_russia_approval_2006_2018); "
        "a wide band: a regional average, not Kazakhstan's",
    ),
    Target(
        "China approval 2015-2019",
        figure("gallup_ca_avg_china_approval_2006_2018", "fit").value,
        0.15,
        "Gallup 2006-2018, approval of China's leadership, Central Asian average 46 % "
        "(gallup_ca_avg_china_approval_2006_2018); wide band as above",
    ),
    Target(
        "West approval 2015-2019",
        figure("gallup_ca_avg_us_approval_2006_2018", "fit").value,
        0.15,
        "Gallup 2006-2018, approval of US leadership, Central Asian average 30 % "
        "(gallup_ca_avg_us_approval_2006_2018); wide band as above",
    ),
    Target(
        "Russia favourable, 15-29 minus 60+, 2015",
        AGE_GRADIENT[0],
        AGE_GRADIENT[1],
        "EDB Integration Barometer 2015: Kazakhstan's EAEU membership positive for 83 % of "
        "those aged 18-34 and 76 % of those 55+ (edb_eaeu_positive_age18_34_2015, "
        "edb_eaeu_positive_age55plus_2015); a wide band: the union, not Russia itself",
    ),
    Target(
        "Russia's share of education reach 2019",
        patterns.EDUCATION_RUSSIA[0],
        COUNT_WEIGHT * patterns.EDUCATION_RUSSIA[1],
        "UNESCO UIS: 71,368 of 90,333 Kazakh students abroad study in Russia (facts)",
    ),
    Target(
        "Russia's share of media reach 2019",
        patterns.MEDIA_RUSSIA[0],
        COUNT_WEIGHT * patterns.MEDIA_RUSSIA[1],
        "202 of 276 foreign broadcasters aired in Kazakhstan are in Russian (facts)",
    ),
)

END = "2019-12"


def measure(runs: patterns.Runs) -> np.ndarray:
    """The ensemble means of the targets' measures, in the order of :data:`TARGETS`."""
    approval = {
        p: runs.mean("fit", "approval", p, *patterns.TENS).mean()
        for p in ("Russia", "China", "West")
    }
    russia = runs["fit"][0].powers.index("Russia")
    reach = runs.probed("fit", END, "reach").mean(axis=0)
    return np.array(
        [
            runs.mean("fit", "favourable", "Russia", *patterns.POLL).mean(),
            approval["Russia"],
            approval["China"],
            approval["West"],
            patterns.age_gradient(runs, "fit", "Russia").mean(),
            reach[russia, CHANNELS.index("education")],
            reach[russia, CHANNELS.index("media")],
        ]
    )


def loss(measured: np.ndarray) -> float:
    target = np.array([t.value for t in TARGETS])
    band = np.array([t.band for t in TARGETS])
    return float(np.sum(((measured - target) / band) ** 2))


def to_values(unit: np.ndarray) -> dict[str, float]:
    """Parameter values from a point of the unit cube."""
    return {
        f.path: round(float(f.low + np.clip(u, 0, 1) * (f.high - f.low)), 4)
        for f, u in zip(FREE, unit, strict=True)
    }


def to_unit(values: dict[str, float]) -> np.ndarray:
    return np.array([(values[f.path] - f.low) / (f.high - f.low) for f in FREE])


def current(scenario: str = "baseline") -> dict[str, float]:
    """The free parameters' values in a shipped scenario (the starting point)."""
    from sim.inputs.scenario import load_with_profile
    from sim.inputs.schema import get_value

    spec, _, _ = load_with_profile(scenario)
    return {f.path: float(get_value(spec, f.path)) for f in FREE}


@dataclass
class Fit:
    start: dict[str, float]
    fitted: dict[str, float]
    residuals: pd.DataFrame
    history: pd.DataFrame
    evaluations: int
    loss: float


def calibrate(
    scenario: str = "baseline",
    seeds: int = 3,
    population: int = 4000,
    max_evaluations: int = 150,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    start: dict[str, float] | None = None,
) -> Fit:
    """Fit :data:`FREE` to :data:`TARGETS` from ``start`` (default: the scenario's values)."""
    start = start or current(scenario)
    history: list[dict] = []
    workers = min(seeds, workers or os.cpu_count() or 1)

    with _pool(workers) as pool:

        def evaluate(values: dict[str, float]) -> np.ndarray:
            variant = patterns.Variant(scenario, tuple(values.items()))
            args = [(variant, rep, population, END) for rep in range(seeds)]
            if pool is None:
                runs = [patterns.run_variant(*a) for a in args]
            else:
                runs = list(pool.map(patterns.run_variant, *zip(*args, strict=True)))
            return measure(patterns.Runs({"fit": runs}))

        def objective(unit: np.ndarray) -> float:
            values = to_values(unit)
            value = loss(evaluate(values))
            history.append({**values, "loss": value})
            if progress:
                progress(len(history), max_evaluations)
            return value

        x0 = np.clip(to_unit(start), 0, 1)
        simplex = np.vstack([x0] + [_step(x0, k) for k in range(len(FREE))])
        minimize(
            objective,
            x0,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * len(FREE),
            options={
                "initial_simplex": simplex,
                "maxfev": max_evaluations,
                "xatol": 0.01,
                "fatol": 0.01,
            },
        )
        table = pd.DataFrame(history)
        best = table.loc[table["loss"].idxmin()]
        fitted = {f.path: float(best[f.path]) for f in FREE}
        measured = evaluate(fitted)
    residuals = pd.DataFrame(
        {
            "target": [t.name for t in TARGETS],
            "value": [t.value for t in TARGETS],
            "band": [t.band for t in TARGETS],
            "measured": measured,
            "residual": measured - np.array([t.value for t in TARGETS]),
            "source": [t.source for t in TARGETS],
        }
    )
    return Fit(start, fitted, residuals, table, len(history), float(best["loss"]))


STEP = 0.1
"""Initial simplex edge in the unit cube: a tenth of each parameter's range."""


def _step(x0: np.ndarray, k: int) -> np.ndarray:
    out = x0.copy()
    out[k] = x0[k] + STEP if x0[k] + STEP <= 1 else x0[k] - STEP
    return out


@contextmanager
def _pool(workers: int) -> Iterator[Executor | None]:
    """A process pool for the seeds of one evaluation, or none for a single worker."""
    from sim.experiments.ensemble import process_pool

    if workers == 1:
        yield None
        return
    with process_pool(workers) as pool:
        yield pool


def fitted_toml(fit: Fit) -> str:
    """The fitted values as a TOML fragment to paste into a scenario (or ``extends`` it)."""
    lines = ["# Fitted by `multivector calibrate` (docs/calibration.md)."]
    by_table: dict[str, list[str]] = {}
    for path, value in fit.fitted.items():
        table, _, key = path.rpartition(".")
        by_table.setdefault(table, []).append(f"{key} = {value}")
    for table, entries in by_table.items():
        lines += ["", f"[{table}]", *entries]
    return "\n".join(lines) + "\n"
