"""What produced a result: the package and its scientific dependencies, the command, the time.

Every manifest (runs, ensembles, comparisons, sweeps, validation, calibration) starts with
:func:`environment`.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sim.inputs.errors import Problem, ScenarioError

DEPENDENCIES = (
    "mesa",
    "numpy",
    "numba",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "salib",
    "matplotlib",
)
"""The libraries whose versions can change a result, recorded in every manifest."""


def package_version() -> str:
    """The installed version of multivector (``unknown`` for a source tree not installed)."""
    try:
        return metadata.version("multivector")
    except metadata.PackageNotFoundError:
        return "unknown"


def versions() -> dict[str, str]:
    """Installed versions of :data:`DEPENDENCIES` (``absent`` where one is not installed)."""
    found = {}
    for name in DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def source_commit() -> str | None:
    """The git commit of the source tree the package runs from, with ``+dirty`` when it has
    uncommitted changes; None outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def environment(started: datetime) -> dict:
    """What produced an output: package, commit and library versions, the command, the time."""
    library = versions()
    return {
        "package": {"name": "multivector", "version": package_version()},
        "commit": source_commit(),
        "python": platform.python_version(),
        "mesa": library["mesa"],
        "numpy": library["numpy"],
        "libraries": library,
        "command": sys.argv,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- writing what a result is made of (shared by runs, sweeps and comparisons) -------------

STAMP_KEY = b"multivector"
"""The key of the provenance stamp in every Parquet file's schema metadata."""


def stamp(manifest: dict) -> dict:
    """The part of a manifest every Parquet file carries in its schema metadata: what
    produced it (package, scenario and the SHA-256 of its files, seed, start time); a sweep's
    parts also name the sweep file and its SHA-256."""
    scenario = manifest.get("scenario", {})
    found = {
        "package": manifest["package"],
        "scenario": scenario.get("name"),
        "scenario_files": scenario.get("files", []),
        "seed": manifest.get("seed"),
        "started_utc": manifest["started_utc"],
    }
    if "sweep" in manifest:
        found["sweep"] = manifest["sweep"]
    return found


def check_finite(frame, path: Path, allowed: tuple[str, ...] = ()) -> None:
    """Refuse to write a table with NaN or infinity in a numeric column (other than the
    ``allowed`` ones): WriteFailed naming the file, the column and the first such row."""
    import numpy as np

    numeric = frame.select_dtypes(include=["number", "bool"])
    for column in numeric.columns:
        if column in allowed:
            continue
        values = numeric[column].to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise WriteFailed(
                path,
                f"column {column!r} holds {int(bad.sum())} NaN or infinite values (first at "
                f"row {row}: {frame.iloc[row].to_dict()}); a result that is not a number is "
                "not written",
            )


DATE_UNIT = "ms"
"""Parquet keeps ``date`` as a timestamp (the first day of the month; CSV keeps YYYY-MM)."""


def dated(frame):
    """A copy of ``frame`` whose ``date`` column (YYYY-MM text) is a timestamp of the first
    day of the month, for Parquet; the frame itself is left as it is."""
    import pandas as pd

    if "date" not in frame.columns or pd.api.types.is_datetime64_any_dtype(frame["date"]):
        return frame
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m").astype(f"datetime64[{DATE_UNIT}]")
    return frame


def months(frame):
    """``frame`` with its ``date`` column as YYYY-MM text, as a model's own tables and CSV
    files hold it, whether it was read from Parquet (a timestamp) or CSV (text)."""
    import pandas as pd

    if "date" in frame.columns and not pd.api.types.is_string_dtype(frame["date"]):
        frame = frame.copy()
        frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m")
    return frame


def parquet_bytes(frame, stamped: dict | None = None) -> bytes:
    """A table as Parquet bytes: ``date`` as a timestamp, and the provenance stamp in its
    schema metadata (key ``multivector``)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(dated(frame), preserve_index=False)
    if stamped is not None:
        meta = {**(table.schema.metadata or {}), STAMP_KEY: json.dumps(stamped).encode()}
        table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


class WriteFailed(ScenarioError):
    """Writing an output failed (a full disk, a read-only or vanished folder): the path and
    the reason, for one line of message (exit status 2 on the command line, as any refused
    input). Nothing already written was damaged."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__([Problem(str(path), "", f"cannot write: {reason}")])


def reason(err: OSError) -> str:
    """An OSError in words, with the file it concerned."""
    text = err.strerror or str(err) or type(err).__name__
    return f"{text} ({err.filename})" if err.filename else text


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see all of it or nothing: a temporary file in the same
    folder, flushed to disk, then renamed over the target. An OSError becomes WriteFailed
    (the temporary file removed, the target untouched)."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True) if tmp.parent.is_dir() else None
        raise WriteFailed(path, reason(err)) from None


NAME_MARGIN = 48
"""Characters kept free in a folder's name for the staging and set-aside names beside it."""


def check_writable(out: Path) -> None:
    """Check before anything runs that ``out`` (a folder) can be created and written:
    a sane length, no file on its way, and a folder above it that accepts a new folder.
    Raises WriteFailed with the reason; creates nothing that stays."""
    import errno
    import os
    import tempfile

    out = Path(os.path.abspath(out))
    longest, widest = 255, 4096  # Linux's NAME_MAX and PATH_MAX, checked before any stat
    for part in out.parts:
        if len(os.fsencode(part)) > longest - NAME_MARGIN:
            raise WriteFailed(
                out, f"the name {part[:30]!r}... is longer than {longest - NAME_MARGIN} bytes"
            )
    if len(os.fsencode(str(out))) > widest - 2 * NAME_MARGIN:
        raise WriteFailed(out, f"the path is longer than {widest - 2 * NAME_MARGIN} bytes")
    parent = out
    try:
        while not parent.exists():
            if parent.is_symlink():
                raise WriteFailed(out, f"{parent} is a broken symbolic link")
            parent = parent.parent
    except OSError as err:
        raise WriteFailed(out, reason(err)) from None
    if not parent.is_dir():
        raise WriteFailed(out, f"{parent} is a file, not a folder")
    target = out if out.is_dir() else parent
    try:
        probe = tempfile.mkdtemp(prefix=".multivector-probe-", dir=target)
        os.rmdir(probe)
    except OSError as err:
        why = os.strerror(err.errno) if err.errno else str(err)
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            why += " (the folder is not writable)"
        raise WriteFailed(out, f"{target}: {why}") from None
