"""Nothing a user types can crash the program, corrupt its results or hang it.

Hypothesis mutates the shipped scenarios and sweep files (numbers made NaN, infinite, huge,
negative or of the wrong type; keys deleted, duplicated or misspelt; deep nesting, long
strings, many events, bad dates, bad ``extends``), and a table abuses every command's
options. Every case must end with exit status 0 and finite tables, or exit status 2 with a
message and no traceback, within a time bound. Commands run in this process
(:func:`conftest.invoke`): an exception escaping a command fails the test.

The examples are derandomized, so CI sees the same cases every time.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiments.sweep import spec as sweeps
from sim.inputs.errors import ScenarioError
from sim.inputs.limits import MAX_RUNS

ROOT = Path(__file__).parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
SWEEPS = sorted((ROOT / "sweeps").glob("*.toml")) + sorted((ROOT / "tests/sweeps").glob("*.toml"))
CHECK_SECONDS = 5.0
"""Bound on one ``check`` of a mutated file (they take 0.01-0.2 s; generous for busy CI)."""
RUN_SECONDS = 30.0
"""Bound on one tiny run (100 persons, three months) or a sweep file's check and design."""

SMALL = ["--population", "100", "--until", "2015-03", "--quiet"]

NUMBER = re.compile(r"^(\s*[\w.\"-]+\s*=\s*)(-?\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)(\s*(?:#.*)?)$")
KEY = re.compile(r"^(\s*)([A-Za-z_][\w-]*)(\s*=)")
MONTH = re.compile(r'"\d{4}-\d{2}"')
BAD_NUMBERS = [
    "nan",
    "+nan",
    "inf",
    "-inf",
    "1e999",
    "1e308",
    "-1e308",
    "1e-320",
    "-1",
    "-0.0",
    "0",
    "99999999999999999999999999",
    "2000000",
    '"text"',
    '""',
    "true",
    "[1, 2]",
    "{ a = 1 }",
    "2022-02-01",
    "10:00:00",
]
BAD_DATES = [
    '"2022-13"',
    '"2022-00"',
    "2022-02",
    "2022-02-01",
    '""',
    '"22-02"',
    '"2022-2"',
    '"9999-12"',
    '"0000-01"',
    '"2022-02-01"',
    "202202",
]
BAD_EXTENDS = [
    '"/etc/passwd"',
    '"/work/main/scenarios/baseline.toml"',
    '"../../../../etc/passwd"',
    '"../scenarios/baseline"',
    '"~/baseline"',
    '"' + "a" * 5000 + '"',
    '""',
    '"nowhere"',
    "3",
    "[]",
    '"baseline\\u0000"',
    '"mutated"',  # itself: a cycle
    '"."',
]
EVENT = (
    '\n[[events]]\ndate = "2015-02"\nlabel = {label}\naction = "add"\n'
    'path = "state.screening"\nvalue = {value}\n'
)


@pytest.fixture(scope="module")
def folder():
    """A scratch folder, after one run that compiles the model's kernels: on a fresh
    clone numba's cache is empty, and the first ``check`` of the module would otherwise
    time the compilation, not the check."""
    with tempfile.TemporaryDirectory() as path:
        warm = invoke("run", TINY, *SMALL, "--out", Path(path) / "warm")
        assert warm.exit_code == 0, warm.output
        yield Path(path)


