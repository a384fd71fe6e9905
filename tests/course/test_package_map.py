"""attnlib/README.md, the map of the package, against the code: rooms, notebooks, exercises.

- the rooms table names every sub-package of attnlib, and the rooms each one imports from are
  exactly those its modules import (so the arrows run one way: nothing imports upwards);
- the notebooks table lists, for each notebook in solutions/, the modules it uses in each room:
  those its code cells import or reach as ``attnlib.<room>.<module>``, and the reference modules
  of the ``attnlib.<name>`` functions it calls and of its exercises (their fallbacks); and the
  module of its checks, ``check/nbNN_<notebook name>.py``;
- the exercises table names, for every exercise of ``attnlib.check.EXERCISES``, its notebook, the
  module of its reference and the module of its check.

``python tests/course/test_package_map.py`` prints the three tables as the code makes them.
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import nbformat
import pytest

import attnlib
from attnlib.check import EXERCISES, Check
from attnlib.course import build

PACKAGE = Path(attnlib.__file__).resolve().parent
MAP = PACKAGE / "README.md"
ROOMS = ("reference", "models", "measure", "figures", "check", "course")
USED_ROOMS = ("reference", "models", "measure", "figures")  # the columns of the notebooks table
NOTEBOOKS = sorted(build.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
NONE = "—"


# ------------------------------------------------------------------ what the code says


def room_of(module: str) -> str | None:
    """Return the room of a dotted module name inside attnlib (``attnlib.models.induction`` -> models), or None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "attnlib" and parts[1] in ROOMS else None


def imported_modules(path: Path) -> set[str]:
    """Return the absolute names of the attnlib modules and packages that the module at ``path`` imports."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("attnlib"):
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("attnlib"))
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def room_imports() -> dict[str, set[str]]:
    """Return, for each room, the other rooms its modules import from."""
    out: dict[str, set[str]] = {room: set() for room in ROOMS}
    for room in ROOMS:
        for path in (PACKAGE / room).glob("*.py"):
            for module in imported_modules(path):
                other = room_of(module) or (module.split(".")[1] if module.count(".") == 1 and module.split(".")[1] in ROOMS else None)
                if other and other != room:
                    out[room].add(other)
    return out


def _code_cells(path: Path) -> list[str]:
    """Return the code of a notebook's code cells, with IPython's magics and shell lines blanked."""
    cells = []
    for cell in nbformat.read(str(path), 4).cells:
        if cell.cell_type == "code":
            cells.append("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()))
    return cells


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    """Return ['attnlib', 'a', 'b'] for the expression attnlib.a.b, or None if it does not start at the name attnlib."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) and node.id == "attnlib" else None


def _module_of_public_name(name: str) -> str | None:
    """Return the module that defines ``attnlib.<name>`` (a reference function), or None for a submodule or nothing."""
    value = getattr(attnlib, name, None)
    return getattr(value, "__module__", None) if callable(value) else None


