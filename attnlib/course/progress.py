"""A learner's progress: run their notebooks headlessly and report every exercise's status.

``python -m attnlib progress`` (or ``attnlib.course.progress.report()`` in a notebook cell) runs each
notebook of notebooks/ in a fresh kernel with nbclient, cell by cell, and collects the result of
every check the notebook calls: the kernel's checks append their results to a log file named by
the environment variable ``ATTNLIB_PROGRESS_LOG`` (see ``attnlib.check.result``). The notebooks
are read, never written. A notebook that raises goes on to its next cell (so one typo does not
hide the rest); one that runs out of time is reported as such and the report moves on.

Per notebook, every exercise registered in ``attnlib.check.EXERCISES`` for its number is
"passed", "failed" (with the check's diagnosis), "not attempted", or "not run" (its cell never
reached the check: an error or a time-out before it). Free-text exercises are "written" or
"not attempted", judged by whether the answer cell still holds the build's prompt.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import build
from ..check import EXERCISES
from ..check.result import RECORD_ENV

NOT_RUN = "not run"
WRITTEN = "written"

#: seconds one notebook may take in all before the report gives up on it
DEFAULT_TIMEOUT = 300


@dataclass
class ExerciseStatus:
    """One exercise of one notebook: its name, status and (when failed) the check's message."""

    name: str
    status: str
    message: str = ""
    free_text: bool = False


@dataclass
class NotebookReport:
    """What running one notebook found: per-exercise statuses, cell errors, a time-out, the time taken."""

    path: Path
    exercises: list[ExerciseStatus] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timed_out: str = ""
    failure: str = ""  # the notebook could not be run at all (unreadable, no kernel)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """Return how many checked (not free-text) exercises have ``status``."""
        return sum(1 for e in self.exercises if e.status == status and not e.free_text)


def notebook_number(path: Path) -> str:
    """Return the two-digit number a course notebook's file name starts with ("" if none)."""
    match = re.match(r"(\d\d)_", Path(path).name)
    return match.group(1) if match else ""


def free_text_exercises(solution: Path) -> list[tuple[str, str]]:
    """Return (cell id, label) of each free-text answer cell of a solution notebook.

    The label is the last "###" heading at or before the answer cell, e.g. "Exercise 5: ...".
    """
    nb = nbformat.read(str(solution), as_version=4)
    found, heading = [], "free-text answer"
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("### "):
                heading = line[4:].replace("✏️", "").strip()
        if build.BEGIN_ANSWER in cell.source:
            found.append((cell.get("id", ""), heading))
    return found


def _free_text_statuses(nb: nbformat.NotebookNode, solution: Path | None) -> list[ExerciseStatus]:
    """Return "written" / "not attempted" for each free-text answer the solution has."""
    if solution is None or not solution.exists():
        return []
    cells = {cell.get("id"): cell for cell in nb.cells}
    statuses = []
    for cell_id, label in free_text_exercises(solution):
        cell = cells.get(cell_id)
        if cell is None:
            statuses.append(ExerciseStatus(label, NOT_RUN, "its answer cell is missing from your notebook", True))
        elif build.ANSWER_PROMPT in cell.source or not cell.source.strip():
            statuses.append(ExerciseStatus(label, "not attempted", "", True))
        else:
            statuses.append(ExerciseStatus(label, WRITTEN, "compare it with the model answer in solutions/", True))
    return statuses


def cell_label(nb: nbformat.NotebookNode, index: int) -> str:
    """Return where a code cell is, in the words JupyterLab shows: its section, exercise and first line.

    For example: 'the cell starting `def causal_mask(n):`, under "Exercise 1: draw the causal mask"
    in section "2. Causal self-attention"'. (A cell number would mean nothing to a learner:
    JupyterLab shows none, and it would count the markdown cells.)
    """
    section = exercise = ""
    for cell in nb.cells[:index]:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("## "):
                section, exercise = line[3:].strip(), ""
            elif line.startswith("### "):
                exercise = line[4:].replace("✏️", "").strip()
    lines = [l.strip() for l in nb.cells[index].source.splitlines() if l.strip() and not l.strip().startswith("#")]
    first = lines[0] if lines else ""
    where = f"the cell starting `{first[:60]}`" if first else "an empty cell"
    if exercise:
        where += f', under "{exercise}"'
    if section:
        where += f'{" in" if exercise else ", in"} section "{section}"'
    return where


