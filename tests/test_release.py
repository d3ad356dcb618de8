"""Release metadata agrees with itself, and each kind of user gets a working install: the
core runs, sweeps and analyses without the dashboard stack, Dask or the EMA Workbench, and a
command that needs one of them says in one line which extra to install."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import TINY, assert_refused, invoke

import sim

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
EXTRAS = {
    "dashboard": ("solara", "ipyvuetify", "altair"),
    "dask": ("dask", "distributed"),
    "analysis": ("ema_workbench",),
}
"""Each extra and the modules that only it brings."""


def citation() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_the_citation_file_carries_the_package_version_and_cites_the_study():
    cff = citation()
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license"):
        assert cff.get(key), key
    assert str(cff["version"]) == VERSION
    assert cff["license"] == "MIT" == PYPROJECT["project"]["license"]
    study = next(r for r in cff["references"] if r.get("doi") == "10.3389/fpos.2025.1544208")
    assert study["title"] == "Superpowers and regional powers' soft power in Kazakhstan"
    assert (study["journal"], study["volume"], study["year"]) == (
        "Frontiers in Political Science",
        7,
        2025,
    )


def test_the_installed_package_is_the_version_of_pyproject():
    assert sim.__version__ == VERSION


def test_the_changelog_has_a_dated_section_for_this_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, re.M)
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)


def test_the_core_leaves_out_the_dashboard_dask_and_the_workbench():
    core = " ".join(PYPROJECT["project"]["dependencies"])
    for name in ("solara", "ipyvuetify", "dask", "ema", "mesa[viz]"):
        assert name not in core, name
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(extras) == set(EXTRAS)
    assert "multivector[analysis,dashboard,dask]" in PYPROJECT["dependency-groups"]["dev"]


TINY_SOBOL = str(ROOT / "tests" / "sweeps" / "tiny_sobol.toml")


@pytest.mark.parametrize(
    ("extra", "arguments"),
    [
        ("dashboard", ["dashboard", str(TINY)]),
        ("dask", ["sweep", TINY_SOBOL, "--backend", "dask", "--out", "{out}"]),
    ],
)
def test_a_command_without_its_extra_says_which_to_install(extra, arguments, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    missing = EXTRAS[extra]
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a)
    )
    out = tmp_path / "out"
    result = invoke(*(a.format(out=out) for a in arguments))
    assert_refused(result, f"pip install 'multivector[{extra}]'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()  # nothing was written


CORE_ONLY = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # as if not installed: importing it fails
from typer.testing import CliRunner
from sim.app.cli import app
import sim

result = sim.run({tiny!r}, until="2015-03")
assert len(result.timeseries) > 0
runner = CliRunner()
done = runner.invoke(app, ["sweep", {sweep!r}, "--out", {out!r}, "--workers", "1", "--quiet"])
assert done.exit_code == 0, done.output
done = runner.invoke(app, ["analyze", {out!r}, "--quiet"])
assert done.exit_code == 0, done.output
for command in (["dashboard"], ["analyze", {out!r}, "--method", "prim", "--condition", "x > 1"]):
    done = runner.invoke(app, command)
    assert done.exit_code == 2 and "pip install" in done.stderr, done.output
loaded = [m for m, v in sys.modules.items() if v is not None
          and any(m == b or m.startswith(b + ".") for b in {blocked!r})]
print("core ok", sorted(loaded))
"""


def test_the_core_runs_sweeps_and_analyses_without_any_extra(tmp_path):
    """In a process where the extras' modules cannot be imported."""
    blocked = sorted({m for modules in EXTRAS.values() for m in modules} | {"mesa.visualization"})
    code = CORE_ONLY.format(
        blocked=blocked,
        tiny=str(TINY),
        sweep=TINY_SOBOL,
        out=str(tmp_path / "sweep"),
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("core ok []"), done.stdout
