"""The checks: patterns P1-P9 and the calibration targets, each measured on the runs of its
variants, with a threshold and a verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.experiments.patterns.variants import BALANCED, PROBE_DATES, SPEAKS, Runs
from sim.inputs.scenario import profile_for
from sim.inputs.schema import CHANNELS

# --- checks ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What a check measured, against what, and whether the claim holds."""

    measured: str
    threshold: str
    passed: bool
    values: dict[str, np.ndarray] = field(default_factory=dict)  # per seed, for the record


@dataclass(frozen=True)
class Check:
    """A pattern or calibration target: its claim, the runs it needs, how it is judged."""

    id: str
    claim: str
    variants: tuple[str, ...]
    evaluate: Callable[[Runs], Verdict]
    figure: tuple[str, str, tuple[str, ...], tuple[str, ...]]  # measure, label, variants, powers
    kind: str = "pattern"


PRE_WAR = ("2015-01", "2021-12")
LATE = ("2028-01", "2035-12")
END = "2035-12"
POLL = ("2017-01", "2019-12")  # Central Asia Barometer waves 2017-2019 (facts: Attitudes)
TENS = ("2015-01", "2019-12")  # the 2010s within the model's span


def _span(values: np.ndarray) -> str:
    return f"{values.mean():.3f} (seeds {values.min():.3f} to {values.max():.3f})"


def _others_max(runs: Runs, variant: str, measure: str, power: str, window) -> np.ndarray:
    powers = runs[variant][0].powers
    return np.max([runs.mean(variant, measure, p, *window) for p in powers if p != power], axis=0)


def p1(runs: Runs) -> Verdict:
    margins = {
        m: runs.mean("baseline", m, "Russia", *PRE_WAR)
        - _others_max(runs, "baseline", m, "Russia", PRE_WAR)
        for m in ("attraction", "alignment")
    }
    return Verdict(
        f"Russia's lead 2015-2021: attraction {_span(margins['attraction'])}, "
        f"alignment {_span(margins['alignment'])}",
        "lead > 0 in both, on every seed",
        all((v > 0).all() for v in margins.values()),
        margins,
    )


def p2(runs: Runs) -> Verdict:
    russia = runs["baseline"][0].powers.index("Russia")
    drops = {
        g: runs.probed("baseline", END, g)[:, russia] - runs.probed("hostile", END, g)[:, russia]
        for g in ("kazakh_strong_identity", "attraction", "russian_speakers")
    }
    strong, everyone, speakers = drops.values()
    return Verdict(
        f"fall of Russian attraction by {END}: Kazakhs with strong identity {_span(strong)}, "
        f"everyone {_span(everyone)}, Russian speakers {_span(speakers)}",
        "strong-identity Kazakhs > everyone > Russian speakers > 0, on every seed",
        bool(((strong > everyone) & (everyone > speakers) & (speakers > 0)).all()),
        drops,
    )


def p3(runs: Runs) -> Verdict:
    before = runs.mean("post2022", "alignment", "Russia", "2021-01", "2021-12")
    after = runs.mean("post2022", "alignment", "Russia", *LATE)
    dates = runs.dates("post2022")
    later = dates >= "2022-03"
    powers = runs["post2022"][0].powers
    shares = np.stack([runs.series("post2022", "alignment", p) for p in powers], axis=2)
    rank = (shares > shares[:, :, [powers.index("Russia")]]).sum(axis=2) + 1
    worst = rank[:, later].max(axis=1)
    vectors = runs.series("post2022", "effective_vectors")
    spread = vectors[:, later].min(axis=1) - vectors[:, dates == "2021-12"][:, 0]
    return Verdict(
        f"Russia's alignment 2021 -> 2028-35: {before.mean():.3f} -> {after.mean():.3f}; "
        f"its worst rank after 2022: {worst.max()}; effective vectors change "
        f"{_span(spread)}",
        "falls by > 0.01, ranks first or second, effective number does not fall, every seed",
        bool(((before - after > 0.01) & (worst <= 2) & (spread >= -1e-9)).all()),
        {"fall": before - after, "worst_rank": worst, "vectors_change": spread},
    )