def _error_line(where: str, exc: BaseException) -> str:
    """Return "<where>: ErrorName: message" for a cell that raised, on one line."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    text = " ".join(f"{ename}: {evalue}".split())
    return f"{where}: {text[:200]}"


def run_notebook(path: Path, solution: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> NotebookReport:
    """Return the NotebookReport of running the notebook at ``path`` (never modified) in a fresh kernel.

    solution: the matching solution notebook, to find free-text answers; timeout: seconds for
    the whole notebook.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    report = NotebookReport(path)
    start = time.monotonic()
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
        report.failure = f"could not read it: {type(exc).__name__}: {exc}"
        return report

    with tempfile.TemporaryDirectory(prefix="attnlib-progress-") as tmp:
        log = Path(tmp) / "results.jsonl"
        log.touch()
        saved = os.environ.get(RECORD_ENV)
        os.environ[RECORD_ENV] = str(log)  # the kernel inherits it
        try:
            client = NotebookClient(
                nb, timeout=timeout, kernel_name="python3", allow_errors=False, record_timing=False,
                extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up warnings on the terminal
                resources={"metadata": {"path": str(path.parent.resolve())}},
            )
            # the kernel's own log lines (start-up, shutdown after a time-out) would only confuse a learner
            with client.setup_kernel(stderr=subprocess.DEVNULL):
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    left = timeout - (time.monotonic() - start)
                    if left <= 0:
                        report.timed_out = f"stopped before {cell_label(nb, index)}: the notebook took more than {timeout:g} s"
                        break
                    client.timeout = max(1, int(left))
                    try:
                        client.execute_cell(cell, index)
                    except CellTimeoutError:
                        report.timed_out = f"{cell_label(nb, index)} was still running after {timeout:g} s for the notebook"
                        break
                    except CellExecutionError as exc:
                        report.errors.append(_error_line(cell_label(nb, index), exc))
        except DeadKernelError as exc:
            report.failure = f"the kernel died: {exc}"
        except Exception as exc:  # noqa: BLE001 - no kernel, a broken notebook: report and go on
            report.failure = f"could not run it: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        finally:
            if saved is None:
                os.environ.pop(RECORD_ENV, None)
            else:
                os.environ[RECORD_ENV] = saved
        results: dict[str, dict] = {}
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            results[entry["exercise"]] = entry  # the last result of an exercise counts

    number = notebook_number(path)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    mine = [name for name, exercise in EXERCISES.items() if exercise.notebook == number]
    # in the order the notebook calls them (an exercise never called there goes last)
    mine.sort(key=lambda name: (code.find(f"check.{name}(") % (len(code) + 1)))
    for name in mine:
        entry = results.get(name)
        if entry is None:
            report.exercises.append(ExerciseStatus(name, NOT_RUN, "its check never ran: see the errors above"))
        else:
            report.exercises.append(ExerciseStatus(name, entry["status"], entry["message"]))
    report.exercises += _free_text_statuses(nb, solution)
    report.seconds = time.monotonic() - start
    return report


def format_report(report: NotebookReport) -> str:
    """Return the plain-text table of one notebook's report."""
    lines = [f"{report.path.name}  ({report.seconds:.0f} s)"]
    if report.failure:
        lines.append(f"  ! {report.failure}")
    if report.timed_out:
        lines.append(f"  ! timed out: {report.timed_out}")
    for error in report.errors[:5]:
        lines.append(f"  ! error in {error}")
    if len(report.errors) > 5:
        lines.append(f"  ! ... and {len(report.errors) - 5} more cells raised")
    for ex in report.exercises:
        kind = " (free text)" if ex.free_text else ""
        message = f" — {' '.join(ex.message.split())}" if ex.message and ex.status in ("failed", NOT_RUN, WRITTEN) else ""
        lines.append(f"  {ex.status:<14} {ex.name}{kind}{message}")
    checked = [e for e in report.exercises if not e.free_text]
    if checked:
        lines.append(f"  {report.count('passed')} of {len(checked)} checked exercises passed")
    return "\n".join(lines)


def course_notebooks(directory: Path = build.NOTEBOOKS) -> list[Path]:
    """Return the course notebooks (NN_name.ipynb) in ``directory``, in order."""
    return sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))


def report(
    paths: list[Path] | None = None, solutions: Path = build.SOLUTIONS, timeout: float = DEFAULT_TIMEOUT,
    out=None,
) -> list[NotebookReport]:
    """Return a NotebookReport per notebook (default: every notebook of notebooks/), printing each table.

    Callable from a notebook cell: ``from attnlib.course.progress import report; report()``.
    """
    out = out or sys.stdout
    paths = [Path(p) for p in paths] if paths else course_notebooks()
    reports = []
    for path in paths:
        print(f"running {path.name} ...", file=out, flush=True)
        solution = Path(solutions) / path.name
        result = run_notebook(path, solution if solution.exists() else None, timeout)
        reports.append(result)
        print(format_report(result) + "\n", file=out, flush=True)
    totals = {s: sum(r.count(s) for r in reports) for s in ("passed", "failed", "not attempted", NOT_RUN)}
    checked = sum(totals.values())
    problems = sum(1 for r in reports if r.failure or r.timed_out or r.errors)
    print(
        f"in all: {totals['passed']} of {checked} checked exercises passed, {totals['failed']} failed, "
        f"{totals['not attempted']} not attempted, {totals[NOT_RUN]} not run; "
        f"{problems} notebook(s) with errors or time-outs",
        file=out, flush=True,
    )
    return reports
