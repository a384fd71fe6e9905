"""The course as a whole: numbering, the README's tables against the notebooks, the syllabus covered.

- the notebooks are numbered 01, 02, ... without gaps or repeats;
- README's course table lists every notebook, in order, linked, with its title as the notebook has it;
- README's to-do table maps every item of the syllabus's to-do list (L1-L5, P1-P5, B1-B5) to a
  section heading that exists in the named notebook, and each practice/build item to what checks
  it there: a ``check.<name>(`` call (an exercise of that notebook) or a free-text answer, inside
  that section;
- when the syllabus itself is at hand (../shared/SYLLABUS.md beside a checkout), its items are
  exactly the README's.

Anatomy (title, what you will learn, prerequisites, exercises, summary, where next) is tested in
test_notebooks.py; the time each notebook takes is enforced by ``--notebook-time-limit`` (conftest.py)
when ``make test`` runs nbval.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from attnlib.course import build
from attnlib.check import EXERCISES

README = (build.REPO / "README.md").read_text()
SOLUTIONS = sorted(build.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
TODO_ITEMS = [f"{kind}{i}" for kind in "LPB" for i in range(1, 6)]  # the syllabus's to-do list
SYLLABUS = build.REPO.parent / "shared" / "SYLLABUS.md"


def title(path: Path) -> str:
    """Return a notebook's title: its first line without the leading '# '."""
    first = nbformat.read(str(path), 4).cells[0].source.splitlines()[0]
    return first[2:].strip()


def normalise(heading: str) -> str:
    """Return a heading without #s, its section number, the pencil emoji and markdown backticks."""
    heading = re.sub(r"^#+\s*", "", heading.strip()).replace("✏️", "").replace("`", "")
    heading = re.sub(r"^\d+\.\s*", "", heading.strip())
    return " ".join(heading.split())


def sections(path: Path) -> list[tuple[str, int, str, str]]:
    """Return (normalised heading, level, code, markdown) of each section of a notebook.

    A section runs from its heading to the next heading of the same or a higher level, so a
    "##" section includes its "###" subsections.
    """
    nb = nbformat.read(str(path), 4)
    lines: list[tuple[str, str]] = []  # (cell type, line)
    for cell in nb.cells:
        lines += [(cell.cell_type, line) for line in cell.source.splitlines()]
    found = []
    for i, (kind, line) in enumerate(lines):
        match = re.match(r"^(#{1,4}) ", line) if kind == "markdown" else None
        if not match:
            continue
        level = len(match.group(1))
        end = next((j for j in range(i + 1, len(lines)) if lines[j][0] == "markdown"
                    and (m := re.match(r"^(#{1,4}) ", lines[j][1])) and len(m.group(1)) <= level), len(lines))
        body = lines[i + 1:end]
        found.append((normalise(line), level, "\n".join(l for k, l in body if k == "code"),
                      "\n".join(l for k, l in body if k == "markdown")))
    return found


def course_table() -> list[tuple[str, str, str]]:
    """Return (number, link, title) of each row of README's course table."""
    rows = re.findall(r"^\| \[(\d\d) — ([^\]]+)\]\((notebooks/[^)]+)\)", README, flags=re.M)
    return [(number, link, shown) for number, shown, link in rows]


def todo_table() -> dict[str, tuple[str, str, str]]:
    """Return {item: (notebook file, section heading, how it is checked)} from README's to-do table."""
    rows = re.findall(
        r"^\| \*\*([LPB]\d)\*\* \|[^|]*\| \[\d\d §[^\]]*\]\(notebooks/([^)#]+)\) — (.+?) \| (.+?) \|$", README, flags=re.M
    )
    table = {}
    for item, notebook, heading, checked in rows:
        assert item not in table, f"README's to-do table lists {item} twice"
        table[item] = (notebook, heading.strip(), checked.strip())
    return table


def test_notebooks_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in SOLUTIONS]
    assert numbers == list(range(1, len(numbers) + 1)), f"notebook numbers {numbers} have a gap or a repeat"
    assert len(numbers) >= 10


def test_readme_course_table_lists_every_notebook_with_its_title():
    rows = course_table()
    assert [n for n, _, _ in rows] == [p.name[:2] for p in SOLUTIONS], "README's course table and solutions/ disagree"
    for (number, link, shown), path in zip(rows, SOLUTIONS):
        assert link == f"notebooks/{path.name}"
        assert (build.REPO / link).exists(), f"README links {link}, which does not exist"
        full = title(path)
        assert full == f"{number} — {shown}" or full.startswith(f"{number} — {shown}:"), (
            f"README calls notebook {number} '{shown}', the notebook says '{full}'"
        )
    assert "in preparation" not in README


def test_readme_todo_table_covers_the_syllabus():
    table = todo_table()
    assert sorted(table) == sorted(TODO_ITEMS), f"README's to-do table has {sorted(table)}, the syllabus {TODO_ITEMS}"


@pytest.mark.skipif(not SYLLABUS.exists(), reason="the syllabus is not beside this checkout")
def test_the_syllabus_items_are_the_readmes():
    items = re.findall(r"^- ([LPB]\d)\. ", SYLLABUS.read_text(), flags=re.M)
    assert sorted(items) == sorted(TODO_ITEMS)


@pytest.mark.parametrize("item", TODO_ITEMS)
def test_todo_item_maps_to_a_section_that_checks_it(item):
    table = todo_table()
    if item not in table:
        pytest.fail(f"{item} is missing from README's to-do table")
    notebook, heading, checked = table[item]
    path = build.SOLUTIONS / notebook
    assert path.exists(), f"{item}: README names {notebook}, which is not a notebook of the course"
    found = {name: (code, markdown) for name, _, code, markdown in sections(path)}
    wanted = normalise(heading)
    assert wanted in found, f"{item}: {notebook} has no heading '{wanted}'; its headings: {sorted(found)}"
    code, markdown = found[wanted]
    if item.startswith("L"):
        return  # learning items need a section; practice and build items also need their check
    names = re.findall(r"`check\.(\w+)`", checked)
    free_text = "free text" in checked
    assert names or free_text, f"{item}: README says it is checked by '{checked}': name a check or 'free text'"
    for name in names:
        assert name in EXERCISES and EXERCISES[name].notebook == notebook[:2], f"{item}: {name} is not an exercise of {notebook}"
        assert f"check.{name}(" in code, f"{item}: check.{name} is not called in the section '{wanted}' of {notebook}"
    if free_text:
        assert build.BEGIN_ANSWER in markdown, f"{item}: no free-text answer in the section '{wanted}' of {notebook}"
