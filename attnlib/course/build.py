"""Build the exercise notebooks (notebooks/) from the solutions (solutions/), the one source.

In a solution's code cells the learner's part sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION``; the build replaces it with ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the same indentation. Lines between ``### BEGIN HIDDEN TESTS``
and ``### END HIDDEN TESTS`` (nbgrader's grading lines, ``check.graded(...)``) are removed, as
``nbgrader generate_assignment`` removes them: the two make the same exercise code. Model answers in markdown sit between
``<!-- BEGIN ANSWER -->`` and ``<!-- END ANSWER -->`` and become a prompt. Outputs, execution
counts and widget state are dropped.

The build remembers what it wrote (a SHA-256 per notebook in ``.build-manifest.json``) and
never overwrites a notebook that has changed since (a learner's work) unless forced.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"  # nbgrader's: the grading lines of a test cell, never shown to learners
END_HIDDEN = "### END HIDDEN TESTS"
BEGIN_ANSWER = "<!-- BEGIN ANSWER -->"
END_ANSWER = "<!-- END ANSWER -->"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_PROMPT = "*Write your answer here.*"
MANIFEST = ".build-manifest.json"

REPO = Path(__file__).resolve().parents[2]  # attnlib/course/build.py -> the course folder
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"


class BuildError(ValueError):
    """A solution notebook whose markers do not pair up."""


def _replace_regions(lines: list[str], begin: str, end: str, where: str, replace) -> list[str]:
    """Return ``lines`` with each begin..end region replaced by ``replace(indent)``."""
    out: list[str] = []
    inside: str | None = None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == begin:
            if inside is not None:
                raise BuildError(f"{where}: line {number} opens '{begin}' inside another region")
            inside = line[: len(line) - len(line.lstrip())]
            out.extend(replace(inside))
        elif stripped == end:
            if inside is None:
                raise BuildError(f"{where}: line {number} has '{end}' without '{begin}'")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise BuildError(f"{where}: '{begin}' is never closed by '{end}'")
    return out


def strip_code(source: str, where: str = "cell") -> str:
    """Return code with every solution region replaced by the stub, at the region's indentation, and hidden tests removed."""
    lines = source.split("\n")
    lines = _replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION, where, lambda ind: [ind + s for s in STUB])
    return "\n".join(_replace_regions(lines, BEGIN_HIDDEN, END_HIDDEN, where, lambda ind: []))


def strip_markdown(source: str, where: str = "cell") -> str:
    """Return markdown with every model answer replaced by the prompt to write one."""
    lines = source.split("\n")
    return "\n".join(_replace_regions(lines, BEGIN_ANSWER, END_ANSWER, where, lambda ind: [ind + ANSWER_PROMPT]))


def drop_machine_state(nb: nbformat.NotebookNode) -> None:
    """Remove what changes from run to run or machine to machine: widget state, Python's version."""
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def exercise_notebook(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the exercise version of a solution notebook: regions stubbed, no outputs, no state."""
    nb = copy.deepcopy(solution)
    drop_machine_state(nb)
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            cell.source = strip_code(cell.source, where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source, where)
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN, BEGIN_ANSWER, END_ANSWER):
            if marker in cell.source:
                raise BuildError(f"{where}: marker '{marker}' left in a {cell.cell_type} cell (markers must be whole lines)")
    return nb


def render(solution_path: Path) -> str:
    """Return the text of the exercise notebook built from the solution at ``solution_path``."""
    nb = nbformat.read(str(solution_path), as_version=4)
    text = nbformat.writes(exercise_notebook(nb, solution_path.name))
    return text if text.endswith("\n") else text + "\n"


def sha256(text: str | bytes) -> str:
    """Return the hex SHA-256 of ``text`` (encoded as UTF-8 when it is a str)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, str]:
    """Return {notebook file name: SHA-256 of what the build last wrote there}."""
    path = out_dir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


@dataclass
class Outcome:
    """What the build did with one notebook: action is written, unchanged, skipped or orphan."""

    name: str
    action: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.action:>9}  {self.name}" + (f"  ({self.reason})" if self.reason else "")


def build(solutions: Path = SOLUTIONS, out_dir: Path = NOTEBOOKS, force: bool = False) -> list[Outcome]:
    """Return what happened to each notebook after building ``out_dir`` from ``solutions``.

    A notebook is written when it is new, when it is still what the build last wrote, or when
    ``force`` is set; one that has changed since the last build is skipped, never overwritten.
    Running it twice in a row changes nothing the second time.
    """
    sources = sorted(Path(solutions).glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise BuildError(f"no solution notebooks (NN_topic.ipynb) in {solutions}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out_dir)
    outcomes = []
    for source in sources:
        text = render(source)
        target = out_dir / source.name
        current = target.read_bytes() if target.exists() else None
        if current == text.encode():
            outcomes.append(Outcome(source.name, "unchanged"))
        elif current is None or force or manifest.get(source.name) == sha256(current):
            target.write_text(text)
            reason = "forced: your changes were replaced" if current is not None and manifest.get(source.name) != sha256(current) else ""
            outcomes.append(Outcome(source.name, "written", reason))
        else:
            outcomes.append(Outcome(source.name, "skipped", "changed since the last build, probably your work; --force replaces it"))
            continue
        manifest[source.name] = sha256(text)
    known = {s.name for s in sources}
    for extra in sorted(out_dir.glob("*.ipynb")):
        if extra.name not in known:
            outcomes.append(Outcome(extra.name, "orphan", "no solution of that name; left alone"))
    manifest_text = json.dumps(dict(sorted(manifest.items())), indent=1) + "\n"
    manifest_path = out_dir / MANIFEST
    if not manifest_path.exists() or manifest_path.read_text() != manifest_text:
        manifest_path.write_text(manifest_text)
    return outcomes


def execute(path: Path, timeout: int = 600) -> None:
    """Run a solution notebook top to bottom in place, keeping outputs and dropping widget state.

    Used to refresh the stored outputs of solutions/ (``python -m attnlib execute``).
    """
    from nbclient import NotebookClient  # imported here: only authors need it

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    drop_machine_state(nb)
    nbformat.write(nb, str(path))


_MACHINE_PATH = re.compile(r"(/(root|home|Users|tmp|work|opt|var)/|[A-Za-z]:\\\\Users)")


def machine_paths(nb: nbformat.NotebookNode) -> list[str]:
    """Return 'cell N: ...' for each stored output that contains an absolute machine path."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")] + [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
            texts += output.get("traceback", [])
            for text in texts:
                text = "".join(text) if isinstance(text, list) else str(text)
                match = _MACHINE_PATH.search(text)
                if match:
                    found.append(f"cell {index}: ...{text[max(0, match.start() - 20): match.end() + 30]}...")
    return found
