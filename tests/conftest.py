"""Shared fixtures: a tiny scenario (three powers, 300 persons, three years), and the
command line run in this process or, for the few end-to-end tests, as ``multivector``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import hypothesis
import pytest
from click.testing import Result
from typer.testing import CliRunner

from sim.app.cli import app
from sim.inputs.scenario import load_with_profile
from sim.model.model import MultivectorModel

TESTS = Path(__file__).parent
TINY = TESTS / "scenarios" / "tiny.toml"
EXE = shutil.which("multivector") or str(Path(sys.executable).parent / "multivector")
"""The installed entry point, for the few tests that need a real process."""
PERSON_COLUMNS = {
    "ethnicity",
    "language",
    "age",
    "area",
    "region",
    "elite",
    "identity",
    "attraction_Alpha",
    "attraction_Beta",
    "attraction_Gamma",
}
"""Columns of the person-level table of the tiny scenario."""

hypothesis.settings.register_profile("compiled", deadline=None)
hypothesis.settings.load_profile("compiled")
"""No deadline per example: the first call of a compiled rule compiles it (or loads it from
numba's cache), which on a fresh clone takes seconds; Hypothesis would take that for a slow
rule, and then, as the rerun is quick, for a flaky one."""


def tiny(**overrides):
    """The tiny scenario with dotted-path overrides, and its profile."""
    scenario, profile, _ = load_with_profile(TINY, overrides)
    return scenario, profile


def tiny_model(seed: int | None = None, **overrides) -> MultivectorModel:
    scenario, profile = tiny(**overrides)
    return MultivectorModel(scenario, profile=profile, seed=seed)


@pytest.fixture(scope="session")
def tiny_run() -> MultivectorModel:
    """The tiny scenario run to its end once per session (read-only for tests)."""
    return tiny_model().run_to()


def invoke(*args: str | Path) -> Result:
    """``multivector ARGS`` run in this process: the exit status, stdout and stderr apart.

    An exception that escapes the command is raised here, so it fails the test: from the
    entry point it would have been a traceback.
    """
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def assert_refused(result: Result, *fragments: str) -> None:
    """A user error: exit status 2, each fragment on stderr, and no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a plain exit, not an escaped error
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def run_cli_subprocess(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``multivector ARGS`` through the installed entry point, in a process of its own."""
    return subprocess.run(
        [EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600
    )
