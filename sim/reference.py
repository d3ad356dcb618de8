"""The parameter reference of ``docs/ODD.md``, written from the schema (never by hand).

    uv run python -m sim.reference docs/ODD.md    # rewrite the table in place

A test fails when the table in the document differs from what the schema says.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.schema import CHANNELS, Parameters, Power, bounds

START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"


def _rows(model: type[BaseModel], prefix: str):
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        extra = info.json_schema_extra or {}
        if name == "powers":
            yield from _rows(Power, "powers.<power>.")
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


def update(document: Path) -> bool:
    """Rewrite the table between the markers; True if the document changed."""
    text = document.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{parameter_table()}\n{END}{tail}"
    if new != text:
        document.write_text(new)
    return new != text


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/ODD.md")
    print(f"{target}: {'updated' if update(target) else 'already current'}")
