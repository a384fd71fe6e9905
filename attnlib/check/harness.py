"""The machinery every exercise check shares.

A check runs the learner's function on a list of cases (random inputs with fixed seeds, then
targeted probes), compares each answer with the reference in attnlib, and, when they differ,
compares it with each known mistake to name what went wrong. Nothing the learner's code does
(raising, returning None or a list, the wrong shape, NaN, editing its inputs) escapes as an
exception: it all becomes a "failed" result with a message.
"""
from __future__ import annotations

import copy
import numbers
import os
import sysconfig
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .result import FAILED, NOT_ATTEMPTED, PASSED, CheckResult


class Failed(Exception):
    """Raised inside a check to end it with status "failed" and this message."""


class NotAttempted(Exception):
    """Raised inside a check when the learner's code still raises NotImplementedError."""


@dataclass
class Case:
    """One call of the learner's function: its arguments, a label for messages, a hint on failure."""

    label: str
    args: dict[str, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def describe(self) -> str:
        """Return e.g. "q (2, 3, 4), k (2, 5, 4), mask (3, 5)" for the arguments of this case."""
        parts = []
        for name, value in {**self.args, **self.kwargs}.items():
            if isinstance(value, np.ndarray):
                small = value.ndim <= 1 and value.size <= 8
                parts.append(f"{name}={np.array2string(value, separator=', ')}" if small else f"{name} {value.shape}")
            else:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts)


@dataclass
class Mistake:
    """A known wrong implementation (same signature as the reference) and what to tell the learner."""

    hint: str
    fn: Callable[..., Any]


# Fragments of exception messages and what they usually mean in these exercises.
_EXCEPTION_HINTS = [
    ("could not be broadcast", "two arrays' shapes do not line up (see the shapes above): a sum or max taken without keepdims=True, or a product over the wrong axes, are the usual causes"),
    ("mismatch in its core dimension", "a matrix product got shapes that do not chain: transpose the last two axes of k with np.swapaxes(k, -1, -2) (k.T reverses *every* axis of a batched array)"),
    ("shapes", "check the shapes of the arrays in that line"),
    ("cannot reshape", "the reshape does not preserve the number of elements: check which axes you split"),
]


# Frames in these folders are attnlib's, numpy's or Python's own, never the learner's. (A folder
# merely *named* attnlib, such as a clone of the course, may hold the learner's code.)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LIBRARY_DIRS = tuple(
    {_PACKAGE_DIR}
    | {os.path.abspath(p) + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))}
)


def _where(exc: BaseException) -> str:
    """Return " (line N of your code: `...`)" for the deepest frame of the learner's code, or ""."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not os.path.abspath(f.filename).startswith(_LIBRARY_DIRS)]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f" (in `{frame.name}`, line {frame.lineno}{code})"


def _same(a: Any, b: Any) -> bool:
    """Return True when a and b hold the same values (arrays compared exactly, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape):
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN == NaN here: an unchanged NaN input is not a modification
    return bool(a == b)


