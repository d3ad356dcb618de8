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