def p4(runs: Runs) -> Verdict:
    gaps = np.array(
        [
            (
                runs.series(v, "elite_attraction", "China") - runs.series(v, "attraction", "China")
            ).min(axis=1)
            for v in BALANCED
        ]
    )  # (scenarios, seeds)
    base = runs.mean("baseline", "attraction", "China", *LATE)
    doubled = runs.mean("china_doubled", "attraction", "China", *LATE)
    elasticity = (doubled - base) / base  # relative rise per doubling (1 would be proportional)
    worst = gaps.min(axis=1)
    return Verdict(
        f"China's elite minus popular attraction, lowest month: {worst.min():.3f} "
        f"(over {len(BALANCED)} scenarios); doubling effort raises popular attraction by "
        f"{100 * elasticity.mean():.1f} % (seeds {100 * elasticity.min():.1f} to "
        f"{100 * elasticity.max():.1f})",
        "elite > popular at every month of every scenario; rise < 50 % of proportional",
        bool((gaps > 0).all() and (elasticity < 0.5).all() and (elasticity > 0).all()),
        {"elite_gap": gaps.min(axis=0), "elasticity": elasticity},
    )


def p5(runs: Runs) -> Verdict:
    results, parts = {}, []
    for variant in ("post2022", "turkey_rising"):
        dates = runs.dates(variant)
        later = dates >= "2022-03"
        turkey = runs.series(variant, "alignment", "Turkey")
        rise = turkey[:, dates >= LATE[0]].mean(axis=1) - turkey[:, dates == "2021-12"][:, 0]
        rivals = np.minimum(
            runs.series(variant, "alignment", "Russia"), runs.series(variant, "alignment", "China")
        )
        below = (rivals - turkey)[:, later].min(axis=1)
        results[f"{variant} rise"], results[f"{variant} below"] = rise, below
        parts.append(f"{variant}: rise {_span(rise)}, least gap below {below.min():.3f}")
    passed = all((v > 0).all() for v in results.values())
    return Verdict(
        "Turkey's alignment after 2022: " + "; ".join(parts),
        "rises, and stays below Russia and China at every month, on every seed",
        passed,
        results,
    )


def p6(runs: Runs) -> Verdict:
    def level(variant, first, last):
        return runs.mean(variant, "attraction", "West", first, last)

    start = level("disengagement", "2021-01", "2021-12")
    end = level("disengagement", "2035-01", "2035-12")
    fall = (start - end) / start
    base_end = level("baseline", "2035-01", "2035-12")
    without = level("disengagement_no_ties", "2035-01", "2035-12") / level(
        "disengagement_no_ties", "2021-01", "2021-12"
    )
    kept = end / start - without  # ties: the share of attraction kept, with minus without
    rise = level("reengagement", *LATE) - level("reengagement", "2021-01", "2021-12")
    return Verdict(
        f"West, grants shrinking 2021 -> 2035: falls {_span(100 * fall)} % (below the "
        f"baseline by {_span(base_end - end)}); education ties keep {_span(100 * kept)} % "
        f"more of it; re-engagement after 2022: {_span(rise)}",
        "falls by 0-25 % and below the baseline; ties keep more; re-engagement rises; every seed",
        bool(((fall > 0) & (fall < 0.25) & (end < base_end) & (kept > 0) & (rise > 0)).all()),
        {"fall": fall, "ties_kept": kept, "reengagement_rise": rise},
    )


