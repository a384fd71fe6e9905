"""Set up an nbgrader course folder for the course (instructor tooling; nbgrader itself is optional).

``python -m attnlib nbgrader-course DIR`` makes DIR/nbgrader_config.py (the course's shipped
configuration, ``instructor/nbgrader_config.py``) and DIR/source/<notebook>/<notebook>.ipynb, one
nbgrader assignment per solution notebook. From there nbgrader's own commands take over:
``nbgrader generate_assignment``, ``release_assignment``, ``collect``, ``autograde``,
``generate_feedback``, ``export`` (README.md, "Teaching a class"). An existing folder is never
overwritten unless ``force`` is given.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import build

CONFIG = build.REPO / "instructor" / "nbgrader_config.py"


def assignments(solutions: Path = build.SOLUTIONS) -> list[str]:
    """Return the assignment names: one per solution notebook, its file name without .ipynb."""
    return [p.stem for p in sorted(Path(solutions).glob("[0-9][0-9]_*.ipynb"))]


def make_course(dest: Path, force: bool = False, solutions: Path = build.SOLUTIONS) -> list[Path]:
    """Write an nbgrader course folder at ``dest`` and return the files written.

    Raises FileExistsError when ``dest`` already holds a config or a source folder (an
    instructor's course, perhaps with edits) and ``force`` is not set.
    """
    dest = Path(dest)
    if not CONFIG.is_file():
        raise FileNotFoundError(f"{CONFIG} is missing: run this from a clone of the course")
    existing = [p for p in (dest / "nbgrader_config.py", dest / "source") if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{', '.join(map(str, existing))} already exist: pass force=True (--force) to replace them")
    dest.mkdir(parents=True, exist_ok=True)
    written = [dest / "nbgrader_config.py"]
    shutil.copyfile(CONFIG, written[0])
    if (dest / "source").exists():
        shutil.rmtree(dest / "source")
    for name in assignments(solutions):
        target = dest / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(Path(solutions) / f"{name}.ipynb", target)
        written.append(target)
    return written
