"""The progress report (python -m attnlib progress) on a learner's notebooks with a mix of work.

A learner's folder is made from the built exercise notebooks: one exercise solved, one wrong,
the rest untouched, a free-text answer written; beside it notebooks that raise, hang, or are
not notebooks at all. The report must classify each exercise, go on past broken notebooks,
never change a file, and exit 0 (its own failures only are non-zero).
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from attnlib.course import build, progress
from attnlib.check import EXERCISES

NB01 = "01_queries_keys_values.ipynb"


def cell_by_id(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def code_notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s, id=f"c{i}") for i, s in enumerate(sources)]
    return nb


@pytest.fixture(scope="module")
def learner(tmp_path_factory) -> Path:
    """Return a learner's notebooks/ folder: notebook 01 half done, plus broken notebooks."""
    folder = tmp_path_factory.mktemp("notebooks")
    built = tmp_path_factory.mktemp("built")
    build.build(build.SOLUTIONS, built)
    solution = nbformat.read(str(build.SOLUTIONS / NB01), as_version=4)
    nb = nbformat.read(str(built / NB01), as_version=4)
    # softmax: solved, exactly as the solution has it
    cell_by_id(nb, "ex-softmax").source = cell_by_id(solution, "ex-softmax").source
    # scaled_dot_product_attention: a classic mistake, no scaling
    right = cell_by_id(solution, "ex-sdpa").source
    assert "/ np.sqrt(d_k)" in right
    cell_by_id(nb, "ex-sdpa").source = right.replace("/ np.sqrt(d_k)", "")
    # the free-text answer: written
    answer_id, _ = progress.free_text_exercises(build.SOLUTIONS / NB01)[0]
    cell_by_id(nb, answer_id).source = "Several heads look at different things at once."
    nbformat.write(nb, str(folder / NB01))

    # 03: a syntax error in the first exercise's cell, the rest untouched
    nb03 = "03_who_attends_to_whom.ipynb"
    nb = nbformat.read(str(built / nb03), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code" and "check.causal_mask(" in c.source)
    first.source = "def causal_mask(n):\n    return np.tril(np.ones((n, n), bool)\n\ncheck.causal_mask(causal_mask)\n"
    nbformat.write(nb, str(folder / nb03))

    return folder


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    """Return a folder of notebooks that hang or are not notebooks at all."""
    folder = tmp_path_factory.mktemp("broken")
    nbformat.write(code_notebook("import time\ntime.sleep(60)", "print('never reached')"), str(folder / "98_hangs.ipynb"))
    (folder / "99_not_a_notebook.ipynb").write_text("{ this is not json")
    return folder


HANG_TIMEOUT = 3  # seconds: the hanging notebook is stopped after this long


@pytest.fixture(scope="module")
def run(learner, broken):
    """Return (reports by file name, printed text, digests before, digests after) of two progress runs.

    The learner's notebooks get a generous time limit; the broken ones a short one, so that the
    hanging notebook is stopped quickly (and the run still goes on to the next notebook).
    """
    import io

    before = digest(learner) | digest(broken)
    out = io.StringIO()
    reports = progress.report(progress.course_notebooks(learner), timeout=120, out=out)
    reports += progress.report(progress.course_notebooks(broken), timeout=HANG_TIMEOUT, out=out)
    return {r.path.name: r for r in reports}, out.getvalue(), before, digest(learner) | digest(broken)


def statuses(report):
    return {e.name: e.status for e in report.exercises}


def test_solved_wrong_and_untouched_exercises_are_told_apart(run):
    reports, text, *_ = run
    r = reports[NB01]
    got = statuses(r)
    assert got["softmax"] == "passed"
    assert got["scaled_dot_product_attention"] == "failed"
    wrong = next(e for e in r.exercises if e.name == "scaled_dot_product_attention")
    assert "sqrt" in wrong.message  # the check's own diagnosis reaches the report
    names_01 = [n for n, ex in EXERCISES.items() if ex.notebook == "01"]
    for name in names_01:
        if name not in ("softmax", "scaled_dot_product_attention"):
            assert got[name] == "not attempted", (name, got)
    assert [e.status for e in r.exercises if e.free_text] == [progress.WRITTEN]
    assert not r.errors and not r.timed_out and not r.failure
    assert "1 of " in text and "sqrt" in text


def test_an_error_in_a_cell_is_reported_and_later_cells_still_run(run):
    reports, *_ = run
    r = reports["03_who_attends_to_whom.ipynb"]
    assert any("SyntaxError" in e for e in r.errors), r.errors
    # named as JupyterLab shows it: the exercise, its section, the cell's first line; never "cell 47"
    error = next(e for e in r.errors if "SyntaxError" in e)
    assert 'under "Exercise' in error and 'section "' in error and "`def causal_mask(n):`" in error, error
    assert not re.search(r"\bcell \d", error), error
    got = statuses(r)
    assert got["causal_mask"] == progress.NOT_RUN
    # the cells after the broken one ran: their exercises are not attempted, not "not run"
    later = [n for n, ex in EXERCISES.items() if ex.notebook == "03" and n != "causal_mask"]
    assert later and all(got[n] == "not attempted" for n in later), got
    assert [e.status for e in r.exercises if e.free_text] == ["not attempted"]


def test_a_hanging_notebook_times_out_and_an_unreadable_one_is_reported(run):
    reports, text, *_ = run
    hang = reports["98_hangs.ipynb"]
    assert hang.timed_out and f"{HANG_TIMEOUT} s" in hang.timed_out
    assert hang.seconds < HANG_TIMEOUT + 20
    bad = reports["99_not_a_notebook.ipynb"]
    assert "could not read" in bad.failure
    assert "99_not_a_notebook.ipynb" in text  # the run went on to it and printed it


def test_the_learners_notebooks_are_never_modified(run):
    *_, before, after = run
    assert before == after


def test_the_recorder_is_off_outside_a_progress_run(monkeypatch, tmp_path):
    from attnlib.check import result

    log = tmp_path / "log.jsonl"
    monkeypatch.delenv(result.RECORD_ENV, raising=False)
    result.CheckResult("softmax", "passed", "ok")
    assert not log.exists()
    monkeypatch.setenv(result.RECORD_ENV, str(log))
    result.CheckResult("softmax", "failed", "wrong axis")
    assert '"wrong axis"' in log.read_text()


def test_command_line_exit_codes(tmp_path):
    nb = tmp_path / "01_tiny.ipynb"
    nbformat.write(code_notebook(
        "from attnlib import check\ndef softmax(x, axis=-1):\n    return x",
        "check.softmax(softmax)",
    ), str(nb))
    done = subprocess.run([sys.executable, "-m", "attnlib", "progress", str(nb)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # a failed exercise is not the report's own failure
    assert "failed" in done.stdout and "softmax" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "attnlib", "progress", str(tmp_path / "nope.ipynb")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "nope.ipynb" in missing.stderr
