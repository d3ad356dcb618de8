"""Parameters drawn from a posterior sample, one row for each run of an ensemble.

``run --reps N --posterior FILE`` and ``compare ... --posterior FILE`` give run i (and a
sweep file's ``posterior``, replication i of every point) the parameter values of a row of
FILE (the ``posterior.csv`` that ``calibrate --method abc`` or ``--method smc`` writes, or
any table of that shape), so that the ensemble's band holds the parameters' uncertainty as
well as the model's own noise. The rows are drawn with replacement, from a stream of their
own seeded by the root seed, in proportion to a ``weight`` column if the file has one (the
importance weights of ``--method smc``): the same seed draws the same rows whatever the
number of workers, and every scenario of a comparison gets the same rows for the same run.
A column is a parameter when its name is a parameter's dotted path (it has a dot); others
(``weight``, ``distance``, what each point measured) are not parameters. A ``--set`` of the
same parameter wins over the posterior. FILE may also be the name of a shipped posterior
(``kazakhstan``: ``scenarios/data/kazakhstan_posterior.csv``, docs/calibration.md); a file
of that name, if there is one, wins.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs.errors import COMMAND_LINE, ScenarioError, refuse
from sim.inputs.scenario import shipped_dir, with_overrides
from sim.inputs.schema import ScenarioSpec

STREAM = 0x706F7374
"""Added to the root seed's entropy for the stream that draws the rows ("post"), so it is
none of the runs' own streams (those are the root's children)."""


@dataclass(frozen=True)
class Draws:
    """The rows of a posterior sample that the runs of an ensemble take."""

    path: Path
    sha256: str
    size: int  # rows in the file
    rows: tuple[int, ...]  # the row (0-based, in file order) that run i takes
    values: tuple[dict[str, float], ...]  # run i's parameter values

    def provenance(self) -> dict:
        """What a manifest records of the draws."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "rows_in_file": self.size,
            "parameters": sorted(self.values[0]) if self.values else [],
            "row_of_run": list(self.rows),
            "drawing": f"rows drawn with replacement by numpy SeedSequence([seed, {STREAM}])",
        }


def shipped() -> dict[str, Path]:
    """The shipped posterior samples by name (``<name>_posterior.csv`` in the data folder)."""
    files = sorted((shipped_dir() / "data").glob("*_posterior.csv"))
    return {p.name.removesuffix("_posterior.csv"): p for p in files}


def resolve(path: str | Path, folder: Path | None = None) -> Path:
    """A posterior's file: ``path`` (under ``folder`` if given) when it is a file, else the
    shipped posterior of that name, else ``path`` (which :func:`read` then refuses)."""
    local = Path(path) if folder is None else folder / path
    if local.is_file():
        return local
    return shipped().get(str(path), local)


def load(
    path: str | Path, spec: ScenarioSpec, reps: int, seed: int, fixed: set[str] = frozenset()
) -> Draws:
    """Read a posterior sample and draw a row for each of ``reps`` runs, seeded by ``seed``.
    Parameters in ``fixed`` (the command line's ``--set``) keep their value. Every value is
    checked against ``spec``'s schema (ScenarioError naming the file, row and column)."""
    path = resolve(path)
    table = read(path)
    columns = [c for c in table.columns if "." in str(c) and c not in fixed]
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM]))
    if "weight" in table.columns:  # an importance-weighted sample (calibrate --method smc)
        weight = table["weight"].to_numpy() / table["weight"].max()  # no overflow in the sum
        rows = rng.choice(len(table), reps, p=weight / weight.sum())
    else:
        rows = rng.integers(0, len(table), reps)
    numbers = table[columns].to_numpy(dtype=float)
    used = {r: dict(zip(columns, numbers[r].tolist(), strict=True)) for r in set(rows.tolist())}
    for r in sorted(used):  # every row used is a valid scenario
        try:
            with_overrides(spec, used[r], str(path))
        except ScenarioError as err:
            problem = err.problems[0]
            raise refuse(path, problem.key, problem.message, line=r + 2) from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    values = tuple(used[r] for r in rows.tolist())
    return Draws(path, digest, len(table), tuple(rows.tolist()), values)


def read(path: Path) -> pd.DataFrame:
    """The posterior table: at least one row, one parameter column (a dotted path), and a
    finite number in every parameter cell (ScenarioError otherwise)."""
    if not path.is_file():
        names = ", ".join(shipped()) or "none"
        raise refuse(
            COMMAND_LINE, "--posterior", f"{path} is not a file nor a shipped posterior ({names})"
        )
    try:  # text as written, so that a message shows it; every line a row (line = row + 2)
        with path.open(newline="", encoding="utf-8") as file:
            header = next(csv.reader(file), [])
        table = pd.read_csv(
            path, dtype=str, compression=None, skip_blank_lines=False, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise refuse(path, "(file)", f"not a CSV table: {str(err).splitlines()[0]}") from None
    except OSError as err:
        raise refuse(path, "(file)", f"cannot be read: {err.strerror or err}") from None
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise refuse(path, "(header)", f"a column appears twice: {', '.join(twice)}")
    columns = [c for c in table.columns if "." in str(c)]
    if not columns:
        raise refuse(
            path,
            "(header)",
            "no parameter column: name columns by a parameter's dotted path, such as "
            "powers.China.efficiency (the posterior.csv of calibrate --method abc)",
        )
    if table.empty:
        raise refuse(path, "(rows)", "no row to draw parameters from")
    for column in [*columns, *(["weight"] if "weight" in table.columns else [])]:
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(numbers.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            text = table[column].iloc[row]
            shown = f"{text.strip()!r}" if text.strip() else "an empty cell"
            raise refuse(path, column, f"{shown} is not a finite number", line=row + 2)
        table[column] = numbers
    if "weight" in table.columns and (table["weight"].min() < 0 or table["weight"].max() <= 0):
        raise refuse(path, "weight", "weights must be at least 0, and not all 0")
    return table
