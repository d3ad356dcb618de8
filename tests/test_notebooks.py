"""The notebooks: committed without outputs, and run top to bottom here (with nbclient),
each showing its figures as pictures (``image/png``), never as the text
``<Figure size 640x480 with 1 Axes>`` a figure leaves when no backend draws it.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIGURE_AS_TEXT = "<Figure size"


def test_the_lesson_and_the_student_notebook_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_what_if.ipynb", "03_influence_trajectories.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_use_the_public_python_api_only(path):
    """``import sim`` and the comparison table (``sim.results.compare``), nothing deeper."""
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        for line in cell["source"] if cell["cell_type"] == "code" else []:
            words = line.split()
            if words[:1] in (["import"], ["from"]) and words[1].startswith("sim"):
                assert line.strip() in ("import sim", "from sim.results import compare"), line


def figure_problems(notebook: dict) -> list[str]:
    """What keeps a run notebook from showing its figures: no picture at all, or a figure
    shown only as text."""
    problems, pictures = [], 0
    for number, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            pictures += "image/png" in data
            text = "".join(data.get("text/plain", "")) + "".join(output.get("text", ""))
            if FIGURE_AS_TEXT in text and "image/png" not in data:
                problems.append(f"cell {number} shows a figure as text: {text.strip()[:60]}")
    if not pictures:
        problems.append("no picture (image/png) in any output")
    return problems


def test_a_figure_shown_as_text_is_a_problem():
    as_text = {"output_type": "execute_result", "data": {"text/plain": "<Figure size 1000x750>"}}
    picture = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "x"}}
    assert figure_problems({"cells": [{"outputs": [as_text]}]}) == [
        "cell 0 shows a figure as text: <Figure size 1000x750>",
        "no picture (image/png) in any output",
    ]
    assert figure_problems({"cells": [{"outputs": [as_text, picture]}]}) == [
        "cell 0 shows a figure as text: <Figure size 1000x750>"
    ]
    assert figure_problems({"cells": [{"outputs": [picture]}]}) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_shows_its_figures(path):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # run beside the notebook
    )
    client.execute()  # a cell that raises fails the test with its traceback
    problems = figure_problems(json.loads(nbformat.writes(notebook)))
    assert not problems, f"{path.name}: " + "; ".join(problems)
