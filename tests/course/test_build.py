"""The build: solution regions become stubs, outputs go, and a learner's changes are never overwritten."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from attnlib.course import build
from attnlib.__main__ import main


def test_strip_code_keeps_the_indentation_and_the_code_around_the_region():
    source = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\ncheck(f)"
    assert build.strip_code(source) == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\ncheck(f)"
    )


def test_strip_code_handles_several_regions_and_leaves_plain_code_alone():
    source = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n  ### BEGIN SOLUTION\n  c = 3\n  ### END SOLUTION"
    assert build.strip_code(source) == (
        "# YOUR CODE HERE\nraise NotImplementedError()\nb = 2\n  # YOUR CODE HERE\n  raise NotImplementedError()"
    )
    assert build.strip_code("x = 1\nprint(x)") == "x = 1\nprint(x)"


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_unpaired_markers_are_an_error_that_names_the_cell(source, fragment):
    with pytest.raises(build.BuildError, match=fragment) as info:
        build.strip_code(source, where="nb.ipynb, cell 3")
    assert "nb.ipynb, cell 3" in str(info.value)


def test_strip_markdown_replaces_the_model_answer_by_a_prompt():
    source = "### Question\nWhy?\n\n<!-- BEGIN ANSWER -->\nBecause.\nReally.\n<!-- END ANSWER -->\nAfter."
    assert build.strip_markdown(source) == f"### Question\nWhy?\n\n{build.ANSWER_PROMPT}\nAfter."


def _solution(answer: str = "return 42") -> nbformat.NotebookNode:
    code = new_code_cell(f"def f():\n    ### BEGIN SOLUTION\n    {answer}\n    ### END SOLUTION\nf()", id="code")
    code.outputs = [new_output("execute_result", {"text/plain": "42"}, execution_count=1)]
    code.execution_count = 1
    code.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    text = new_markdown_cell("# Title\n<!-- BEGIN ANSWER -->\nsecret\n<!-- END ANSWER -->", id="text")
    nb = new_notebook(cells=[text, code])
    nb.metadata["widgets"] = {"state": {}}
    return nb


def test_exercise_notebook_has_no_outputs_no_state_and_no_solutions():
    nb = build.exercise_notebook(_solution())
    code = nb.cells[1]
    assert code.outputs == [] and code.execution_count is None and "execution" not in code.metadata
    assert "widgets" not in nb.metadata
    assert "42" not in code.source and "raise NotImplementedError()" in code.source
    assert "secret" not in nb.cells[0].source and build.ANSWER_PROMPT in nb.cells[0].source
    assert [c.id for c in nb.cells] == ["text", "code"], "cell ids are kept"


@pytest.fixture
def course(tmp_path):
    """A tiny course: two solution notebooks and an empty exercise folder."""
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nbformat.write(_solution(), str(solutions / "01_first.ipynb"))
    nbformat.write(_solution("return 7"), str(solutions / "02_second.ipynb"))
    return solutions, notebooks


def _actions(outcomes):
    return {o.name: o.action for o in outcomes}


def test_build_is_idempotent(course):
    solutions, notebooks = course
    first = build.build(solutions, notebooks)
    assert _actions(first) == {"01_first.ipynb": "written", "02_second.ipynb": "written"}
    snapshot = {p.name: p.read_bytes() for p in notebooks.iterdir()}
    second = build.build(solutions, notebooks)
    assert _actions(second) == {"01_first.ipynb": "unchanged", "02_second.ipynb": "unchanged"}
    assert {p.name: p.read_bytes() for p in notebooks.iterdir()} == snapshot
    assert json.loads((notebooks / build.MANIFEST).read_text())["01_first.ipynb"] == build.sha256(snapshot["01_first.ipynb"])


def test_build_never_overwrites_a_learners_notebook_unless_forced(course, capsys):
    solutions, notebooks = course
    build.build(solutions, notebooks)
    mine = notebooks / "01_first.ipynb"
    nb = nbformat.read(str(mine), 4)
    nb.cells[1].source = nb.cells[1].source.replace("raise NotImplementedError()", "return 41")
    nbformat.write(nb, str(mine))
    work = mine.read_bytes()

    nbformat.write(_solution("return 43"), str(solutions / "01_first.ipynb"))  # the course moves on
    outcomes = build.build(solutions, notebooks)
    assert _actions(outcomes)["01_first.ipynb"] == "skipped"
    assert mine.read_bytes() == work, "the learner's notebook must be left as it was"
    assert "--force" in next(o.reason for o in outcomes if o.name == "01_first.ipynb")

    assert main(["build", "--solutions", str(solutions), "--out", str(notebooks)]) == 0
    printed = capsys.readouterr().out
    assert "skipped" in printed and "01_first.ipynb" in printed and "--force" in printed
    assert mine.read_bytes() == work

    forced = build.build(solutions, notebooks, force=True)
    assert _actions(forced)["01_first.ipynb"] == "written"
    assert "return 41" not in mine.read_text()
    assert mine.read_text() == build.render(solutions / "01_first.ipynb")


def test_an_untouched_notebook_follows_its_solution(course):
    solutions, notebooks = course
    build.build(solutions, notebooks)
    sol = _solution()
    sol.cells[0].source = "# A new title\n<!-- BEGIN ANSWER -->\nsecret\n<!-- END ANSWER -->"
    nbformat.write(sol, str(solutions / "02_second.ipynb"))
    assert _actions(build.build(solutions, notebooks))["02_second.ipynb"] == "written"
    assert "A new title" in (notebooks / "02_second.ipynb").read_text()


def test_a_notebook_without_manifest_entry_that_differs_is_kept(course):
    solutions, notebooks = course
    notebooks.mkdir()
    (notebooks / "01_first.ipynb").write_text("{}")  # someone else's file, unknown to the build
    assert _actions(build.build(solutions, notebooks))["01_first.ipynb"] == "skipped"
    assert (notebooks / "01_first.ipynb").read_text() == "{}"


def test_orphans_are_reported_and_left_alone(course):
    solutions, notebooks = course
    notebooks.mkdir()
    (notebooks / "99_mine.ipynb").write_text("{}")
    outcomes = build.build(solutions, notebooks)
    assert _actions(outcomes)["99_mine.ipynb"] == "orphan"
    assert (notebooks / "99_mine.ipynb").read_text() == "{}"


def test_no_solutions_is_an_error(tmp_path):
    with pytest.raises(build.BuildError, match="no solution notebooks"):
        build.build(tmp_path, tmp_path / "out")
    assert main(["build", "--solutions", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