def p7(runs: Runs) -> Verdict:
    peak = np.array([runs.series(v, "dominant_share").max(axis=1) for v in BALANCED])
    low = np.array([runs.series(v, "effective_vectors").min(axis=1) for v in BALANCED])
    threshold = runs["baseline"][0].threshold
    off_share = runs.series("no_balancing", "dominant_share")[:, -12:].mean(axis=1)
    off_vectors = runs.series("no_balancing", "effective_vectors")[:, -12:].mean(axis=1)
    worst = BALANCED[int(np.argmax(peak.max(axis=1)))]
    return Verdict(
        f"balancing on: highest share {peak.max():.3f} ({worst}), lowest effective number "
        f"{low.min():.2f}; balancing off: leading share {_span(off_share)}, effective number "
        f"{_span(off_vectors)}",
        f"on: every share <= theta = {threshold} and effective number >= 2.5 in every "
        "scenario; off: a share > 0.5 and effective number < 2; every seed",
        bool(
            (peak <= threshold).all()
            and (low >= 2.5).all()
            and (off_share > 0.5).all()
            and (off_vectors < 2).all()
        ),
        {"peak_share": peak.max(axis=0), "off_share": off_share},
    )


def p8(runs: Runs) -> Verdict:
    powers = runs["baseline"][0].powers
    attraction = np.array(
        [
            runs.mean("identity_first", "attraction", p, *LATE)
            - runs.mean("baseline", "attraction", p, *LATE)
            for p in powers
        ]
    )  # (powers, seeds)
    alignment = np.array(
        [
            runs.mean("identity_first", "alignment", p, *LATE)
            - runs.mean("baseline", "alignment", p, *LATE)
            for p in powers
        ]
    )
    moved = np.abs(alignment).mean(axis=0) / np.abs(attraction).mean(axis=0)
    return Verdict(
        "national identity first, 2028-35 against the baseline: attraction "
        + ", ".join(f"{p} {d:+.3f}" for p, d in zip(powers, attraction.mean(axis=1), strict=True))
        + f"; alignment moves {_span(moved)} of that",
        "every power's attraction lower; alignment moves less than attraction; every seed",
        bool((attraction < 0).all() and (moved < 1).all()),
        {"alignment_per_attraction": moved},
    )


def p9(runs: Runs) -> Verdict:
    def effect(plain, doubled):
        return runs.mean(doubled, "alignment", "West", *LATE) - runs.mean(
            plain, "alignment", "West", *LATE
        )

    low, high = effect("open", "open_grants"), effect("screened", "screened_grants")
    return Verdict(
        f"doubling Western grants raises West's alignment by {_span(low)} without screening, "
        f"{_span(high)} with screening 0.6",
        "smaller effect with screening, on every seed",
        bool((high < low).all() and (low > 0).all()),
        {"effect_open": low, "effect_screened": high},
    )


# Calibration targets: facts file, "Attitudes (calibration targets)" and seed-paper rows.
RUSSIA_FAVOURABLE = (0.87, 0.07)  # CAB 2017-2019: 87 % favourable; band: a chosen tolerance
EDUCATION_RUSSIA = (71_368 / 90_333, 0.10)  # UNESCO UIS: 71,368 of 90,333 students abroad
MEDIA_RUSSIA = (202 / 276, 0.10)  # 202 of 276 foreign broadcasters air in Russian
ETHNIC = {"Kazakh": 0.704, "Russian": 0.155, "Uzbek": 0.032, "Ukrainian": 0.020, "Uyghur": 0.015}
CENSUS_BAND = 0.01


def t1(runs: Runs) -> Verdict:
    share = runs.mean("baseline", "favourable", "Russia", *POLL)
    target, band = RUSSIA_FAVOURABLE
    return Verdict(
        f"Russia favourable 2017-2019: {_span(share)}",
        f"{target:.2f} +- {band:.2f} (ensemble mean)",
        bool(abs(share.mean() - target) <= band),
        {"favourable": share},
    )


