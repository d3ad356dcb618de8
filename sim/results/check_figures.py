"""Figures of the validation checks: what each check looks at, median over seeds and band."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments.patterns import Check, Runs
from sim.model.columns import NUMERIC_OF_STATE
from sim.results.plots import power_style, years

VARIANT_STYLES = ("-", "--", ":", "-.")


def draw(check: Check, runs: Runs, passed: bool, path) -> None:
    """A small figure of what a check looks at: the median over seeds of its measure, by
    power (colour) and variant (line style), with a 5-95 % band for the first variant."""
    measure, label, variants, chosen = check.figure
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    for v, variant in enumerate(variants):
        when = pd.to_datetime(runs.dates(variant))
        powers = [None] if measure in NUMERIC_OF_STATE else runs[variant][0].powers
        for k, power in enumerate(powers):
            if chosen and power not in chosen:
                continue
            values = runs.series(variant, measure, power)
            style = power_style(power, k) if power else {"color": "black", "linewidth": 2}
            style = {**style, "linestyle": VARIANT_STYLES[v % len(VARIANT_STYLES)]}
            name = " ".join(filter(None, (power, variant))) if power or len(variants) > 1 else None
            ax.plot(when, np.median(values, axis=0), label=name, **style)
            if v == 0 and len(values) > 1:
                low, high = np.percentile(values, [5, 95], axis=0)
                ax.fill_between(when, low, high, color=style["color"], alpha=0.15, linewidth=0)
    if check.id == "P7":
        ax.axhline(2.5, color="grey", linewidth=1, linestyle="--")
    ax.set_ylabel(label)
    years(ax)
    verdict = "pass" if passed else "FAIL"
    ax.set_title(f"{check.id} ({verdict}): {check.claim}", fontsize=8, loc="left", wrap=True)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=6, ncols=2, frameon=False)
    fig.savefig(path, dpi=110)
