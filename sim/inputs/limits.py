"""How large an input may be: every limit on what a user types, in one place.

Each limit is checked before any work is done (before the TOML parser, a deep copy or a
design sees the input), and a value beyond it is refused with exit status 2, naming the
file, the key and the limit. ``docs/scenarios.md`` and ``docs/sweeps.md`` list them.

They are generous for real scenarios (the shipped ones use a tenth of each at most) and
small enough that a refused input costs no more than a second to find.
"""

from __future__ import annotations

MAX_FILE_BYTES = 1_000_000
"""A scenario, sweep or profile file: the shipped scenarios are 2-10 kB."""

MAX_DEPTH = 16
"""Nesting of tables and arrays, dotted keys counted (``events[0].groups.age[0]`` is 4).
Python's TOML parser and ``copy.deepcopy`` recurse once per level: bounded first, no
``RecursionError`` can escape."""

MAX_EXTENDS = 16
"""Files in an ``extends`` chain (the shipped scenarios chain at most 3)."""

MAX_PATH_CHARS = 255
"""An ``extends`` value, a sweep's ``scenario`` and a dotted parameter path: the longest
file name most file systems allow."""

MAX_EVENTS = 500
"""Events of a scenario after ``extends`` is resolved (the shipped scenarios have at most
15); every event is checked, drawn on the timeline and applied every month."""

MAX_POWERS = 16
"""Powers of a scenario (the shipped ones have 4)."""

MAX_NAME_CHARS = 64
"""A scenario's, sweep's or outcome's ``name`` and a power's name."""

MAX_LABEL_CHARS = 200
"""An event's ``label``, drawn on the figure's timeline."""

MAX_TEXT_CHARS = 20_000
"""A ``description`` and each entry of ``sources``."""

MAX_PROBLEMS = 100
"""Problems printed for one file; the rest are counted."""

MAX_RUNS = 100_000
"""Runs of a sweep: design points times replications. A grid's size is a product and a
Sobol design's grows with its parameters, so a typo can ask for billions: at a few seconds
per run 100,000 runs is already days of a cluster's time."""

MAX_LEVELS = 1_000
"""A sweep's ``levels`` (grid points along each range, Morris grid levels)."""

MAX_PARAMETERS = 100
"""Parameters a sweep varies."""

MAX_VALUES = 1_000
"""Values in a sweep parameter's list."""

MAX_SEED = 2**32 - 1
"""A sweep design's ``seed`` (SALib's samplers seed numpy's legacy generator with it)."""

MAX_REPS = 10_000
"""``--reps`` and ``validate --seeds``: runs of an ensemble."""

MAX_OUTCOMES = 100
"""Outcomes and ``timeseries`` measures a sweep records."""
