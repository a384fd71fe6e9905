"""The machinery every exercise check shares.

A check runs the learner's function on a list of cases (random inputs with fixed seeds, then
targeted probes), compares each answer with the reference in attnlib, and, when they differ,
compares it with each known mistake to name what went wrong. Nothing the learner's code does
(raising, returning None or a list, the wrong shape, NaN, editing its inputs) escapes as an
exception: it all becomes a "failed" result with a message.
"""
from __future__ import annotations

import _thread
import contextlib
import copy
import numbers
import os
import signal
import sysconfig
import threading
import traceback
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .result import FAILED, NOT_ATTEMPTED, PASSED, CheckResult

#: seconds one call of the learner's function may take before the check stops it and says so
CALL_BUDGET_S = 10.0


class Failed(Exception):
    """Raised inside a check to end it with status "failed" and this message."""


class NotAttempted(Exception):
    """Raised inside a check when the learner's code still raises NotImplementedError."""


class TookTooLong(BaseException):
    """Raised inside the learner's code when its time budget runs out.

    A BaseException, like KeyboardInterrupt, so that an ``except Exception:`` in the learner's
    code cannot swallow it.
    """


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TookTooLong in the code run inside this block once ``seconds`` have passed.

    On Unix, in the main thread, a SIGALRM timer (``signal.setitimer``) does it; elsewhere
    (Windows) a timer thread interrupts the main thread. In any other thread no limit applies.
    Python code is stopped at its next instruction; a single long numpy call finishes first.
    """
    main = threading.current_thread() is threading.main_thread()
    if not seconds or not main:
        yield
        return
    if hasattr(signal, "setitimer"):
        def alarm(signum, frame):
            raise TookTooLong()

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        _thread.interrupt_main()

    timer = threading.Timer(seconds, interrupt)
    timer.start()
    try:
        yield
    except KeyboardInterrupt:
        if fired.is_set():
            raise TookTooLong() from None
        raise
    finally:
        timer.cancel()


@dataclass
class Case:
    """One call of the learner's function: its arguments, a label for messages, a hint on failure."""

    label: str
    args: dict[str, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    hint: str = ""
    nan_hint: str = ""  # added only when the answer holds NaN or inf

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


def _global_names(code: types.CodeType) -> set[str]:
    """Return the global names a code object (and the functions nested in it) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _is_data(value: Any) -> bool:
    """Return True for a number, array, or list/tuple of numbers: data, not a function or module."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (numbers.Number, np.ndarray)):
        return True
    return isinstance(value, (list, tuple)) and 0 < len(value) <= 10_000 and all(
        isinstance(v, numbers.Number) and not isinstance(v, bool) for v in value)


def _nudged(value: Any) -> Any:
    """Return a different value of the same kind: 1 more for numbers, each entry 1 more for sequences."""
    if isinstance(value, np.ndarray):
        return value + 1
    if isinstance(value, (list, tuple)):
        return type(value)(v + 1 for v in value)
    return value + 1


def _short(value: Any) -> str:
    text = np.array2string(value, separator=", ", threshold=6) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _then(message: str, more: str) -> str:
    """Return ``message`` followed by the sentence(s) ``more`` (which start with a space), punctuated."""
    if not more:
        return message
    return (message if message.rstrip().endswith((".", "!", "?", ")")) else message.rstrip() + ".") + more


def _outcome(fn: Callable[..., Any], case: Case) -> tuple[str, Any]:
    """Return ("value", answer) or ("error", message) of one call of ``fn`` on ``case``."""
    try:
        return "value", call_learner(fn, case, budget=2.0, explain_globals=False)
    except (Failed, NotAttempted) as exc:
        return "error", str(exc)


def global_data_hint(fn: Callable[..., Any], case: Case, outcome: tuple[str, Any] | None = None) -> str:
    """Return a sentence naming the notebook variables (globals) that ``fn`` reads and that change its result.

    A function that reads, say, ``d_head = 64`` from an earlier cell instead of computing it from
    its arguments works in the notebook and fails on the check's other sizes. Each data global
    the function reads is nudged in a copy of the function; the ones that change what it returns,
    or the error it raises, on ``case`` are named. ``outcome`` is the original call's
    ("value", answer) or ("error", message). Returns "" when there are none.
    """
    code, namespace = getattr(fn, "__code__", None), getattr(fn, "__globals__", None)
    if code is None or namespace is None or not isinstance(namespace, dict):
        return ""
    suspects = sorted(n for n in _global_names(code) if n in namespace and _is_data(namespace[n]))
    if not suspects:
        return ""
    outcome = outcome or _outcome(fn, case)
    found = []
    for name in suspects[:8]:
        twin_ns = dict(namespace)
        twin_ns[name] = _nudged(namespace[name])
        twin = types.FunctionType(code, twin_ns, fn.__name__, fn.__defaults__, fn.__closure__)
        twin.__kwdefaults__ = getattr(fn, "__kwdefaults__", None)
        kind, value = _outcome(twin, case)
        if kind != outcome[0] or (kind == "error" and value != outcome[1]) or (kind == "value" and not _same(value, outcome[1])):
            found.append(f"`{name}` (= {_short(namespace[name])})")
    if not found:
        return ""
    return (f" Your function reads {', '.join(found)} from your notebook, not from its arguments, and its result "
            "depends on it: the check calls it with other inputs than your notebook's, so compute such values "
            "from the arguments (their shapes, for instance) instead.")


def call_learner(fn: Callable[..., Any], case: Case, budget: float | None = CALL_BUDGET_S, slow_hint: str = "",
                 explain_globals: bool = True) -> Any:
    """Return fn(*case.args, **case.kwargs), run on copies of the inputs, within ``budget`` seconds.

    Raises NotAttempted on NotImplementedError, and Failed when the function raises anything
    else, runs out of time or changes one of its inputs in place. numpy warnings (overflow...)
    are silenced: their consequences (inf, NaN) are reported by the comparison instead.
    """
    args = {k: copy.deepcopy(v) for k, v in case.args.items()}
    kwargs = {k: copy.deepcopy(v) for k, v in case.kwargs.items()}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), time_limit(budget):
            warnings.simplefilter("ignore")
            out = fn(*args.values(), **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except TookTooLong:
        raise Failed(
            f"your function took longer than {budget:g} s on {case.label} ({case.describe()}), so the check "
            "stopped it. " + (slow_hint or "Is there a loop that never ends, or a loop in Python over every "
                              "single number where numpy could do a whole row or array at once?")
        ) from None
    except (Exception, SystemExit) as exc:  # the learner's bug, reported, never re-raised
        text = str(exc).strip() or "(no message)"
        hint = next((h for frag, h in _EXCEPTION_HINTS if frag in text), "")
        message = (f"your function raised {type(exc).__name__}: {text}{_where(exc)} when called with "
                   f"{case.describe()}." + (f" Hint: {hint}" if hint else ""))
        if explain_globals:
            message = _then(message, global_data_hint(fn, case, ("error", message)))
        raise Failed(message) from None
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
        hint = " ".join(h for h in (case.hint, case.nan_hint) if h)
        raise Failed(f"{what} contains {bad} for {case.describe()}." + (f" {hint}" if hint else ""))
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


#: (rtol, atol) at which float arrays of each precision are compared, at the least: a right answer
#: computed in float32 (even if returned as float64) or in float16 must pass
FLOAT32_TOLERANCE = (1e-4, 1e-5)
FLOAT16_TOLERANCE = (1e-2, 1e-3)


def array_tolerance(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> tuple[float, float]:
    """Return the (rtol, atol) for comparing float arrays a and b: never tighter than float32 allows."""
    floor = FLOAT16_TOLERANCE if np.float16 in (a.dtype, b.dtype) else FLOAT32_TOLERANCE
    return max(rtol, floor[0]), max(atol, floor[1])


def close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Return True when a and b are the same structure of arrays/numbers, equal within tolerance.

    Float arrays are compared at float32's precision at the least (``array_tolerance``); numbers
    at exactly ``rtol`` and ``atol``. Bool arrays must match exactly and in dtype; NaN matches NaN
    (to recognise mistakes that produce NaN); a float array never matches a bool one.
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
        if "f" in (a.dtype.kind, b.dtype.kind):
            rtol, atol = array_tolerance(a, b, rtol, atol)
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
    budget: float = CALL_BUDGET_S
    slow_hint: str = ""

    def __repr__(self) -> str:
        return f"<check {self.name} (notebook {self.notebook}): {self.summary}>"

    def __call__(self, candidate: Callable[..., Any]) -> CheckResult:
        """Return the CheckResult of ``candidate``, shown at once in Jupyter; never raises because of the learner's code."""
        return self.run(candidate).announce()

    def run(self, candidate: Callable[..., Any]) -> CheckResult:
        """Return the CheckResult of ``candidate`` without showing it (``fallback`` and the tests use this)."""
        try:
            if not callable(candidate):
                raise Failed(
                    f"pass your function itself, e.g. check.{self.name}({self.name}), "
                    f"not {_type_name(candidate)} (the result of calling it?)"
                )
            cases = self.cases()
            results, unfinished = [], []
            for case in cases:
                try:
                    results.append((case, self._run_case(candidate, case)))
                except NotAttempted:
                    unfinished.append(case)
            if unfinished and not results:
                raise NotAttempted()
            note = self._unfinished(unfinished, results, len(cases)) if unfinished else ""
            wrong = [r for _, r in results if isinstance(r, tuple)]
            if wrong:
                passing = [case for case, r in results if not isinstance(r, tuple)]
                try:
                    self._diagnose(wrong, passing, candidate)
                except Failed as failure:
                    raise Failed(f"{failure}{' ' + note if note else ''}") from None
            if note:
                raise Failed(note)
            dtype_problem = next((r for _, r in results if isinstance(r, str)), None)
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

    @staticmethod
    def _unfinished(unfinished: list[Case], results: list[tuple[Case, Any]], total: int) -> str:
        """Return the sentence for a function that raised NotImplementedError on some cases only."""
        labels = "; ".join(f"{case.label} ({case.describe()})" for case in unfinished[:4])
        more = f" and {len(unfinished) - 4} more" if len(unfinished) > 4 else ""
        right = sum(1 for _, r in results if not isinstance(r, tuple))
        ran = f"it ran on the other {len(results)}" + (", all right" if right == len(results) else f", {right} of them right")
        return (f"Not finished yet: your function still raises NotImplementedError on {len(unfinished)} of the "
                f"{total} cases: {labels}{more}; {ran}.")

    def _tolerances(self, case: Case) -> tuple[float, float]:
        """Return the check's own (rtol, atol); ``close`` loosens them for float arrays to their precision."""
        return self.rtol, self.atol

    def _run_case(self, candidate: Callable[..., Any], case: Case) -> tuple | str | None:
        """Run one case: None if the answer matches, (case, answer, expected) if it does not.

        Returns a message (str) when the values match but the dtype does not (keep_dtype
        checks): wrong values are diagnosed first. Raises Failed at once when the learner's
        code raises, runs out of time or changes its inputs; NotAttempted when it raises
        NotImplementedError.
        """
        expected = call_reference(self.reference, case)
        answer = call_learner(candidate, case, self.budget, self.slow_hint)
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

    def _diagnose(self, wrong: list[tuple], passing: list[Case], candidate: Callable[..., Any] | None = None) -> None:
        """Raise Failed for the failing cases, naming the known mistake that explains them best.

        Small cases can be explained by several mistakes at once (an inverted 1 x 1 causal mask
        is also one with its diagonal blocked). The diagnosis is the first mistake that explains
        every failing case and is right wherever the learner was right; failing that, one that
        explains every failing case; failing that, when only one case fails, one that explains
        it. Otherwise the first failing case is described, not misnamed.
        """
        case, answer, expected = wrong[0]
        explained = global_data_hint(candidate, case, ("value", answer)) if candidate is not None else ""
        try:
            matches = [self._matching_mistakes(*w) for w in wrong]
            common = [m for m in matches[0] if all(m in other for other in matches[1:])]
            consistent = [m for m in common if all(self._mistake_is_right(m, c) for c in passing)]
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
        except Failed as failure:
            raise Failed(_then(str(failure), explained)) from None

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
