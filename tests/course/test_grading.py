"""solutions/ as nbgrader source: metadata up to date, one graded test cell per exercise, hidden tests hidden."""
from __future__ import annotations

import nbformat
import pytest

from attnlib.course import build, grading
from attnlib.check import EXERCISES, graded
from attnlib.check.result import LATEST

SOLUTIONS = sorted(build.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_solution_notebook_is_valid_nbgrader_source(path):
    nb = nbformat.read(str(path), as_version=4)
    assert grading.problems(nb, path.name[:2]) == []
    kinds = [c.metadata["nbgrader"] for c in nb.cells]
    assert all(k["schema_version"] == 3 and k["grade_id"] for k in kinds)
    tests = [k for k in kinds if k["grade"] and not k["solution"]]
    assert len(tests) == sum(1 for ex in EXERCISES.values() if ex.notebook == path.name[:2])
    assert all(k["locked"] and k["points"] == grading.CHECK_POINTS for k in tests)
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        if cell.cell_type == "markdown" and build.BEGIN_ANSWER in cell.source:
            assert meta["solution"] and meta["grade"] and meta["points"] == grading.FREE_TEXT_POINTS and not meta["locked"]
        elif cell.cell_type == "markdown":
            assert meta["locked"] and not meta["solution"]  # the prose is read-only in a class


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_learners_never_see_the_grading_lines(path):
    exercise = nbformat.reads(build.render(path), as_version=4)
    text = "\n".join(c.source for c in exercise.cells)
    assert "check.graded(" not in text and build.BEGIN_HIDDEN not in text


def test_annotate_marks_solution_answer_test_and_read_only_cells():
    nb = nbformat.v4.new_notebook()
    sources = [("markdown", "# Title"), ("code", "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
               ("code", 'f = check.fallback("softmax", f)\n### BEGIN HIDDEN TESTS\ncheck.graded("softmax")\n### END HIDDEN TESTS'),
               ("markdown", "<!-- BEGIN ANSWER -->\nwords\n<!-- END ANSWER -->"), ("code", "print(1)")]
    for i, (kind, source) in enumerate(sources):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        cell.id = f"c{i}"
        nb.cells.append(cell)
    meta = [c.metadata["nbgrader"] for c in grading.annotate(nb).cells]
    assert [(m["solution"], m["grade"], m["locked"]) for m in meta] == [
        (False, False, True), (True, False, False), (False, True, True), (True, True, False), (False, False, True)]
    assert meta[2]["grade_id"] == "test-softmax" and meta[2]["points"] == 1 and meta[3]["points"] == 2
    nb.cells[2].source += '\ncheck.graded("softmax")'
    assert grading.graded_exercise(nb.cells[2]) is None  # two graded calls in one cell: ambiguous, not a test cell


def test_graded_raises_with_the_diagnosis_unless_the_check_passed():
    from attnlib import check, softmax

    check.softmax(softmax)
    assert graded("softmax") is None
    check.softmax(lambda x, axis=-1: x)
    with pytest.raises(AssertionError, match="softmax: failed"):
        graded("softmax")
    LATEST.pop("causal_mask", None)
    with pytest.raises(AssertionError, match="never ran"):
        graded("causal_mask")
    with pytest.raises(ValueError, match="no exercise"):
        graded("not_an_exercise")


def test_the_build_removes_hidden_tests_at_any_place():
    source = 'a = 1\n### BEGIN HIDDEN TESTS\ncheck.graded("x")\n### END HIDDEN TESTS\nb = 2'
    assert build.strip_code(source) == "a = 1\nb = 2"
    with pytest.raises(build.BuildError, match="never closed"):
        build.strip_code("### BEGIN HIDDEN TESTS\nx")
