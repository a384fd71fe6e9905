"""Predict-the-number questions: the learner's function returns a number (or a few) to compare."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .harness import Case, Failed, NotAttempted, call_learner
from .result import FAILED, NOT_ATTEMPTED, PASSED, CheckResult


@dataclass
class Prediction:
    """A check for a predicted number or list of numbers, within an absolute tolerance.

    expected: computes the right answer (so it is never typed in by hand); wrong: known wrong
    answers (computed too) with the hint each deserves; explain: shown on success.
    """

    name: str
    notebook: str
    summary: str
    expected: Callable[[], np.ndarray]
    tolerance: float
    explain: str
    wrong: list[tuple[Callable[[], np.ndarray], str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<prediction {self.name} (notebook {self.notebook}): {self.summary}>"

    def __call__(self, candidate: Callable[[], object]) -> CheckResult:
        """Return the CheckResult of the learner's answer function ``candidate()``, shown at once in Jupyter."""
        return self.run(candidate).announce()

    def run(self, candidate: Callable[[], object]) -> CheckResult:
        """Return the CheckResult of the learner's answer function ``candidate()`` without showing it."""
        try:
            if not callable(candidate):
                raise Failed(f"pass your answer function itself, e.g. check.{self.name}(my_answer)")
            answer = call_learner(candidate, Case("your answer", {}))
            expected = np.atleast_1d(np.asarray(self.expected(), dtype=float))
            if answer is None:
                raise Failed("your function returned None: `return` your prediction")
            if isinstance(answer, (str, bytes)) or (
                isinstance(answer, (list, tuple)) and any(isinstance(a, (str, bytes)) for a in answer)
            ):
                raise Failed(f"your answer {answer!r:.60} is text: return numbers, e.g. 0.5 or [0.5, 0.3, 0.2], not strings")
            try:
                got = np.atleast_1d(np.asarray(answer, dtype=float))
            except (TypeError, ValueError):
                raise Failed(f"your answer {answer!r:.60} is not a number or a list of numbers") from None
            if got.shape != expected.shape:
                raise Failed(f"give {expected.size} number(s), you gave {got.size}")
            if not np.all(np.isfinite(got)):
                raise Failed(f"your answer {got.tolist()} is not finite")
            if np.all(np.abs(got - expected) <= self.tolerance):
                return CheckResult(self.name, PASSED, f"right: {self.explain}")
            for wrong, hint in self.wrong:
                if np.all(np.abs(got - np.atleast_1d(wrong())) <= self.tolerance):
                    raise Failed(hint)
            if np.all(np.abs(got / 100 - expected) <= self.tolerance):
                raise Failed("those look like percentages: give the weights as fractions (they sum to 1, not 100)")
            if got.size > 1 and np.all(np.abs(np.sort(got) - np.sort(expected)) <= self.tolerance):
                raise Failed(
                    "you have the right numbers in the wrong order: the question asks for them in the order "
                    f"it names them ({self.summary}), so check which number goes first"
                )
            worst = int(np.argmax(np.abs(got - expected)))
            which = f"number {worst + 1} of your answer ({got[worst]:.4g})" if got.size > 1 else f"your answer {got[worst]:.4g}"
            off = float(np.abs(got[worst] - expected[worst]))
            if off <= 5 * self.tolerance:
                raise Failed(f"close, but {which} is off by more than {self.tolerance}: keep more digits "
                             "until the end (round to 2 decimals only once you are done)")
            raise Failed(f"not quite: {which} is off by more than {self.tolerance}. Redo the computation step by step")
        except NotAttempted:
            return CheckResult(self.name, NOT_ATTEMPTED, "replace `raise NotImplementedError()` with `return` and your prediction, then run this cell again")
        except Failed as failure:
            return CheckResult(self.name, FAILED, str(failure))
