"""Pattern-oriented validation: the patterns P1-P14 (docs/ODD.md §1) and the calibration targets
(docs/calibration.md, facts and figures), each measured over an ensemble of seeds.

A check names the runs it needs (:class:`Variant`: a shipped scenario, dotted overrides and
an optional named transform), measures something on every seed, and says whether the claim
holds. :func:`run_all` runs every variant once per seed (in parallel processes, seeds from
``SeedSequence(root, spawn_key=(i,))``) and hands the runs to the checks. Thresholds are
stated and explained in ``docs/validation.md``.
"""

from sim.experiments.patterns.checks import (
    AGE_GRADIENT,
    BASIS,
    BY_CONSTRUCTION,
    CHECKS,
    EDUCATION_RUSSIA,
    IN_SAMPLE,
    MEDIA_RUSSIA,
    NOT_FITTED,
    OUT_OF_SAMPLE,
    POLL,
    RUSSIA_FAVOURABLE,
    TENS,
    Check,
    Verdict,
    age_gradient,
    ethnic_gap,
    evaluate,
    needed,
    pooled_groups,
    select,
    unanimous_groups,
)
from sim.experiments.patterns.variants import (
    VARIANTS,
    Runs,
    Variant,
    VariantRun,
    double_china,
    run_all,
    run_variant,
    with_overrides,
)

__all__ = [
    "AGE_GRADIENT",
    "BASIS",
    "BY_CONSTRUCTION",
    "CHECKS",
    "EDUCATION_RUSSIA",
    "IN_SAMPLE",
    "MEDIA_RUSSIA",
    "NOT_FITTED",
    "OUT_OF_SAMPLE",
    "POLL",
    "RUSSIA_FAVOURABLE",
    "TENS",
    "VARIANTS",
    "Check",
    "Runs",
    "Variant",
    "VariantRun",
    "Verdict",
    "age_gradient",
    "double_china",
    "ethnic_gap",
    "evaluate",
    "needed",
    "pooled_groups",
    "run_all",
    "run_variant",
    "select",
    "unanimous_groups",
    "with_overrides",
]
