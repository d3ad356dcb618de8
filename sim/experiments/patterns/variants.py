"""The runs validation needs: variants of the shipped scenarios (overrides, transforms), run
on every seed with person-level probes at chosen months."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.inputs.schema import CHANNELS, RampEvent, ScenarioSpec, SetEvent

# --- runs -----------------------------------------------------------------------------------


def double_china(spec: ScenarioSpec) -> ScenarioSpec:
    """China's effort doubled in every channel, from the start and in its ramps, with the
    capacity to carry it (P4: "doubling China's effort")."""
    return scale_effort(spec, "China", 2.0)


def double_western_grants(spec: ScenarioSpec) -> ScenarioSpec:
    """Western NGO grants doubled, capacity raised by the same amount (P9)."""
    return scale_effort(spec, "West", 2.0, channels=("grants",))


def scale_effort(
    spec: ScenarioSpec, power: str, factor: float, channels: tuple[str, ...] = CHANNELS
) -> ScenarioSpec:
    """A copy of ``spec`` in which ``power`` spends ``factor`` times its effort on ``channels``
    at every moment: the initial effort, and every set or ramp of those efforts."""
    out = spec.model_copy(deep=True)
    target = out.powers[power]
    before = sum(getattr(target.effort, c) for c in channels)
    for channel in channels:
        setattr(target.effort, channel, getattr(target.effort, channel) * factor)
    target.capacity += before * (factor - 1.0)
    paths = {f"powers.{power}.effort.{c}" for c in channels}
    for event in out.events:
        if isinstance(event, SetEvent | RampEvent) and event.path in paths:
            event.value *= factor
    return out


TRANSFORMS: dict[str, Callable[[ScenarioSpec], ScenarioSpec]] = {
    "double_china": double_china,
    "double_western_grants": double_western_grants,
}


@dataclass(frozen=True)
class Variant:
    """One setting to run on every seed: a shipped scenario, overrides, a named transform."""

    scenario: str
    overrides: tuple[tuple[str, Any], ...] = ()
    transform: str | None = None


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("baseline"),
    "post2022": Variant("post2022_russia_weakening"),
    "hostile": Variant("hostile_russian_rhetoric"),
    "identity_first": Variant("national_identity_first"),
    "disengagement": Variant("western_disengagement"),
    "disengagement_no_ties": Variant("western_disengagement", (("persuasion.ties_bonus", 0.0),)),
    "reengagement": Variant("western_reengagement"),
    "charm": Variant("china_charm_offensive"),
    "turkey_rising": Variant("turkey_rising"),
    "no_balancing": Variant("no_multivector_balancing"),
    "russia_collapse": Variant("russia_collapse"),
    "kyrgyzstan": Variant("kyrgyzstan_baseline"),
    "no_demography": Variant("baseline", (("mechanisms.demography", False),)),
    "post2022_unframed": Variant("post2022_russia_weakening", (("mechanisms.framing", False),)),
    "post2022_independent": Variant(
        "post2022_russia_weakening", (("mechanisms.comparison", False),)
    ),
    "china_doubled": Variant("baseline", transform="double_china"),
    "open": Variant("baseline", (("state.screening", 0.0),)),
    "open_grants": Variant("baseline", (("state.screening", 0.0),), "double_western_grants"),
    "screened": Variant("baseline", (("state.screening", 0.6),)),
    "screened_grants": Variant("baseline", (("state.screening", 0.6),), "double_western_grants"),
}
"""Every run the checks use, by name."""

BALANCED = (
    "baseline",
    "post2022",
    "hostile",
    "identity_first",
    "disengagement",
    "reengagement",
    "charm",
    "turkey_rising",
    "russia_collapse",
)
"""The shipped scenarios with balancing on (P4 and P7 hold in every one of them)."""

SPEAKS = {"ru": 0.837, "kk": 0.801, "en": 0.351}  # 2021 census, languages spoken
"""Languages whose spoken shares are probed (census target T3)."""

PROBE_DATES = ("2015-01", "2015-12", "2019-12", "2021-12", "2023-06")
"""Months at which person-level measures are taken (the run's last month too)."""


@dataclass
class VariantRun:
    """One variant on one seed: its monthly table and person-level probes by month."""

    timeseries: pd.DataFrame
    groups: pd.DataFrame
    probes: dict[str, dict[str, np.ndarray]]
    powers: list[str]
    threshold: float
    profile: str
    survey: tuple[float, float]  # the change question's tolerance and answer spread
    ethnicities: tuple[str, ...] = ()  # the profile's ethnic groups, in the probes' order


def build(variant: Variant, population: int | None, perturb: tuple[float, int, int] | None = None):
    """The scenario and profile of a variant, overrides and transform applied, and with
    ``perturb`` = (fraction, replicate, root seed) its parameters jittered
    (:func:`jittered`)."""
    from sim.inputs.scenario import load_with_profile

    overrides = dict(variant.overrides)
    if population is not None:
        overrides["run.population"] = population
    spec, profile, _ = load_with_profile(variant.scenario, overrides)
    if perturb is not None and perturb[0] > 0:
        overrides |= jittered(spec, *perturb)
        spec, profile, _ = load_with_profile(variant.scenario, overrides)
    if variant.transform:
        spec = TRANSFORMS[variant.transform](spec)
    return spec, profile


def with_overrides(names: list[str], overrides: dict[str, Any]) -> dict[str, Variant]:
    """The named variants with ``overrides`` set in every run, a variant's own settings
    winning (a check that sets a parameter compares that setting); each is loaded once here,
    so that a bad path or value is refused before any run (``ScenarioError``)."""
    from sim.inputs.scenario import load_with_profile

    out = {}
    for name in names:
        variant = VARIANTS[name]
        own = dict(variant.overrides)
        extra = tuple((path, value) for path, value in overrides.items() if path not in own)
        out[name] = replace(variant, overrides=extra + variant.overrides)
        if extra:
            load_with_profile(variant.scenario, dict(out[name].overrides))
    return out


PERTURB_KEY = 0x6A6974
"""Spawn key of the jitter's draws ("jit"), apart from every run's streams."""


def jittered(spec: ScenarioSpec, fraction: float, replicate: int, seed: int) -> dict[str, Any]:
    """Overrides that multiply every lever and uncertainty of a scenario (every parameter
    but the run's settings and the switches) by 1 + u, u uniform in [-fraction, fraction],
    clipped to its bounds and rounded where it counts something. A path's u depends only on
    the path, the replicate and the root seed, so every scenario run on one replicate is
    jittered alike and their comparisons stay paired (docs/validation.md, "Perturbed")."""
    from sim.inputs.schema import bounds, get_value, numeric_leaves, resolve

    out: dict[str, Any] = {}
    for path in numeric_leaves(spec, ("lever", "uncertainty")):
        key = (PERTURB_KEY, seed, replicate, zlib.crc32(path.encode()))
        u = np.random.default_rng(np.random.SeedSequence(key)).uniform(-fraction, fraction)
        _, _, info = resolve(spec, path)
        low, high = bounds(info)
        value = min(max(get_value(spec, path) * (1.0 + u), low), high)
        out[path] = round(value) if info.annotation is int else value
    return out


def run_variant(
    variant: Variant,
    replicate: int,
    population: int | None = None,
    until: str | None = None,
    seed: int | None = None,
    perturb: float = 0.0,
) -> VariantRun:
    """Run one variant for replicate ``replicate``, probing at :data:`PROBE_DATES`, with
    its parameters jittered by up to ``perturb`` (a fraction, :func:`jittered`)."""
    from sim.model.model import MultivectorModel

    spec, profile = build(variant, population, (perturb, replicate, seed or 0))
    model = MultivectorModel(spec, profile, until=until, replicate=replicate, seed=seed)
    probes = {}
    for date in (*PROBE_DATES, model.params.run.end if until is None else until):
        if date < model.date:
            continue
        model.run_to(date)
        probes[model.date] = probe(model)
    model.run_to()
    return VariantRun(
        model.timeseries(),
        model.groups(),
        probes,
        model.powers,
        model.params.state.dominance_threshold,
        model.params.run.profile,
        (model.params.survey.change_tolerance, model.params.survey.spread),
        tuple(model.public.persons.labels["ethnicity"]),
    )


def probe(model) -> dict[str, np.ndarray]:
    """Person-level measures now: group attraction (P2), channel reach and the media aired
    (T4, T5, P14), census."""
    from sim.model import measures, survey

    pop = model.public.persons
    strong = russian_speakers = np.zeros(pop.size, bool)  # another country: P2 is Kazakh
    if "Kazakh" in pop.labels["ethnicity"]:
        kazakh = pop.ethnicity == pop.labels["ethnicity"].index("Kazakh")
        strong = kazakh & (pop.identity > np.median(pop.identity[kazakh]))
    if "ru" in pop.labels["language"]:
        russian_speakers = pop.language == pop.labels["language"].index("ru")
    languages = model.profile.languages
    s = model.params.survey
    attraction = pop.attraction.astype(np.float64)  # held in single precision
    answers = survey.favourable(attraction, s.favourable_cut, s.spread)
    bands = np.arange(len(pop.labels["age"]))
    outlets = list(model.profile.outlets)
    return {
        "person_id": pop.person_id.copy(),
        "attraction_now": pop.attraction.astype(np.float32),
        "state_tv_only": _only(pop.follows, outlets, "russian_tv"),
        "independent": _any(pop.follows, outlets, ("independent", "western")),
        "age_band": pop.age.copy(),
        "soviet_share": np.array([np.mean(pop.cohort == 0)]),
        "favourable_by_age": np.array([answers[pop.age == b].mean(axis=0) for b in bands]),
        "favourable_by_ethnicity": _group_means(
            answers, pop.ethnicity, len(pop.labels["ethnicity"])
        ),
        "attraction": attraction.mean(axis=0),
        "kazakh_strong_identity": measures.column_mean(attraction, strong),
        "russian_speakers": measures.column_mean(attraction, russian_speakers),
        "reach": measures.channel_reach(model),
        "aired_media": measures.aired_shares(model, "media"),
        "ethnic_shares": np.bincount(pop.ethnicity, minlength=len(pop.labels["ethnicity"]))
        / pop.size,
        "speaks": np.array(
            [
                pop.speaks[:, languages.index(lang)].mean() if lang in languages else np.nan
                for lang in SPEAKS
            ]
        ),
    }


def _group_means(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Mean of each column of ``values`` over the persons of each group (groups, columns);
    NaN for a group with nobody in it (no warning: a small run may lack a group)."""
    counts = np.bincount(group, minlength=groups)
    sums = np.zeros((groups, values.shape[1]))
    np.add.at(sums, group, values)
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)


def _only(follows, outlets: list[str], name: str) -> np.ndarray:
    """Persons whose only followed outlet is ``name`` (none if the profile lacks it)."""
    if name not in outlets:
        return np.zeros(follows.shape[0], bool)
    column = outlets.index(name)
    return follows[:, column] & (follows.sum(axis=1) == 1)


def _any(follows, outlets: list[str], names: tuple[str, ...]) -> np.ndarray:
    """Persons who follow any of ``names``."""
    columns = [outlets.index(n) for n in names if n in outlets]
    return follows[:, columns].any(axis=1) if columns else np.zeros(follows.shape[0], bool)


# --- ensembles ------------------------------------------------------------------------------


@dataclass
class Runs:
    """Every variant's runs, by variant name, in seed order."""

    by_variant: dict[str, list[VariantRun]]

    def __getitem__(self, name: str) -> list[VariantRun]:
        return self.by_variant[name]

    def series(self, variant: str, measure: str, power: str | None = None) -> np.ndarray:
        """(seeds, months) array of a measure (one power's, or a state measure)."""
        rows = []
        for run in self[variant]:
            ts = run.timeseries
            ts = ts[ts["power"] == power] if power is not None else ts.drop_duplicates("date")
            rows.append(ts[measure].to_numpy(dtype=float))
        return np.array(rows)

    def dates(self, variant: str) -> np.ndarray:
        ts = self[variant][0].timeseries
        return ts["date"].drop_duplicates().to_numpy()

    def mean(
        self, variant: str, measure: str, power: str | None, first: str, last: str
    ) -> np.ndarray:
        """Per seed: the mean of a measure over the months ``first`` to ``last``."""
        dates = self.dates(variant)
        window = (dates >= first) & (dates <= last)
        return self.series(variant, measure, power)[:, window].mean(axis=1)

    def probed(self, variant: str, date: str, key: str) -> np.ndarray:
        """Per seed: a probe's value at a month (seeds first)."""
        return np.array([run.probes[date][key] for run in self[variant]])


def run_all(
    names: list[str],
    seeds: int,
    population: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    until: str | None = None,
    seed: int | None = None,
    variants: dict[str, Variant] | None = None,
    perturb: float = 0.0,
) -> Runs:
    """Run the named variants on ``seeds`` replicates each, on ``workers`` processes; with
    ``perturb``, each replicate's parameters jittered by up to that fraction."""
    from sim.experiments.ensemble import run_tasks

    table = variants or VARIANTS
    tasks = [(name, rep) for name in names for rep in range(seeds)]
    arguments = [(table[name], rep, population, until, seed, perturb) for name, rep in tasks]
    results = run_tasks(run_variant, arguments, workers, progress)
    done = dict(zip(tasks, results, strict=True))
    return Runs({name: [done[name, rep] for rep in range(seeds)] for name in names})