def call_learner(fn: Callable[..., Any], case: Case) -> Any:
    """Return fn(*case.args, **case.kwargs), run on copies of the inputs.

    Raises NotAttempted on NotImplementedError, and Failed when the function raises anything
    else or changes one of its inputs in place. numpy warnings (overflow...) are silenced:
    their consequences (inf, NaN) are reported by the comparison instead.
    """
    args = {k: copy.deepcopy(v) for k, v in case.args.items()}
    kwargs = {k: copy.deepcopy(v) for k, v in case.kwargs.items()}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = fn(*args.values(), **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except (Exception, SystemExit) as exc:  # the learner's bug, reported, never re-raised
        text = str(exc).strip() or "(no message)"
        hint = next((h for frag, h in _EXCEPTION_HINTS if frag in text), "")
        raise Failed(
            f"your function raised {type(exc).__name__}: {text}{_where(exc)} when called with "
            f"{case.describe()}." + (f" Hint: {hint}" if hint else "")
        ) from None
    for name, value in {**case.args, **case.kwargs}.items():
        new = {**args, **kwargs}[name]
        if not _same(new, value):
            raise Failed(
                f"your function changed its input `{name}` in place (called with {case.describe()}). "
                "Leave the inputs untouched: write `x = x - m`, not `x -= m`, or work on a copy."
            )
    return out


# ---------------------------------------------------------------- answer validation

def _type_name(value: Any) -> str:
    """Return a readable name for the type of ``value`` (``torch.Tensor``, ``list``...)."""
    t = type(value)
    return f"{t.__module__}.{t.__name__}" if t.__module__ not in ("builtins", "numpy") else t.__name__


def validate_array(value: Any, expected: np.ndarray, what: str, case: Case) -> np.ndarray:
    """Return ``value`` if it is a numpy array shaped and typed like ``expected``, else raise Failed."""
    if value is None:
        raise Failed(f"{what} is None: did you forget to `return` it?")
    if isinstance(value, tuple) and any(isinstance(part, np.ndarray) for part in value):
        raise Failed(
            f"{what} is a tuple of {len(value)} values; this exercise returns one numpy array of shape "
            f"{expected.shape}: return only that array"
        )
    if isinstance(value, (list, tuple)):
        raise Failed(
            f"{what} is a {type(value).__name__}, not a numpy array: build it with numpy operations "
            "or wrap it in np.array(...)"
        )
    if type(value).__module__.startswith("torch"):
        raise Failed(f"{what} is a {_type_name(value)}; this exercise works in numpy: use numpy functions (or .numpy())")
    if not isinstance(value, np.ndarray):
        raise Failed(f"{what} is a {_type_name(value)}, expected a numpy array of shape {expected.shape}")
    if value.shape != expected.shape:
        raise Failed(f"{what} has shape {value.shape}, expected {expected.shape} for {case.describe()}")
    if expected.dtype == bool and value.dtype != bool:
        raise Failed(
            f"{what} has dtype {value.dtype}, but a mask must be a bool array (True = may attend): "
            "build it from comparisons such as `j <= i`, or pass dtype=bool"
        )
    if expected.dtype.kind == "f" and value.dtype.kind != "f":
        raise Failed(f"{what} has dtype {value.dtype}, expected floating-point numbers like {expected.dtype}")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        bad = "NaN" if np.isnan(value).any() else "inf"
        raise Failed(f"{what} contains {bad} for {case.describe()}." + (f" {case.hint}" if case.hint else ""))
    return value


def validate_number(value: Any, what: str) -> float:
    """Return ``value`` as a float if it is one real number, else raise Failed."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if value is None:
        raise Failed(f"{what} is None: did you forget to `return` it?")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise Failed(f"{what} is a {_type_name(value)} ({value!r:.60}), expected a number")
    if not np.isfinite(value):
        raise Failed(f"{what} is {value}, expected a finite number")
    return float(value)


def close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Return True when a and b are the same structure of arrays/numbers, equal within tolerance.

    Bool arrays must match exactly and in dtype; NaN matches NaN (to recognise mistakes that
    produce NaN); a float array never matches a bool one.
    """
    if isinstance(b, tuple):
        return isinstance(a, tuple) and len(a) == len(b) and all(close(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(b, np.ndarray):
        if not isinstance(a, np.ndarray) or a.shape != b.shape:
            return False
        if b.dtype == bool or a.dtype == bool:
            return a.dtype == b.dtype and bool(np.array_equal(a, b))
        if a.dtype.kind not in "fiu":
            return False
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(a, (str, bytes)):
        return False  # float("327680") would succeed: a string is never a right number
    try:
        return bool(np.isclose(float(a), float(b), rtol=rtol, atol=atol))
    except (TypeError, ValueError):
        return False


def first_difference(value: np.ndarray, expected: np.ndarray) -> str:
    """Return a sentence naming the entry where value and expected differ most."""
    diff = np.abs(value.astype(float) - expected.astype(float))
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = f"at index {tuple(int(i) for i in idx)} " if diff.ndim else ""
    digits = 6
    while digits < 17 and f"{expected[idx].item():.{digits}g}" == f"{value[idx].item():.{digits}g}":
        digits += 2  # show enough digits for the two numbers to look different
    return (f"{where}expected {expected[idx].item():.{digits}g}, got {value[idx].item():.{digits}g} "
            f"(largest difference {diff[idx]:.3g})")


# ---------------------------------------------------------------- the check itself

@dataclass
class Check:
    """One exercise's check: call it with the learner's function to get a CheckResult.

    name: the exercise; notebook: where it lives ("01"); reference: attnlib's implementation;
    cases: returns the list of Case to run; mistakes: known wrong implementations with hints;
    output: "array", "pair" (out, weights) or "number"; extra: optional final probe that gets
    the learner's function (e.g. a memory test) and raises Failed; keep_dtype: the answer must
    have the reference's dtype (float32 in, float32 out).
    """

    name: str
    notebook: str
    summary: str
    reference: Callable[..., Any]
    cases: Callable[[], list[Case]]
    mistakes: list[Mistake] = field(default_factory=list)
    output: str = "array"
    rtol: float = 1e-6
    atol: float = 1e-9
    extra: Callable[[Callable[..., Any]], None] | None = None
    success: str = ""
    keep_dtype: bool = False

    def __repr__(self) -> str:
        return f"<check {self.name} (notebook {self.notebook}): {self.summary}>"

    def __call__(self, candidate: Callable[..., Any]) -> CheckResult:
        """Return the CheckResult of ``candidate``; never raises because of the learner's code."""
        try:
            if not callable(candidate):
                raise Failed(
                    f"pass your function itself, e.g. check.{self.name}({self.name}), "
                    f"not {_type_name(candidate)} (the result of calling it?)"
                )
            cases = self.cases()
            results = [self._run_case(candidate, case) for case in cases]
            wrong = [r for r in results if isinstance(r, tuple)]
            if wrong:
                passing = [case for case, r in zip(cases, results) if not isinstance(r, tuple)]
                self._diagnose(wrong, passing)
            dtype_problem = next((r for r in results if isinstance(r, str)), None)
            if dtype_problem:
                raise Failed(dtype_problem)
            if self.extra is not None:
                self.extra(candidate)
        except NotAttempted:
            return CheckResult(self.name, NOT_ATTEMPTED, "replace `raise NotImplementedError()` with your code, then run this cell again")
        except Failed as failure:
            return CheckResult(self.name, FAILED, str(failure))
        except Exception as exc:  # a bug in the check itself: report it, do not hide it as a pass
            return CheckResult(self.name, FAILED, f"the check could not finish ({type(exc).__name__}: {exc}); please report this")
        return CheckResult(self.name, PASSED, self.success or f"matches attnlib.{self.name} on all {len(cases)} cases")

    def _tolerances(self, case: Case) -> tuple[float, float]:
        """Return (rtol, atol) for a case: looser when any input is float32."""
        low = any(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in case.args.values())
        return (1e-4, 1e-5) if low else (self.rtol, self.atol)

    def _run_case(self, candidate: Callable[..., Any], case: Case) -> tuple | str | None:
        """Run one case: None if the answer matches, (case, answer, expected) if it does not.

        Returns a message (str) when the values match but the dtype does not (keep_dtype
        checks): wrong values are diagnosed first. Raises Failed at once when the learner's
        code raises or changes its inputs.
        """
        expected = call_reference(self.reference, case)
        answer = call_learner(candidate, case)
        if self.output == "pair" and isinstance(answer, list) and len(answer) == 2:
            answer = tuple(answer)
        rtol, atol = self._tolerances(case)
        if not close(answer, expected, rtol, atol):
            return case, answer, expected
        if self.keep_dtype and answer.dtype != expected.dtype:
            return f"your result has dtype {answer.dtype} for inputs of dtype {expected.dtype} ({case.label}): keep the dtype of the inputs"
        return None

    def _matching_mistakes(self, case: Case, answer: Any, expected: Any) -> list[Mistake]:
        """Return the known mistakes that give ``answer`` (and not the right answer) on ``case``."""
        rtol, atol = self._tolerances(case)
        found = []
        for mistake in self.mistakes:
            try:
                wrong = call_reference(mistake.fn, case)
            except Exception:
                continue  # that mistake cannot run on this input: it cannot be what happened
            if close(answer, wrong, rtol, atol) and not close(wrong, expected, rtol, atol):
                found.append(mistake)
        return found

    def _diagnose(self, wrong: list[tuple], passing: list[Case]) -> None:
        """Raise Failed for the failing cases, naming the known mistake that explains them best.

        Small cases can be explained by several mistakes at once (an inverted 1 x 1 causal mask
        is also one with its diagonal blocked). The diagnosis is the first mistake that explains
        every failing case and is right wherever the learner was right; failing that, one that
        explains every failing case; failing that, when only one case fails, one that explains
        it. Otherwise the first failing case is described, not misnamed.
        """
        matches = [self._matching_mistakes(*w) for w in wrong]
        common = [m for m in matches[0] if all(m in other for other in matches[1:])]
        consistent = [m for m in common if all(self._mistake_is_right(m, case) for case in passing)]
        case, answer, expected = wrong[0]
        single = matches[0] if len(wrong) == 1 else []  # one failing case: its match is all we know
        if consistent or common or single:
            mistake = (consistent or common or single)[0]
            raise Failed(f"{mistake.hint} (seen on {case.label}: {case.describe()})")
        if self.output == "pair":
            self._compare_pair(answer, expected, case)
        elif self.output == "number":
            got = validate_number(answer, "your result")
            raise Failed(f"for {case.describe()} expected {expected!r}, got {got!r}." + (f" {case.hint}" if case.hint else ""))
        got = validate_array(answer, expected, "your result", case)
        self._differs(got, expected, "your result", case)

    def _mistake_is_right(self, mistake: Mistake, case: Case) -> bool:
        """Return True when ``mistake`` gives the reference's answer on ``case`` (as the learner did)."""
        try:
            return close(call_reference(mistake.fn, case), call_reference(self.reference, case), *self._tolerances(case))
        except Exception:
            return False

    def _compare_pair(self, answer: Any, expected: tuple, case: Case) -> None:
        """Raise Failed explaining how a returned (out, weights) differs from the expected pair."""
        if not isinstance(answer, tuple) or len(answer) != 2:
            kind = "None" if answer is None else _type_name(answer)
            if isinstance(answer, (tuple, list)):
                kind = f"a {kind} of {len(answer)} values"  # not "a tuple (out, weights), got tuple"
            raise Failed(f"your function should return a tuple (out, weights), got {kind}" + (": did you forget `return out, weights`?" if answer is None else ""))
        out, weights = answer
        if (isinstance(out, np.ndarray) and isinstance(weights, np.ndarray) and expected[0].shape != expected[1].shape
                and out.shape == expected[1].shape and weights.shape == expected[0].shape):
            raise Failed("you returned (weights, out): return them in the order (out, weights)")
        weights = validate_array(weights, expected[1], "weights (the second value you return)", case)
        if not close(weights, expected[1], *self._tolerances(case)):
            self._differs(weights, expected[1], "weights (the second value you return)", case)
        out = validate_array(out, expected[0], "out (the first value you return)", case)
        self._differs(out, expected[0], "out (the first value you return)", case)

    @staticmethod
    def _differs(value: np.ndarray, expected: np.ndarray, what: str, case: Case) -> None:
        """Raise Failed naming the worst entry, with the case's hint (weights: whether rows sum to 1)."""
        if expected.dtype == bool:
            idx = tuple(int(i) for i in np.argwhere(value != expected)[0])
            raise Failed(
                f"{what} is wrong at index {idx} for {case.describe()}: expected {bool(expected[idx])}, "
                f"got {bool(value[idx])}." + (f" {case.hint}" if case.hint else "")
            )
        extra = ""
        if "weights" in what and expected.ndim >= 2:
            rows, got = expected.sum(-1), value.sum(-1)
            live = rows > 0.5  # rows that should sum to 1 (blocked rows sum to 0)
            if live.any() and not np.allclose(got[live], 1.0, atol=1e-6):
                if np.allclose(value.sum(-2), 1.0, atol=1e-6):
                    extra = " Your columns sum to 1, not your rows: normalise over the last axis (the keys)."
                elif np.allclose(got[live], got[live].flat[0], atol=1e-6):
                    extra = f" Each row of your weights sums to {got[live].flat[0]:.4g} but should sum to 1: did you scale the weights after the softmax?"
                else:
                    extra = " The rows of your weights do not sum to 1."
        raise Failed(
            f"{what} differs from the expected values on {case.label} ({case.describe()}): "
            f"{first_difference(value, expected)}.{extra}" + (f" {case.hint}" if case.hint else "")
        )


def call_reference(fn: Callable[..., Any], case: Case) -> Any:
    """Return fn(*case.args, **case.kwargs) on copies of the inputs, numpy warnings silenced."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*copy.deepcopy(list(case.args.values())), **copy.deepcopy(case.kwargs))