def notebook_modules(path: Path) -> dict[str, set[str]]:
    """Return {room: {module names}} of what the notebook at ``path`` uses, for the rooms of USED_ROOMS."""
    found: set[str] = set()
    for source in _code_cells(path):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("attnlib"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if _is_module(full):
                        found.add(full)
                    elif node.module == "attnlib":
                        found.add(_module_of_public_name(alias.name) or "")
                    else:
                        found.add(node.module)
            elif isinstance(node, ast.Attribute) and (chain := _attribute_chain(node)):
                for k in range(len(chain), 1, -1):  # the longest prefix that is a module
                    if _is_module(".".join(chain[:k])):
                        found.add(".".join(chain[:k]))
                        break
                else:
                    found.add(_module_of_public_name(chain[1]) or "")
    number = path.name[:2]
    found.update(e.reference.__module__ for e in EXERCISES.values() if e.notebook == number and isinstance(e, Check))
    used: dict[str, set[str]] = {room: set() for room in USED_ROOMS}
    for module in found:
        room = room_of(module)
        if room in used and module.count(".") == 2:
            used[room].add(module.rsplit(".", 1)[1])
    return used


def check_module(number: str) -> str:
    """Return the name of notebook ``number``'s checks module (nbNN_<notebook name>), which must exist."""
    (path,) = [p for p in NOTEBOOKS if p.name.startswith(number + "_")]
    return f"nb{path.stem}"


# ------------------------------------------------------------------ the tables, as the code makes them


def rooms_rows() -> list[list[str]]:
    imports = room_imports()
    return [[f"`{room}/`", ", ".join(sorted(imports[room])) or NONE] for room in ROOMS]


def notebook_rows() -> list[list[str]]:
    rows = []
    for path in NOTEBOOKS:
        used = notebook_modules(path)
        rows.append([f"[{path.stem}](../solutions/{path.name})"]
                    + [", ".join(sorted(used[room])) or NONE for room in USED_ROOMS]
                    + [f"`check/{check_module(path.name[:2])}.py`"])
    return rows


def exercise_rows() -> list[list[str]]:
    rows = []
    for name, exercise in EXERCISES.items():
        module = _defining_module(exercise)
        reference = (f"`{exercise.reference.__module__.removeprefix('attnlib.').replace('.', '/')}.py`"
                     if isinstance(exercise, Check) else "(a prediction)")
        rows.append([f"`{name}`", exercise.notebook, reference, f"`check/{module}.py`"])
    return rows


def _defining_module(exercise) -> str:
    """Return the name of the check module whose top level defines ``exercise``."""
    import attnlib.check as check

    (module,) = [m.__name__.rsplit(".", 1)[1] for m in check._MODULES if any(v is exercise for v in vars(m).values())]
    return module


def render(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


TABLES = {
    "rooms": (["room", "imports from"], rooms_rows),
    "notebooks": (["notebook", *USED_ROOMS, "checks"], notebook_rows),
    "exercises": (["exercise", "notebook", "reference", "check"], exercise_rows),
}


# ------------------------------------------------------------------ what the map says


def map_table(first_header: str) -> list[list[str]]:
    """Return the rows of the table in attnlib/README.md whose first header cell is ``first_header``."""
    lines = MAP.read_text().splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"attnlib/README.md has no table whose first column is {first_header!r}")


@pytest.mark.parametrize("table", list(TABLES))
def test_the_map_says_what_the_code_does(table):
    header, rows = TABLES[table]
    written = map_table(header[0])
    # the rooms table has a middle column of prose ("what it holds"): compare its first and last columns
    if table == "rooms":
        written = [[row[0], row[-1]] for row in written]
    expected = rows()
    assert written == expected, (
        f"the {table} table of attnlib/README.md is not what the code says. It should read (the rooms table "
        f"keeps its 'holds' column between these):\n{render(header, expected)}"
    )


def test_every_room_is_a_package_and_nothing_else_sits_beside_them():
    packages = sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE)]) if m.ispkg)
    assert packages == sorted(ROOMS)
    modules = sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE)]) if not m.ispkg)
    assert modules == ["__main__"], "attnlib/ holds only __init__.py, __main__.py and the rooms: put a new module in its room"


def test_pyproject_ships_every_room_and_the_trained_weights():
    import tomllib

    setup = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert sorted(setup["packages"]) == sorted(["attnlib", *(f"attnlib.{room}" for room in ROOMS)])
    (pattern,) = setup["package-data"]["attnlib.models"]
    assert sorted(p.name for p in (PACKAGE / "models").glob(pattern)) == ["induction_gpt.pt"]


def test_the_arrows_run_one_way():
    """course -> check -> models, measure, figures -> reference: no room imports a room above it."""
    order = {"reference": 0, "models": 1, "measure": 1, "figures": 2, "check": 2, "course": 3}
    for room, others in room_imports().items():
        for other in others:
            assert order[other] < order[room], f"{room}/ imports from {other}/, which sits at its level or above"


def test_each_notebook_has_its_checks_module_and_each_module_its_notebook():
    import attnlib.check as check

    modules = [m.__name__.rsplit(".", 1)[1] for m in check._MODULES]
    assert modules == [f"nb{p.stem}" for p in NOTEBOOKS]
    for name, exercise in EXERCISES.items():
        assert _defining_module(exercise) == check_module(exercise.notebook), (
            f"{name} is an exercise of notebook {exercise.notebook}: define it in check/{check_module(exercise.notebook)}.py"
        )


def test_the_map_catches_a_wrong_row():
    """The comparison is not vacuous: a notebook that used one more model would no longer match its row."""
    used = notebook_modules(NOTEBOOKS[0])
    used["models"].add("transformer")
    row = [", ".join(sorted(used[room])) or NONE for room in USED_ROOMS]
    assert row != map_table("notebook")[0][1:-1]


if __name__ == "__main__":
    for name, (header, rows) in TABLES.items():
        print(f"{name}:\n{render(header, rows())}\n")
