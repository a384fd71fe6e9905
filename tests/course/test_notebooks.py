"""The course's notebooks as committed: built from their solutions, clean, and complete.

These tests read the notebooks, they never run or change them (nbval runs them, see README).
In a learner's clone, a notebook changed since the build (the learner's work) is compared
through git's committed copy instead, so the tests check the course, not the answers.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from attnlib.course import build
from attnlib.check import EXERCISES

SOLUTIONS = sorted(build.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in SOLUTIONS]


def course_copy(name: str) -> str:
    """Return the text of notebooks/<name> as the course ships it (git's copy if the learner edited it)."""
    path = build.NOTEBOOKS / name
    text = path.read_text() if path.exists() else None
    if text is not None and build.read_manifest(build.NOTEBOOKS).get(name) == build.sha256(text):
        return text
    try:
        return subprocess.run(
            ["git", "show", f"HEAD:notebooks/{name}"], cwd=build.REPO, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        if text is None:
            pytest.fail(f"notebooks/{name} is missing: run `python -m attnlib build`")
        pytest.skip(f"notebooks/{name} was changed after the build and git has no committed copy to check")


def test_there_are_solutions():
    assert SOLUTIONS, "no solution notebooks found"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_exercise_notebook_is_exactly_what_the_build_makes(path):
    assert course_copy(path.name) == build.render(path), (
        f"notebooks/{path.name} is not what the build makes from solutions/{path.name}: "
        "run `python -m attnlib build` (make notebooks) and commit the result"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_the_build_manifest_knows_the_current_build(path):
    assert build.read_manifest(build.NOTEBOOKS).get(path.name) == build.sha256(build.render(path))


def test_no_exercise_notebook_lacks_a_solution():
    names = {p.name for p in build.NOTEBOOKS.glob("*.ipynb")}
    assert names <= set(IDS), f"exercise notebooks without a solution: {sorted(names - set(IDS))}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_exercise_notebook_carries_no_outputs_or_solutions(path):
    nb = nbformat.reads(course_copy(path.name), 4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {index} has outputs"
        for marker in (build.BEGIN_SOLUTION, build.BEGIN_ANSWER, "Model answer"):
            assert marker not in cell.source, f"cell {index} still holds '{marker}'"
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solution_is_executed_and_holds_no_machine_paths(path):
    nb = nbformat.read(str(path), 4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "run the solution so its outputs are stored"
    assert build.machine_paths(nb) == []
    assert "widgets" not in nb.metadata, "widget state changes every run: drop it (python -m attnlib execute does)"
    assert "version" not in nb.metadata.get("language_info", {}), "the Python version is a machine fact: drop it"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == [], "a solution notebook stores an error"


def test_machine_paths_are_found():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", id="a")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="warning in /home/ada/course/x.py\n")]
    assert len(build.machine_paths(nb)) == 1


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_notebook_anatomy(path):
    nb = nbformat.read(str(path), 4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {path.name[:2]} ")
    for heading in ("What you will learn", "Prerequisites", "Exercise", "## Summary", "## Where next"):
        assert heading in text, f"{path.name} lacks '{heading}'"
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids), "cell ids must be unique"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_every_exercise_of_the_notebook_is_checked_in_it(path):
    number = path.name[:2]
    source = "\n".join(c.source for c in nbformat.read(str(path), 4).cells if c.cell_type == "code")
    expected = {name for name, ex in EXERCISES.items() if ex.notebook == number}
    called = set(re.findall(r"check\.(\w+)\(", source)) - {"fallback", "graded"}
    assert expected <= called, f"exercises of notebook {number} never checked there: {sorted(expected - called)}"
    assert called <= set(EXERCISES), f"unknown checks called: {sorted(called - set(EXERCISES))}"
