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