def t2(runs: Runs) -> Verdict:
    shares = {p: runs.mean("baseline", "favourable", p, *TENS) for p in ("Russia", "China", "West")}
    russia, china, west = shares.values()
    return Verdict(
        "favourable 2015-2019: " + ", ".join(f"{p} {_span(v)}" for p, v in shares.items()),
        "Russia > China > West, on every seed",
        bool(((russia > china) & (china > west)).all()),
        shares,
    )


def t3(runs: Runs) -> Verdict:
    start = PROBE_DATES[0]
    groups = list(profile_for(runs["baseline"][0].profile).groups)
    labels = list(ETHNIC)
    ethnic = runs.probed("baseline", start, "ethnic_shares").mean(axis=0)
    speaks = runs.probed("baseline", start, "speaks").mean(axis=0)
    errors = {g: ethnic[groups.index(g)] - ETHNIC[g] for g in labels}
    for k, (lang, share) in enumerate(SPEAKS.items()):
        errors[f"speaks {lang}"] = speaks[k] - share
    worst = max(errors, key=lambda k: abs(errors[k]))
    return Verdict(
        f"largest gap from the 2021 census: {worst} {100 * errors[worst]:+.2f} points",
        f"every ethnic and language share within {100 * CENSUS_BAND:.0f} point",
        bool(max(abs(e) for e in errors.values()) <= CENSUS_BAND),
        {k: np.array([v]) for k, v in errors.items()},
    )


def _reach_shares(runs: Runs, channel: str) -> dict[str, np.ndarray]:
    powers = runs["baseline"][0].powers
    shares = runs.probed("baseline", "2019-12", "reach")[:, :, CHANNELS.index(channel)]
    return {p: shares[:, k] for k, p in enumerate(powers)}


def t4(runs: Runs) -> Verdict:
    shares = _reach_shares(runs, "education")
    russia, west, turkey = shares["Russia"], shares["West"], shares["Turkey"]
    target, band = EDUCATION_RUSSIA
    return Verdict(
        "education reach 2019: " + ", ".join(f"{p} {v.mean():.3f}" for p, v in shares.items()),
        f"Russia > 2 x West > 0, West > Turkey; Russia {target:.2f} +- {band:.2f}",
        bool(((russia > 2 * west) & (west > turkey)).all() and abs(russia.mean() - target) <= band),
        shares,
    )


def t5(runs: Runs) -> Verdict:
    shares = _reach_shares(runs, "media")
    target, band = MEDIA_RUSSIA
    return Verdict(
        "media reach 2019: " + ", ".join(f"{p} {v.mean():.3f}" for p, v in shares.items()),
        f"Russia {target:.2f} +- {band:.2f} (202 of 276 broadcasters)",
        bool(abs(shares["Russia"].mean() - target) <= band),
        shares,
    )


