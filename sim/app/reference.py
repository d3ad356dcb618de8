"""Tables of the documentation written from the code (never by hand): the parameter
reference of ``docs/ODD.md`` from the schema, the free parameters and targets of
``docs/calibration.md`` from :mod:`sim.experiments.calibrate` and the shipped baseline, and
what each lesson of ``docs/lessons.md`` shows, from runs of its scenario and the baseline.

    uv run python -m sim.app.reference    # rewrite every table in place (a minute or two)

A test fails when a table in a document differs from what the code says.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.inputs.lessons import LessonPlan, lesson_plans
from sim.inputs.schema import CHANNELS, Parameters, PowerSettings, bounds

START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"
CALIBRATION_START, CALIBRATION_END = "<!-- calibration:start -->", "<!-- calibration:end -->"


def _rows(model: type[BaseModel], prefix: str):
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        extra = info.json_schema_extra or {}
        if name == "powers":
            yield from _rows(PowerSettings, "powers.<power>.")
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            fields = ann.model_fields
            if set(fields) == set(CHANNELS):  # one row for a per-channel table
                first = fields[CHANNELS[0]]
                default = info.get_default(call_default_factory=True)
                values = (
                    "required"
                    if default is PydanticUndefined
                    else ", ".join(f"{c} {getattr(default, c):g}" for c in CHANNELS)
                )
                low, high = bounds(first)
                meaning = info.description or (ann.__doc__ or "").strip()
                source = (first.json_schema_extra or {}).get("source", "")
                yield (
                    f"{path}.<channel>",
                    values,
                    f"{low:g} to {high:g}",
                    (first.json_schema_extra or {}).get("unit", ""),
                    meaning,
                    source,
                )
            else:
                yield from _rows(ann, path + ".")
        else:
            default = info.get_default(call_default_factory=True)
            low, high = bounds(info)
            allowed = f"{low:g} to {high:g}" if low > float("-inf") else ""
            if isinstance(default, bool):
                allowed = "true, false"
            note = " (start only)" if extra.get("init_only") else ""
            yield (
                path,
                _show(default),
                allowed,
                extra.get("unit", ""),
                f"{info.description or ''}{note}",
                extra.get("source", ""),
            )


def _show(value) -> str:
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{}" if not value else ", ".join(f"{k} {v:g}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


def parameter_table() -> str:
    """Every parameter: dotted path, default, allowed range, unit, meaning, source."""
    lines = [
        "| parameter | default | allowed | unit | meaning | source |",
        "|---|---|---|---|---|---|",
    ]
    for row in _rows(Parameters, ""):
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in row) + " |")
    return "\n".join(lines)


def calibration_table() -> str:
    """The free parameters (bounds, shipped value, reason) and the targets (value, band, source)."""
    from sim.experiments import calibrate

    shipped = calibrate.current()
    lines = [
        "| free parameter | bounds | shipped (fitted) | why it is free |",
        "|---|---|---|---|",
    ]
    for f in calibrate.FREE:
        lines.append(f"| `{f.path}` | {f.low:g} to {f.high:g} | {shipped[f.path]:g} | {f.reason} |")
    lines += ["", "| target | value | band in the fit | source |", "|---|---|---|---|"]
    for t in calibrate.TARGETS:
        lines.append(f"| {t.name} | {t.value:.3f} | {t.band:.3f} | {t.source} |")
    return "\n".join(lines)


DOCUMENTS = {
    "docs/ODD.md": (START, END, parameter_table),
    "docs/calibration.md": (CALIBRATION_START, CALIBRATION_END, calibration_table),
}


def between(text: str, start: str, end: str) -> str:
    """The text between two markers."""
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def update(document: Path, start: str = START, end: str = END, table=parameter_table) -> bool:
    """Rewrite the table between the markers; True if the document changed."""
    text = document.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{table()}\n{end}{tail}"
    if new != text:
        document.write_text(new)
    return new != text


# --- the lessons (sim.inputs.lessons): their numbers, from runs -------------------------

REFERENCE = "baseline"
"""Every lesson compares its scenario with the baseline, run on the same seeds."""
LESSON_SIZE = {"population": 1500, "reps": 3, "until": "2030-12"}
"""The size the numbers of docs/lessons.md come from: small, so a test reruns them all in
about a minute; ``multivector compare`` with these options gives the same numbers."""
LESSON_MEASURES = ("attraction", "favourable", "elite_attraction", "alignment")
TOLERANCE = 0.002
"""How far a number of docs/lessons.md may be from a fresh run's (they are rounded to three
decimals; the rest allows for floating point on another machine)."""


def lesson_markers(key: str) -> tuple[str, str]:
    return f"<!-- lesson:{key}:start -->", f"<!-- lesson:{key}:end -->"


def lesson_command(lesson: LessonPlan) -> str:
    """The command that gives a lesson's numbers (its differences.csv)."""
    size = LESSON_SIZE
    return (
        f"multivector compare {REFERENCE} {lesson.scenario} --population {size['population']}"
        f" --reps {size['reps']} --until {size['until']} --at {size['until']}"
    )


