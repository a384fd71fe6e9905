"""One check per exercise: ``check.softmax(softmax)`` returns a CheckResult.

A result has ``passed``, ``status`` ("passed", "failed", "not attempted") and ``message``, and
shows itself in Jupyter as one coloured line. ``EXERCISES`` lists every exercise with its
notebook, for progress reports. ``fallback(name, candidate)`` returns the learner's function
if it passes, else attnlib's reference, saying so, so a notebook runs on with unfinished
exercises.

Notebook NN's exercises are defined in ``nbNN_<notebook name>.py`` (``nb08_long_context.py``
for ``08_long_context.ipynb``) as module-level ``Check`` or ``Prediction`` objects; every one of
them is collected here, so a new exercise needs no registration beyond its notebook's module
(a new notebook's module is found by its name). ``harness``, ``predictions`` and ``result``
are the machinery they share.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Callable, Union

from .harness import Check
from .predictions import Prediction
from .result import LATEST, CheckResult

Exercise = Union[Check, Prediction]

#: one module per notebook, named after it: notebook NN's checks are in nbNN_<its name>.py, found here
_MODULES = tuple(
    importlib.import_module(f"{__name__}.{found.name}")
    for found in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if re.fullmatch(r"nb\d\d_\w+", found.name)
)


def _collect() -> dict[str, Exercise]:
    """Return every exercise defined in the check modules, by name, in notebook order."""
    found: dict[str, Exercise] = {}
    for module in _MODULES:
        for value in vars(module).values():
            if isinstance(value, (Check, Prediction)):
                if value.name in found and found[value.name] is not value:
                    raise RuntimeError(f"two exercises are named {value.name!r}")
                found[value.name] = value
    return dict(sorted(found.items(), key=lambda item: item[1].notebook))


#: every exercise by name, in course order; each has .name, .notebook and .summary
EXERCISES: dict[str, Exercise] = _collect()
globals().update(EXERCISES)  # check.softmax, check.causal_mask, ...


def fallback(name: str, candidate: Callable) -> Callable:
    """Return ``candidate`` if it passes the check ``name``, else attnlib's reference, saying which.

    Used in the notebooks right after an exercise, so that the cells below (plots, widgets)
    keep working while the exercise is unfinished or wrong.
    """
    exercise = EXERCISES[name]
    if not isinstance(exercise, Check):
        raise ValueError(f"{name} is a prediction, not a function with a reference")
    result = exercise.run(candidate)  # not shown: the line printed below says what happens
    if result.passed:
        print(f"Using your {name}.")
        return candidate
    state = "is not attempted yet" if result.status == "not attempted" else "did not pass its check"
    print(f"Note: your {name} {state}, so the cells below use attnlib.{name} instead.")
    return exercise.reference


def graded(name: str) -> None:
    """Raise AssertionError with the check's diagnosis unless exercise ``name`` last passed; else return None.

    nbgrader's hidden tests call this in the exercise's locked test cell (the fallback cell, or
    the cell that checks a prediction), right after the check has run on the learner's work: the
    cell then earns its points only when the check passed, and the feedback shows the diagnosis.
    Learners never see these calls (the build and ``nbgrader generate_assignment`` remove them).
    """
    if name not in EXERCISES:
        raise ValueError(f"no exercise is named {name!r}")
    result = LATEST.get(name)
    if result is None:
        raise AssertionError(f"{name}: its check never ran (an error in a cell above it?)")
    if not result.passed:
        raise AssertionError(str(result))


__all__ = ["CheckResult", "EXERCISES", "fallback", "graded", *EXERCISES]
