"""The documentation stands alone: the code it names exists, and nothing cites files that
are not in the repository.

Fast checks on text only: no model is built and no module of ``sim`` is imported.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# `sim/model/rules.py`, or a package written as a folder, `sim/model/`.
FILE_PATH = re.compile(r"(?<![\w./-])sim/(?:[A-Za-z_]\w*/)*(?:[A-Za-z_]\w*\.py\b)?")
# `sim.model.rules`, `sim.experiments.sweep.results`, `sim.app.cli:main` (up to the colon).
DOTTED = re.compile(r"(?<![\w./-])sim(?:\.[A-Za-z_]\w*)+")

OUTSIDE = ("DESIGN" + ".md", "../" + "shared")  # split: this file names them to find them
"""Strings that point outside the repository (to the team's design notes)."""


def face_names(root: Path = ROOT) -> set[str]:
    """The names the public face exports (``sim.__all__``), read without importing it."""
    tree = ast.parse((root / "sim" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {*ast.literal_eval(node.value), "__all__"}
    return set()


def module_names(text: str) -> list[str]:
    """Every module path the text names, as written: file paths and dotted names."""
    files = [m.group(0) for m in FILE_PATH.finditer(text) if m.group(0) != "sim/"]
    return files + [m.group(0) for m in DOTTED.finditer(text)]


def resolves(name: str, root: Path = ROOT) -> bool:
    """Whether a named module exists under ``root``.

    A file path must be a file (``.py``) or a package folder. A dotted name resolves to its
    longest prefix that is a module or a package; what follows (a function, a class) is not
    checked, but the prefix must reach at least ``sim.<layer>.<module>`` (or the whole name,
    when it is shorter).
    """
    if "/" in name:
        path = root / name
        return path.is_file() if name.endswith(".py") else (path / "__init__.py").is_file()
    parts = name.split(".")
    if len(parts) == 2 and parts[1] in face_names(root):
        return True  # sim.build, sim.draw: the public face
    found = 0
    for k in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:k])
        if (base / "__init__.py").is_file():
            found = k
        elif base.with_suffix(".py").is_file():
            found = k
            break  # a module: the rest are names inside it
        else:
            break
    return found >= min(len(parts), 3)


def test_the_checker_finds_module_names_and_rejects_missing_ones():
    text = (
        "See `sim/model/rules.py`, `sim/inputs/`, `python -m sim.app.reference` and "
        "`sim.experiments.sweep.results(folder)`; also sim/nowhere/gone.py and sim.rules.affinity."
    )
    names = module_names(text)
    assert names == [
        "sim/model/rules.py",
        "sim/inputs/",
        "sim/nowhere/gone.py",
        "sim.app.reference",
        "sim.experiments.sweep.results",
        "sim.rules.affinity",
    ]
    assert [resolves(n) for n in names] == [True, True, False, True, True, False]
    assert not resolves("sim.model.nonexistent")  # a layer alone is not a module
    assert resolves("sim.model")  # a package, named as such
    assert resolves("sim.build") and not resolves("sim.nothing")  # the public face


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_module_a_document_names_exists(document: Path):
    missing = sorted({n for n in module_names(document.read_text()) if not resolves(n)})
    assert not missing, f"{document.relative_to(ROOT)} names modules that do not exist: {missing}"


def test_no_tracked_file_points_outside_the_repository():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()
    offenders = []
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if name == this or not path.is_file():  # a file deleted but not yet committed
            continue
        text = path.read_bytes()
        offenders += [f"{name}: {s}" for s in OUTSIDE if s.encode() in text]
    assert not offenders, "files cite what is not in the repository:\n" + "\n".join(offenders)
