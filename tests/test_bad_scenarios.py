"""A corpus of broken scenario files: each must be refused before anything runs, with a
message naming the file and the key, and saying what is allowed.

Every file in ``tests/bad/`` starts with ``# expect: <fragment of the message>``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.inputs.errors import ScenarioError
from sim.inputs.scenario import load_scenario

BAD = sorted((Path(__file__).parent / "bad").glob("*.toml"))


def expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} does not say what it expects"
    return first.removeprefix("# expect: ")


def test_the_corpus_is_large_enough():
    assert len(BAD) >= 20


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_scenario_is_refused_with_a_clear_message(path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert expected(path) in message
    assert path.name in message


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    """One pass: a broken extends, a bad value and bad events are all reported together,
    each with its line."""
    path = tmp_path / "many.toml"
    path.write_text(
        'name = "many"\ndescription = "x"\nextends = "nowhere"\n'
        '[state]\nbalance_strength = "high"\nscreening = nan\n'
        '[[events]]\ndate = 2022-02-01\naction = "add"\npath = "state.screening"\nvalue = 1\n'
        '[[evnts]]\ndate = "2022-02"\n'
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    for fragment in (
        ":3: extends: unknown scenario 'nowhere'",
        ":5: state.balance_strength: Input should be a valid number",
        ":6: state.screening: must be a finite number",
        ':8: events[0].date: write dates as quoted text, "2022-02"',
        ":12: evnts: unknown key 'evnts'",
        "did you mean events?",
    ):
        assert fragment in message, message


def test_events_are_checked_against_the_rest_when_a_value_is_wrong(tmp_path):
    """A wrong value elsewhere does not hide an event's problems."""
    path = tmp_path / "events.toml"
    path.write_text(
        'name = "x"\ndescription = "x"\nextends = "baseline"\n'
        "[state]\nbalance_strength = -1\n"
        '[[events]]\ndate = "2020-01"\naction = "shock"\npower = "Japan"\ndelta = 0.1\n'
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "state.balance_strength" in str(caught.value)
    assert "unknown power 'Japan'" in str(caught.value)


def test_locating_problems_is_linear_in_the_file(tmp_path):
    """Four times the bad events take about four times as long, not sixteen (each line is
    indexed once). A ratio of two timings on the same machine, not a wall-clock bound."""
    import time

    def seconds(count: int) -> float:
        path = tmp_path / f"events{count}.toml"
        event = '[[events]]\ndate = "2099-01"\naction = "add"\npath = "powers.Nope.x"\nvalue = 1\n'
        path.write_text('name = "x"\ndescription = "x"\nextends = "baseline"\n' + event * count)
        started = time.perf_counter()
        with pytest.raises(ScenarioError):
            load_scenario(path)
        return time.perf_counter() - started

    seconds(50)  # warm up
    few, many = min(seconds(200) for _ in range(3)), min(seconds(800) for _ in range(3))
    assert many / few < 8, f"{few:.3f} s for 200 events, {many:.3f} s for 800"
