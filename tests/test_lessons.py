"""docs/lessons.md: a lesson for each entry of the lessons file, every number in it what
the runs give (within the stated tolerance), and what its prose says about them still true.

The runs are small (``reference.LESSON_SIZE``: the baseline and six scenarios, three runs of
1,500 persons each, to 2030-12) and shared by every test here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import TINY, invoke

from sim.app import reference
from sim.inputs.scenario import shipped_scenarios

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "lessons.md"
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
LESSONS = reference.lesson_plans()
WANTED = {
    "post2022_russia_weakening",
    "china_charm_offensive",
    "western_disengagement",
    "hostile_russian_rhetoric",
    "national_identity_first",
    "no_multivector_balancing",
}


def test_every_lesson_of_the_lessons_file_is_in_the_document():
    assert {lesson.scenario for lesson in LESSONS} >= WANTED
    text = DOC.read_text()
    for lesson in LESSONS:
        assert lesson.scenario in shipped_scenarios()
        start, end = reference.lesson_markers(lesson.key)
        assert text.count(start) == 1 and text.count(end) == 1, lesson.name
        section = text.split(f". {lesson.name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**Question.** {lesson.question}" in section
        assert f"multivector compare baseline {lesson.scenario}" in section
        assert f"pick *{lesson.name}*, press Play" in section
        for part in ("**What the model shows.**", "**To discuss.**", "**What the model cannot"):
            assert part in section, (lesson.name, part)


@pytest.fixture(scope="module")
def results() -> dict:
    return reference.lesson_results()


def numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in NUMBER.findall(text)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_the_numbers_in_a_lesson_are_what_the_runs_give(lesson, results):
    written = reference.between(DOC.read_text(), *reference.lesson_markers(lesson.key))
    fresh = reference.lesson_block(lesson, results)
    hint = "docs/lessons.md is out of date: run `uv run python -m sim.app.reference`"
    assert NUMBER.sub("#", written) == NUMBER.sub("#", fresh), hint
    for old, new in zip(numbers(written), numbers(fresh), strict=True):
        assert abs(old - new) <= reference.TOLERANCE, f"{hint} ({old} against {new})"


def at_end(result, measure: str, power: str) -> float:
    rows = result.timeseries
    rows = rows[(rows["date"] == reference.LESSON_SIZE["until"]) & (rows["power"] == power)]
    return float(rows[measure].median())


def state(result, measure: str) -> float:
    return float(at_end(result, measure, "Russia"))  # the state's measures repeat per power


def russia_among(result, group: str) -> float:
    return float(reference._ethnic(result, reference.LESSON_SIZE["until"])[group])


def test_what_the_lessons_say_about_their_numbers_holds(results):
    """The directions the prose of docs/lessons.md states, checked on the same runs."""
    base = results["baseline"]
    powers = ["West", "Russia", "China", "Turkey"]

    def change(name, measure, power):
        return at_end(results[name], measure, power) - at_end(base, measure, power)

    war = "post2022_russia_weakening"
    assert change(war, "attraction", "Russia") < 0 and change(war, "alignment", "Russia") < 0
    assert all(change(war, "alignment", p) > 0 for p in powers if p != "Russia")
    assert state(results[war], "effective_vectors") > state(base, "effective_vectors")
    assert results[war].timeseries["dominant_power"].iloc[-1] == "Russia"
    assert russia_among(base, "Kazakh") - russia_among(results[war], "Kazakh") > (
        russia_among(base, "Russian") - russia_among(results[war], "Russian")
    )
    # the war's economic events cut what officials weigh more than its news moves the public
    assert abs(change(war, "alignment", "Russia")) > abs(change(war, "attraction", "Russia"))

    china = "china_charm_offensive"
    rise = change(china, "attraction", "China")
    assert rise < 0.5 * at_end(base, "attraction", "China")  # far below doubling
    assert change(china, "alignment", "China") > max(rise, 0)  # officials weigh the offers
    for result in (base, results[china]):
        assert at_end(result, "elite_attraction", "China") > at_end(result, "attraction", "China")
    assert all(change(china, "alignment", p) < 0 for p in powers if p != "China")

    west = "western_disengagement"
    fall = -change(west, "attraction", "West")
    assert 0 < fall < 0.5 * at_end(base, "attraction", "West")  # no collapse
    assert -change(west, "elite_attraction", "West") > fall
    assert 0 < -change(west, "alignment", "West") < fall

    rhetoric = "hostile_russian_rhetoric"
    assert change(rhetoric, "attraction", "Russia") < 0
    kazakhs = russia_among(base, "Kazakh") - russia_among(results[rhetoric], "Kazakh")
    russians = russia_among(base, "Russian") - russia_among(results[rhetoric], "Russian")
    assert kazakhs > russians and abs(russians) < 0.01  # hardly at all: some rally
    assert abs(change(rhetoric, "alignment", "Russia")) < abs(
        change(rhetoric, "attraction", "Russia")
    )

    identity = "national_identity_first"
    assert state(results[identity], "identity") > state(base, "identity")
    falls = {p: change(identity, "attraction", p) for p in powers}
    assert all(v < 0 for v in falls.values()) and min(falls, key=falls.get) == "West"
    polled = {p: change(identity, "favourable", p) for p in powers}
    assert all(v < 0 for v in polled.values()) and min(polled, key=polled.get) == "Russia"
    assert all(abs(change(identity, "alignment", p)) < 0.02 for p in powers)

    alone = "no_multivector_balancing"
    assert state(results[alone], "effective_vectors") < 1.5
    assert state(results[alone], "dominant_share") > 0.9
    assert all(abs(change(alone, "attraction", p)) < 0.05 for p in powers)


def test_a_table_into_a_pipe_keeps_whole_names_and_the_run_names_the_glossary(tmp_path):
    """What a student copies from the lessons' commands into a file or a pipe."""
    long = tmp_path / "long.toml"
    long.write_text(
        TINY.read_text().replace('name = "tiny"', 'name = "a_scenario_with_a_long_name"', 1)
    )
    done = invoke("compare", TINY, long, "--population", "200", "--out", tmp_path / "c")
    assert done.exit_code == 0, done.output
    assert "a_scenario_with_a_long_name" in done.stdout  # not a_scenario_with_a_lo…
    done = invoke("run", TINY, "--population", "200", "--out", tmp_path / "r")
    assert done.exit_code == 0, done.output
    assert "What the numbers mean: docs/glossary.md" in done.stdout
