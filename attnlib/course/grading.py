"""nbgrader's cell metadata for the solution notebooks, made from their structure (instructor tooling).

solutions/ is valid nbgrader source (metadata schema 3), so that an instructor can release and
grade the course with ``nbgrader generate_assignment`` and ``nbgrader autograde``:

- a code cell with a ``### BEGIN SOLUTION`` region is an **autograded answer** (solution cell);
- a markdown cell with a ``<!-- BEGIN ANSWER -->`` region is a **manually graded answer**
  (``FREE_TEXT_POINTS`` points);
- the cell holding ``check.graded("<exercise>")`` in a hidden-tests region is that exercise's
  **autograded test** (``CHECK_POINTS`` point, locked): the fallback cell after a function
  exercise, or the cell that checks a prediction;
- every other cell is **read-only** (locked): prose, set-up and demonstrations.

``annotate(nb)`` sets that metadata; ``python -m attnlib grading-metadata`` rewrites solutions/
with it, and a test checks that every solution notebook is up to date. Grade ids are the cells'
own ids (``test-<exercise>`` for test cells), so they stay stable when cells are edited.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from . import build

CHECK_POINTS = 1
FREE_TEXT_POINTS = 2
SCHEMA_VERSION = 3
GRADED = re.compile(r'^\s*check\.graded\("(\w+)"\)\s*$', re.M)


def graded_exercise(cell: nbformat.NotebookNode) -> str | None:
    """Return the exercise a cell grades (its hidden ``check.graded("name")``), or None."""
    if cell.cell_type != "code" or build.BEGIN_HIDDEN not in cell.source:
        return None
    names = GRADED.findall(cell.source)
    return names[0] if len(names) == 1 else None


def cell_metadata(cell: nbformat.NotebookNode) -> dict:
    """Return the nbgrader metadata a solution notebook's cell should carry."""
    meta = {"grade": False, "grade_id": cell.get("id"), "locked": True, "schema_version": SCHEMA_VERSION,
            "solution": False, "task": False}
    exercise = graded_exercise(cell)
    if exercise:
        meta.update(grade=True, grade_id=f"test-{exercise.replace('_', '-')}", points=CHECK_POINTS)
    elif cell.cell_type == "code" and build.BEGIN_SOLUTION in cell.source:
        meta.update(locked=False, solution=True)
    elif cell.cell_type == "markdown" and build.BEGIN_ANSWER in cell.source:
        meta.update(grade=True, locked=False, solution=True, points=FREE_TEXT_POINTS)
    return meta


def annotate(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` with nbgrader metadata on every cell (changed in place)."""
    for cell in nb.cells:
        if not cell.get("id"):
            raise ValueError("every cell needs an id to become a stable nbgrader grade_id")
        cell.metadata["nbgrader"] = cell_metadata(cell)
    return nb


def problems(nb: nbformat.NotebookNode, number: str) -> list[str]:
    """Return what keeps a solution notebook from being graded: stale metadata, exercises without a test cell."""
    from ..check import EXERCISES

    found = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader") != cell_metadata(cell):
            found.append(f"cell {cell.get('id')}: nbgrader metadata out of date (python -m attnlib grading-metadata)")
    tested = [graded_exercise(c) for c in nb.cells]
    for name, exercise in EXERCISES.items():
        if exercise.notebook == number and tested.count(name) != 1:
            found.append(f"exercise {name}: {tested.count(name)} test cells with check.graded({name!r}), expected 1")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    if len(ids) != len(set(ids)):
        found.append("grade ids repeat")
    return found


def annotate_solutions(solutions: Path = build.SOLUTIONS) -> list[Path]:
    """Rewrite the solution notebooks whose nbgrader metadata is out of date; return their paths."""
    written = []
    for path in sorted(Path(solutions).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        before = nbformat.writes(nb)
        if nbformat.writes(annotate(nb)) != before:
            nbformat.write(nb, str(path))
            written.append(path)
    return written