CHECKS: tuple[Check, ...] = (
    Check(
        "P1",
        "Before 2022 Russia has the highest popular attraction and the largest alignment share.",
        ("baseline",),
        p1,
        ("alignment", "alignment share", ("baseline",), ()),
    ),
    Check(
        "P2",
        "More hostile Russian rhetoric lowers Russian attraction, most among ethnic Kazakhs "
        "with strong identity, least among Russian speakers.",
        ("baseline", "hostile"),
        p2,
        ("attraction", "attraction", ("baseline", "hostile"), ("Russia",)),
    ),
    Check(
        "P3",
        "After the 2022 shock Russia's alignment falls but does not collapse (it stays among "
        "the two largest); what it loses, others gain.",
        ("post2022",),
        p3,
        ("alignment", "alignment share", ("post2022",), ()),
    ),
    Check(
        "P4",
        "China's elite attraction exceeds its popular attraction in every scenario; doubling "
        "China's effort raises popular attraction far less than in proportion.",
        (*BALANCED, "china_doubled"),
        p4,
        ("elite_attraction", "elite attraction", ("baseline", "china_doubled"), ("China",)),
    ),
    Check(
        "P5",
        "Turkey rises after 2022 but stays below Russia and China in alignment.",
        ("post2022", "turkey_rising"),
        p5,
        (
            "alignment",
            "alignment share",
            ("post2022", "turkey_rising"),
            ("Turkey", "Russia", "China"),
        ),
    ),
    Check(
        "P6",
        "Shrinking Western grants slowly lowers Western attraction; education ties keep it "
        "from collapsing; after 2022 it can rise.",
        ("baseline", "disengagement", "disengagement_no_ties", "reengagement"),
        p6,
        (
            "attraction",
            "attraction",
            ("disengagement", "disengagement_no_ties", "reengagement"),
            ("West",),
        ),
    ),
    Check(
        "P7",
        "With balancing on, no power's alignment passes the dominance threshold and the "
        "effective number of vectors stays high; with balancing off, one power dominates.",
        (*BALANCED, "no_balancing"),
        p7,
        ("effective_vectors", "effective number of vectors", ("baseline", "no_balancing"), ()),
    ),
    Check(
        "P8",
        "Stronger national identity lowers every power's attraction; attraction converts to "
        "alignment only in part.",
        ("baseline", "identity_first"),
        p8,
        ("attraction", "attraction", ("baseline", "identity_first"), ()),
    ),
    Check(
        "P9",
        "Screening lowers the effect of NGO grants on alignment.",
        ("open", "open_grants", "screened", "screened_grants"),
        p9,
        (
            "alignment",
            "alignment share",
            ("open", "open_grants", "screened", "screened_grants"),
            ("West",),
        ),
    ),
    Check(
        "T1",
        "Russia's favourable share 2017-2019 is near 87 % (Central Asia Barometer).",
        ("baseline",),
        t1,
        ("favourable", "favourable share", ("baseline",), ("Russia",)),
        "target",
    ),
    Check(
        "T2",
        "Approval ordering in the 2010s: Russia > China > United States (Gallup).",
        ("baseline",),
        t2,
        ("favourable", "favourable share", ("baseline",), ("Russia", "China", "West")),
        "target",
    ),
    Check(
        "T3",
        "The synthetic population has the 2021 census composition.",
        ("baseline",),
        t3,
        ("identity", "mean national identity", ("baseline",), ()),
        "target",
    ),
    Check(
        "T4",
        "Education reach follows student flows: Russia far ahead, then the West, then Turkey.",
        ("baseline",),
        t4,
        ("effort", "total effort", ("baseline",), ()),
        "target",
    ),
    Check(
        "T5",
        "Russian-language media reach follows the 202 of 276 foreign broadcasters.",
        ("baseline",),
        t5,
        ("effort", "total effort", ("baseline",), ()),
        "target",
    ),
)


def select(ids: list[str] | None) -> tuple[Check, ...]:
    """The checks with these ids (all when None); KeyError names what is allowed."""
    if not ids:
        return CHECKS
    known = {c.id: c for c in CHECKS}
    unknown = [i for i in ids if i.upper() not in known]
    if unknown:
        raise KeyError(f"unknown check {unknown[0]!r}; allowed: {', '.join(known)}")
    return tuple(known[i.upper()] for i in ids)


def needed(checks: tuple[Check, ...]) -> list[str]:
    """The variants the checks need, each once, in a stable order."""
    return list(dict.fromkeys(v for c in checks for v in c.variants))


def evaluate(checks: tuple[Check, ...], runs: Runs) -> pd.DataFrame:
    """One row per check: id, kind, claim, measured, threshold, passed."""
    rows = []
    for check in checks:
        outcome = check.evaluate(runs)
        rows.append(
            {
                "id": check.id,
                "kind": check.kind,
                "claim": check.claim,
                "measured": outcome.measured,
                "threshold": outcome.threshold,
                "passed": outcome.passed,
            }
        )
    return pd.DataFrame(rows)