@st.composite
def mutation(draw, text: str) -> str:
    """One change a user (or an attacker) could make to a TOML file."""
    lines = text.splitlines()
    kind = draw(
        st.sampled_from(
            [
                "number",
                "number",
                "delete",
                "duplicate",
                "misspell",
                "nest",
                "long",
                "events",
                "date",
                "extends",
                "garbage",
            ]
        )
    )
    pick = st.integers(0, max(len(lines) - 1, 0))
    if kind == "number":
        numbered = [i for i, line in enumerate(lines) if NUMBER.match(line)]
        if numbered:
            i = draw(st.sampled_from(numbered))
            value = draw(st.sampled_from(BAD_NUMBERS))
            lines[i] = NUMBER.sub(lambda m: m[1] + value + m[3], lines[i])
    elif kind == "delete" and lines:
        del lines[draw(pick)]
    elif kind == "duplicate" and lines:
        i = draw(pick)
        lines.insert(i, lines[i])
    elif kind == "misspell":
        keyed = [i for i, line in enumerate(lines) if KEY.match(line)]
        if keyed:
            i = draw(st.sampled_from(keyed))
            how = draw(st.sampled_from(["drop", "double", "upper", "plural"]))

            def misspelt(m: re.Match) -> str:
                key = m[2]
                key = {
                    "drop": key[:-1] or "x",
                    "double": key + key[-1],
                    "upper": key.upper(),
                    "plural": key + "s",
                }[how]
                return m[1] + key + m[3]

            lines[i] = KEY.sub(misspelt, lines[i])
    elif kind == "nest":
        depth = draw(st.sampled_from([15, 16, 17, 40, 3000]))
        form = draw(st.sampled_from(["array", "inline", "dotted", "header"]))
        nested = {
            "array": "deep = " + "[" * depth + "]" * depth,
            "inline": "deep = " + "{ a = " * depth + "1" + " }" * depth,
            "dotted": ".".join(["a"] * depth) + " = 1",
            "header": "[" + ".".join(["a"] * depth) + "]\nb = 1",
        }[form]
        at = draw(st.sampled_from(["top", "end"]))
        lines = [nested, *lines] if at == "top" else [*lines, nested]
    elif kind == "long":
        size = draw(st.sampled_from([64, 65, 200, 201, 20_001, 200_000]))
        key = draw(st.sampled_from(["name", "description", "label", "power"]))
        long = '"' + "x" * size + '"'
        if key == "label":
            lines.append(EVENT.format(label=long, value="0.01"))
        elif key == "power":
            lines.append(f"[powers.{'A' * size}]\ncapacity = 1.0")
        else:
            lines = [f"{key} = {long}" if line.startswith(f"{key} =") else line for line in lines]
    elif kind == "events":
        count = draw(st.sampled_from([1, 50, 499, 501, 3000]))
        value = draw(st.sampled_from(["0.01", "nan", "inf", "-inf", "1e308"]))
        lines.append(EVENT.format(label='"e"', value=value) * count)
    elif kind == "date":
        dated = [i for i, line in enumerate(lines) if MONTH.search(line)]
        if dated:
            i = draw(st.sampled_from(dated))
            lines[i] = MONTH.sub(draw(st.sampled_from(BAD_DATES)), lines[i], count=1)
    elif kind == "extends":
        target = draw(st.sampled_from(BAD_EXTENDS))
        lines = [line for line in lines if not line.startswith("extends")]
        lines.insert(0, f"extends = {target}")
    else:
        garbage = draw(st.text(alphabet="[]{}=\"'#.,\n\\ax1", max_size=30))
        lines.insert(draw(pick), garbage)
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw, files: list[Path]) -> tuple[str, str]:
    path = draw(st.sampled_from(files))
    text = path.read_text()
    for _ in range(draw(st.integers(1, 3))):
        text = draw(mutation(text))
    return path.name, text


def refused_or_ok(result, seconds: float, bound: float) -> None:
    """Exit 0, or exit 2 with a message; never a traceback, never too slow."""
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "error" in result.output.lower(), result.output
    assert seconds < bound, f"took {seconds:.1f} s"


def finite_tables(out: Path) -> None:
    """Every number of every table a run wrote is finite."""
    tables = [p for p in out.rglob("*.csv") if p.name != "manifest.csv"]
    assert tables, list(out.iterdir())
    for path in tables:
        numbers = pd.read_csv(path).select_dtypes("number")
        assert np.isfinite(numbers.to_numpy(dtype=float)).all(), path


def write(folder: Path, text: str) -> Path:
    path = folder / "mutated.toml"
    path.write_text(text)
    return path


FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(FUZZ, max_examples=230)
@given(case=mutated(SCENARIOS))
def test_a_mutated_scenario_is_checked_or_refused(folder, case):
    _, text = case
    path = write(folder, text)
    started = time.perf_counter()
    done = invoke("check", path)
    refused_or_ok(done, time.perf_counter() - started, CHECK_SECONDS)
    if done.exit_code == 2:
        assert "mutated.toml" in done.stderr or "command line" in done.stderr, done.stderr


@settings(FUZZ, max_examples=20)
@given(case=mutated([TINY, *SCENARIOS[:3]]))
def test_a_mutated_scenario_runs_with_finite_tables_or_is_refused(folder, case):
    _, text = case
    path = write(folder, text)
    out = folder / f"run-{time.monotonic_ns()}"
    started = time.perf_counter()
    done = invoke("run", path, *SMALL, "--out", out)
    refused_or_ok(done, time.perf_counter() - started, RUN_SECONDS)
    if done.exit_code == 0:
        finite_tables(out)
    else:
        assert not out.exists()


@settings(FUZZ, max_examples=45)
@given(case=mutated(SWEEPS))
def test_a_mutated_sweep_file_is_checked_or_refused_before_any_design(folder, case):
    """A sweep file is checked (and its design drawn) or refused; a design is never larger
    than the limit. (The sweep itself is not run: ``sweep`` runs only what was checked.)"""
    name, text = case
    here = folder / ("tests-sweeps" if name == "tiny_sobol.toml" else "sweeps")
    here.mkdir(exist_ok=True)
    (folder / "scenarios").mkdir(exist_ok=True)
    (folder / "scenarios" / "tiny.toml").write_text(TINY.read_text())
    path = here / "mutated.toml"
    path.write_text(text)
    started = time.perf_counter()
    try:
        sweep = sweeps.load(path)
        points = sweeps.design(sweep)
    except ScenarioError as err:
        assert "mutated.toml" in str(err)
    else:
        assert len(points) * sweep.spec.design.replications <= MAX_RUNS
        assert np.isfinite(points.select_dtypes("number").to_numpy(dtype=float)).all()
    assert time.perf_counter() - started < RUN_SECONDS