@functools.cache
def lesson_results(workers: int | None = None) -> dict:
    """The baseline and every lesson's scenario at :data:`LESSON_SIZE`, as saved results;
    all runs share one pool of ``workers`` processes (default: every core)."""
    from sim.experiments import runner
    from sim.experiments.ensemble import run_replicate, run_tasks
    from sim.experiments.runner import Result
    from sim.results import saved

    names = [REFERENCE, *dict.fromkeys(lesson.scenario for lesson in lesson_plans())]
    overrides = {"run.population": LESSON_SIZE["population"]}
    plans = {n: runner.plan(n, overrides=overrides, until=LESSON_SIZE["until"]) for n in names}
    reps = range(LESSON_SIZE["reps"])
    tasks = [(plans[n], i) for n in names for i in reps]
    done = iter(run_tasks(run_replicate, tasks, workers))
    found = {}
    for name in names:
        tables = [next(done) for _ in reps]
        found[name] = saved.from_result(
            Result(
                spec=plans[name].spec,
                timeseries=pd.concat([t[0] for t in tables], ignore_index=True),
                groups=pd.concat([t[1] for t in tables], ignore_index=True),
                channels=pd.concat([t[2] for t in tables], ignore_index=True),
                snapshots={},
                seed=plans[name].spec.run.seed,
                replicates=list(reps),
            )
        )
    return found


def lesson_block(lesson: LessonPlan, results: dict) -> str:
    """What a lesson's runs show at the end month: each power's measures in the baseline
    and the scenario, the state's balance, and Russia's favourable share by ethnicity."""
    base, other = results[REFERENCE], results[lesson.scenario]
    at = LESSON_SIZE["until"]
    lines = [
        f"Computed by `python -m sim.app.reference` from {LESSON_SIZE['reps']} runs of "
        f"{LESSON_SIZE['population']:,} persons each, same seeds for both scenarios; "
        f"`{lesson_command(lesson)}` gives the same. Values in {at}: baseline → "
        f"{lesson.scenario} (difference); medians over runs.",
        "",
        "| power | " + " | ".join(m.replace("_", " ") for m in LESSON_MEASURES) + " |",
        "|---|" + "---|" * len(LESSON_MEASURES),
    ]
    mine, theirs = _medians(base, at), _medians(other, at)
    for power in mine.index:
        cells = [
            f"{mine.at[power, m]:.3f} → {theirs.at[power, m]:.3f} "
            f"({round(theirs.at[power, m] - mine.at[power, m], 3) + 0.0:+.3f})"
            for m in LESSON_MEASURES
        ]
        lines.append(f"| {power} | " + " | ".join(cells) + " |")
    state = [_state(base, at), _state(other, at)]
    lines += [
        "",
        "| the state | baseline | " + lesson.scenario + " |",
        "|---|---|---|",
        "| effective number of vectors | "
        + " | ".join(f"{s['effective_vectors']:.2f}" for s in state)
        + " |",
        "| largest share (its power, in most runs) | "
        + " | ".join(f"{s['dominant_share']:.3f} ({s['dominant_power']})" for s in state)
        + " |",
        "| mean national identity | " + " | ".join(f"{s['identity']:.3f}" for s in state) + " |",
    ]
    groups = [_ethnic(base, at), _ethnic(other, at)]
    for group in groups[0].index:
        lines.append(
            f"| Russia favourable among ethnic {group}s | "
            + " | ".join(f"{g[group]:.3f}" for g in groups)
            + " |"
        )
    return "\n".join(lines)


def _medians(result, at: str) -> pd.DataFrame:
    rows = result.timeseries[result.timeseries["date"] == at]
    return rows.groupby("power", sort=False)[list(LESSON_MEASURES)].median()


def _state(result, at: str) -> dict:
    rows = result.timeseries[result.timeseries["date"] == at].drop_duplicates("run")
    return {
        "effective_vectors": rows["effective_vectors"].median(),
        "dominant_share": rows["dominant_share"].median(),
        "dominant_power": rows["dominant_power"].mode().iloc[0],
        "identity": rows["identity"].median(),
    }


def _ethnic(result, at: str) -> pd.Series:
    groups = result.groups
    rows = groups[
        (groups["date"] == at)
        & (groups["dimension"] == "ethnicity")
        & (groups["power"] == "Russia")
        & groups["group"].isin(["Kazakh", "Russian"])
    ]
    return rows.groupby("group", sort=False)["favourable"].median()


def lesson_blocks(workers: int | None = None) -> dict[str, str]:
    """Every lesson's block of numbers, by its key."""
    results = lesson_results(workers)
    return {lesson.key: lesson_block(lesson, results) for lesson in lesson_plans()}


def update_lessons(document: Path, workers: int | None = None) -> bool:
    """Rewrite every lesson's block of numbers, from fresh runs; True if any changed."""
    blocks = lesson_blocks(workers)
    changed = False
    for lesson in lesson_plans():
        start, end = lesson_markers(lesson.key)
        changed |= update(document, start, end, lambda key=lesson.key: blocks[key])
    return changed


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    for name, (start, end, table) in DOCUMENTS.items():
        changed = update(root / name, start, end, table)
        print(f"{name}: {'updated' if changed else 'already current'}")
    changed = update_lessons(root / "docs" / "lessons.md")
    print(f"docs/lessons.md: {'updated' if changed else 'already current'}")
