"""The package's layers hold: imports go one way, the rules stay pure, nothing outside the
model reads its private state, and every class name is unique.

Layers, lowest first: ``sim.inputs`` -> ``sim.model`` -> ``sim.experiments`` ->
``sim.results`` -> ``sim.app``; ``sim/__init__.py`` (the public face) sits above them all.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "sim"
LAYERS = ("inputs", "model", "experiments", "results", "app")
FACE = len(LAYERS)  # sim/__init__.py, above every layer
RULES_MAY_IMPORT = {  # numba's own backend; operator: the arithmetic FourLanes defines
    "__future__",
    "typing",
    "operator",
    "numpy",
    "numba",
    "llvmlite",
}


def layer_of_module(name: str) -> int | None:
    """The layer of a dotted module name inside the package (None outside it)."""
    parts = name.split(".")
    if parts[0] != "sim":
        return None
    if len(parts) == 1:
        return FACE
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else FACE


def imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """Every import in a module, at any depth: (module, names imported from it, line)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [alias.name for alias in node.names]
            found.append((node.module, names, node.lineno))
            # ``from sim.model import rules`` imports the module sim.model.rules
            found += [(f"{node.module}.{n}", [], node.lineno) for n in names if n.islower()]
    return found


def violations(root: Path) -> list[str]:
    """Every breach of the layering in the package at ``root`` (a folder named ``sim``)."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        here = layer_of_module(module)
        tree = ast.parse(path.read_text(), str(path))
        for target, names, line in imports(tree):
            there = layer_of_module(target)
            if there is not None and there > here and not target.startswith(module):
                problems.append(f"{relative}:{line}: {module} (layer {here}) imports {target}")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if there is not None and private:
                problems.append(f"{relative}:{line}: imports private {private} from {target}")
        if module == "sim.model.rules":
            outside = {t.split(".")[0] for t, _, _ in imports(tree)} - RULES_MAY_IMPORT
            if outside:
                problems.append(f"{relative}: the rules import {sorted(outside)}")
        if here != LAYERS.index("model"):
            problems += [f"{relative}:{line}: {text}" for line, text in private_reads(tree)]
    return problems


def private_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """Reads of another object's private attribute (``thing._name``; ``self._name`` and
    ``cls._name`` are a class's own business)."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append((node.lineno, f"reads private attribute .{node.attr}"))
    return found


def test_imports_go_one_way_and_the_rules_are_pure():
    assert violations(PACKAGE) == []


def test_every_layer_is_a_sub_package():
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") \
        == sorted(LAYERS)  # fmt: skip
    assert not [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]


@pytest.mark.parametrize(
    ("where", "code", "expected"),
    [
        ("inputs/schema.py", "from sim.model import rules\n", "imports sim.model"),
        ("model/events.py", "from sim.results.plots import draw\n", "imports sim.results"),
        ("model/rules.py", "import mesa\n", "the rules import ['mesa']"),
        ("model/rules.py", "from sim.inputs.schema import CHANNELS\n", "import ['sim']"),
        ("experiments/runner.py", "def f(model):\n    return model.state._cache\n", "private"),
        ("results/plots.py", "from sim.inputs.problems import _split_key\n", "private"),
        ("inputs/errors.py", "def f():\n    import sim\n", "imports sim"),
    ],
)
def test_the_check_catches_a_planted_violation(tmp_path, where, code, expected):
    """Each kind of breach, planted in a copy of the package, is reported."""
    import shutil

    copy = tmp_path / "sim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert violations(copy) == []
    target = copy / where
    target.write_text(target.read_text() + "\n" + code)
    found = violations(copy)
    assert found and any(expected in problem for problem in found), found


def test_class_names_are_unique():
    """A name means one thing: no two classes of the package share one."""
    names = Counter()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names.update(n.name for n in tree.body if isinstance(n, ast.ClassDef))
    assert [name for name, count in names.items() if count > 1] == []
