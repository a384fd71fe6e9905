"""The real nbgrader on the course: release every notebook, then autograde a worked, a blank and a half-done class.

- ``nbgrader generate_assignment`` releases exactly the code and prose of ``notebooks/`` (the
  course's own build);
- ``nbgrader autograde`` gives the worked solutions every autograded point and the untouched
  exercise notebooks none, in every notebook; the blank notebooks raise nowhere but in their test
  cells (a failed check is an AssertionError there, by design);
- a half-done submission (one exercise right, one wrong, the rest untouched) scores in between, and
  ``nbgrader generate_feedback`` shows the wrong one's diagnosis.

Each student is graded in a course folder of its own (one gradebook each), all at once, so the
three runs share the two CPUs. The test needs the instructor extra (``make instructor-deps``,
nbgrader 0.9.6); without it it is skipped, unless ``COURSE_NBGRADER=required`` (set by .ci/run).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from attnlib.course import build, classroom, grading
from attnlib.check import EXERCISES

REQUIRED = os.environ.get("COURSE_NBGRADER") == "required"
HERE = Path(__file__).resolve().parent
NAMES = classroom.assignments()
HALF = "01_queries_keys_values"


def require_nbgrader():
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if REQUIRED:
            pytest.fail("the nbgrader test is required (COURSE_NBGRADER=required) but nbgrader is not installed: make instructor-deps")
        pytest.skip("nbgrader is not installed (make instructor-deps installs the instructor extra)")


def submit(root: Path, student: str, name: str, nb: nbformat.NotebookNode) -> None:
    folder = root / "submitted" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{name}.ipynb"))


def exercise_notebook(name: str) -> nbformat.NotebookNode:
    """Return the exercise notebook the course's build makes (what a learner works in)."""
    return nbformat.reads(build.render(build.SOLUTIONS / f"{name}.ipynb"), as_version=4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict]:
    """Return {student: {"scores": ..., "errors": ...}, "release": folder} after grading three students at once."""
    require_nbgrader()
    base = tmp_path_factory.mktemp("nbgrader")
    students = {}
    for student in ("worked", "blank", "half"):
        root = base / student
        classroom.make_course(root)
        students[student] = root
    for name in NAMES:
        submit(students["worked"], "worked", name, nbformat.read(str(build.SOLUTIONS / f"{name}.ipynb"), as_version=4))
        submit(students["blank"], "blank", name, exercise_notebook(name))
    half = exercise_notebook(HALF)
    solution = {c.id: c for c in nbformat.read(str(build.SOLUTIONS / f"{HALF}.ipynb"), as_version=4).cells}
    for cell in half.cells:
        if cell.id == "ex-sdpa":                                   # right: the worked answer
            cell.source = solution[cell.id].source
        elif cell.id == "ex-softmax":                              # wrong: no maximum subtracted
            cell.source = ("def softmax(x, axis=-1):\n    e = np.exp(x)\n    return e / e.sum(axis=axis, keepdims=True)\n\n"
                           "check.softmax(softmax)")
    submit(students["half"], "half", HALF, half)

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # nbgrader runs `alembic`
    runs = {student: subprocess.Popen([sys.executable, str(HERE / "grade.py"), str(root), student] + (["--feedback"] if student == "half" else []),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for student, root in students.items()}
    results = {}
    for student, run in runs.items():
        out, err = run.communicate(timeout=900)
        assert run.returncode == 0, f"grading {student} failed:\n{err[-4000:]}"
        results[student] = json.loads(out.strip().splitlines()[-1])
    results["roots"] = students
    return results


def test_the_release_is_the_courses_own_exercise_notebooks(graded):
    for name in NAMES:
        released = nbformat.read(str(graded["roots"]["worked"] / "release" / name / f"{name}.ipynb"), as_version=4)
        ours = exercise_notebook(name)
        assert [c.cell_type for c in released.cells] == [c.cell_type for c in ours.cells], name
        for theirs, mine in zip(released.cells, ours.cells):
            assert theirs.source == mine.source, f"{name}, cell {mine.id}: nbgrader releases\n{theirs.source}\nthe build makes\n{mine.source}"


def test_worked_solutions_get_every_point_and_blank_notebooks_none(graded):
    worked, blank = graded["worked"]["scores"], graded["blank"]["scores"]
    assert sorted(worked) == sorted(blank) == NAMES
    for name in NAMES:
        checked = sum(1 for ex in EXERCISES.values() if ex.notebook == name[:2])
        code, code_max, written, written_max = worked[name]
        assert code == code_max == checked * grading.CHECK_POINTS, (name, worked[name])
        assert written_max == grading.FREE_TEXT_POINTS * sum(1 for c in nbformat.read(str(build.SOLUTIONS / f"{name}.ipynb"), 4).cells
                                                            if build.BEGIN_ANSWER in c.source)
        assert blank[name][0] == 0 and blank[name][1] == code_max, (name, blank[name])


def test_no_cell_but_a_test_cell_raises(graded):
    for student in ("worked", "blank"):
        assert graded[student]["errors"] == {name: [] for name in NAMES}, student


def test_a_half_done_submission_scores_in_between_with_its_diagnosis_in_the_feedback(graded):
    code, code_max, *_ = graded["half"]["scores"][HALF]
    assert code == 1 and code_max == 4, graded["half"]["scores"]
    feedback = (graded["roots"]["half"] / "feedback" / "half" / HALF / f"{HALF}.html").read_text()
    assert "np.exp overflows" in feedback            # the wrong softmax's diagnosis, as the check gives it
    assert "not attempted" in feedback                # the untouched predictions say so


def test_a_course_folder_is_never_overwritten_without_force(tmp_path):
    classroom.make_course(tmp_path)
    (tmp_path / "source" / NAMES[0] / "mine.txt").write_text("an instructor's note")
    with pytest.raises(FileExistsError):
        classroom.make_course(tmp_path)
    classroom.make_course(tmp_path, force=True)
    assert not (tmp_path / "source" / NAMES[0] / "mine.txt").exists()
    assert sorted(p.name for p in (tmp_path / "source").iterdir()) == NAMES
