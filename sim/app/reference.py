"""Tables of the documentation written from the code (never by hand): the parameter
reference of ``docs/ODD.md`` from the schema, and the free parameters and targets of
``docs/calibration.md`` from :mod:`sim.experiments.calibrate` and the shipped baseline.

    uv run python -m sim.app.reference    # rewrite both tables in place

A test fails when a table in a document differs from what the code says.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

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


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    for name, (start, end, table) in DOCUMENTS.items():
        changed = update(root / name, start, end, table)
        print(f"{name}: {'updated' if changed else 'already current'}")
