"""The names of what the model measures: the one list of measures and table columns.

Kept apart from :mod:`sim.model.measures` (which computes them and needs the compiled rules)
so that reading, summarising and plotting saved results never loads the model.
"""

from __future__ import annotations

from sim.inputs.schema import GROUP_DIMENSIONS

PER_POWER = (
    "attraction",
    "favourable",
    "approval",
    "elite_attraction",
    "alignment",
    "screening",
    "effort",
    "student_flow",
)
"""Columns of the monthly table with one value per power."""

OF_STATE = (
    "effective_vectors",
    "dominant_power",
    "dominant_share",
    "identity",
    "promotion",
    "population",
)
"""Columns of the monthly table with one value for the state (repeated on each power's row)."""

NUMERIC_OF_STATE = tuple(name for name in OF_STATE if name != "dominant_power")
"""The state's measures that are numbers (the dominant power is a name)."""

GROUPED_BY = tuple(d for d in GROUP_DIMENSIONS if d != "region")
"""Dimensions of the yearly group table: regions are many and small, so they are left to the
person-level snapshots."""

GROUP_COLUMNS = ("step", "date", "dimension", "group", "power", "persons", "attraction",
                 "favourable")  # fmt: skip
CHANNEL_COLUMNS = ("step", "date", "power", "channel", "effort", "signal", "screening")