HUGE = "9" * 30
OPTIONS = [
    # run
    ("run", TINY, "--until", ""),
    ("run", TINY, "--until", " "),
    ("run", TINY, "--until", "2015-13"),
    ("run", TINY, "--until", "1900-01"),
    ("run", TINY, "--until", "nan"),
    ("run", TINY, "--population", "-5"),
    ("run", TINY, "--population", "0"),
    ("run", TINY, "--population", HUGE),
    ("run", TINY, "--population", "nan"),
    ("run", TINY, "--seed", "-1"),
    ("run", TINY, "--seed", "nan"),
    ("run", TINY, "--reps", "0"),
    ("run", TINY, "--reps", "1000000000000"),
    ("run", TINY, "--workers", "-1"),
    ("run", TINY, "--snapshot", ""),
    ("run", TINY, "--snapshot", "2099-01"),
    ("run", TINY, "--set", ""),
    ("run", TINY, "--set", "="),
    ("run", TINY, "--set", "state.screening"),
    ("run", TINY, "--set", "state.screening=nan"),
    ("run", TINY, "--set", "state.screening=inf"),
    ("run", TINY, "--set", "state.screening=-inf"),
    ("run", TINY, "--set", "state.screening=1e999"),
    ("run", TINY, "--set", "state.screening=[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"),
    ("run", TINY, "--set", "state.screening=" + "[" * 5000),
    ("run", TINY, "--set", ".".join(["a"] * 5000) + "=1"),
    ("run", TINY, "--set", "nope.nothing=1"),
    ("run", TINY, "--set", "state.screening.x=1"),
    ("run", TINY, "--set", "run.population=" + HUGE),
    ("run", TINY, "--set", "run.end=2015-02"),
    ("run", TINY, "--set", 'run.end="2015-02"', "--until", "2015-03"),
    ("run", TINY, "--set", "name=" + "x" * 5000),
    ("run", "x" * 5000),
    ("run", ""),
    ("run", "/dev/null"),
    ("run", "/"),
    ("run", ROOT / "scenarios"),
    # check
    ("check", ""),
    ("check", "x" * 5000),
    ("check", "/dev/null"),
    ("check", "/etc/passwd"),
    ("check", ROOT / "scenarios"),
    ("check", "nonexistent", "baseline"),
    # compare
    ("compare", TINY),
    ("compare", TINY, TINY, "--until", ""),
    ("compare", TINY, TINY, "--at", ""),
    ("compare", TINY, TINY, "--at", "2099-01"),
    ("compare", TINY, "x" * 5000),
    ("compare", TINY, TINY, "--reps", "-3"),
    # plot
    ("plot", "nowhere"),
    ("plot", "x" * 5000),
    ("plot", ""),
    ("plot", ROOT / "scenarios"),
    ("plot", ROOT / "scenarios", "--kind", "nope"),
    ("plot", ROOT / "scenarios", "--format", "exe"),
    ("plot", ROOT / "scenarios", "--kind", "sweep"),
    # sweep
    ("sweep", "nowhere.toml", "--out", "{out}"),
    ("sweep", ROOT / "tests" / "bad_sweeps" / "unknown_path.toml", "--out", "{out}"),
    ("sweep", ROOT / "tests" / "sweeps" / "tiny_sobol.toml", "--out", "{out}", "--batch", "0"),
    ("sweep", ROOT / "tests" / "sweeps" / "tiny_sobol.toml", "--out", "{out}", "--workers", "0"),
    ("sweep", ROOT / "tests" / "sweeps" / "tiny_sobol.toml", "--out", "{out}", "--shard", "3/2"),
    ("sweep", ROOT / "tests" / "sweeps" / "tiny_sobol.toml", "--out", "{out}", "--shard", "x"),
    ("sweep", ROOT / "tests" / "sweeps" / "tiny_sobol.toml", "--out", "{out}", "--backend", "x"),
    # validate
    ("validate", "--seeds", "0"),
    ("validate", "--seeds", "1000000000000"),
    ("validate", "--population", "-1"),
    ("validate", "--population", "nan"),
    ("validate", "--check", "nope"),
    ("validate", "--check", ""),
    # analyze
    ("analyze", "nowhere"),
    ("analyze", "x" * 5000),
    ("analyze", ""),
    ("analyze", ROOT / "scenarios"),
    ("analyze", ROOT / "scenarios", "--outcome", "x" * 5000),
]
RUNS = [
    ("run", TINY, "--set", "population.elite_share=0"),
    ("run", TINY, "--population", "250"),
    ("run", TINY, "--seed", HUGE),
    ("run", TINY, "--set", "state.screening=1e-320"),
]
"""Accepted abuses: each must run to exit 0 with finite tables (no elites, few persons,
a seed beyond 64 bits, a subnormal number)."""


@pytest.mark.parametrize("args", OPTIONS, ids=lambda a: " ".join(map(str, a))[:60])
def test_an_abused_option_is_refused_or_harmless(tmp_path, args):
    args = [str(a).replace("{out}", str(tmp_path / "out")) for a in args]
    started = time.perf_counter()
    done = invoke(*args, *(["--out", tmp_path / "x"] if args[0] in ("run", "compare") else []))
    refused_or_ok(done, time.perf_counter() - started, CHECK_SECONDS * 2)


@pytest.mark.parametrize("args", RUNS, ids=lambda a: " ".join(map(str, a))[:60])
def test_an_odd_but_valid_run_writes_finite_tables(tmp_path, args):
    out = tmp_path / "out"
    done = invoke(*args, "--until", "2015-04", "--quiet", "--out", out)
    assert done.exit_code == 0, done.output
    finite_tables(out)
