"""Checks for notebook 10 (hard attention, Hopfield memories, reading attention maps).

- ``attention_entropy``: the entropy in nats of each row of attention weights, 0 ln 0 = 0;
- ``hopfield_update``: one modern Hopfield update X^T softmax(beta X xi), which is attention.

``hopfield_update`` has two known mistakes that only run when the number of patterns N equals
their width d (the patterns used as columns, as in Ramsauer et al.'s notation, where X is
(d, N)): on any other shape they raise. The check first tries the learner's function on square
probes, so that these mistakes are named instead of reported as a shape error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..reference import entropy as entropy_ref
from ..reference import hopfield as hopfield_ref
from ..reference.attention import masked_softmax, softmax
from ..reference.masks import causal_mask
from .harness import Case, Check, Failed, Mistake, NotAttempted, call_learner, call_reference, close
from .result import FAILED, CheckResult

# ------------------------------------------------------------------ attention_entropy


def _rows(rng: np.random.Generator, shape: tuple[int, ...], spread: float = 1.0) -> np.ndarray:
    """Return random attention weights of ``shape``: the softmax of normal scores times ``spread``."""
    return softmax(rng.normal(size=shape) * spread, axis=-1)


def _entropy_cases() -> list[Case]:
    rng = np.random.default_rng(110)
    zeros_hint = (
        "some weights here are exactly 0, and 0 * np.log(0) is 0 * (-inf) = NaN in numpy; the limit of "
        "w ln w as w -> 0 is 0, so leave the zero weights out of the sum."
    )
    return [
        Case("a batch of random rows", {"weights": _rows(rng, (4, 6))}),
        Case("uniform rows over 8 keys", {"weights": np.full((2, 8), 1 / 8)}, hint="uniform weights over n keys have entropy ln n (here ln 8)."),
        Case("one-hot rows (hard attention)", {"weights": np.eye(4)[[2, 0, 3]]}, hint=zeros_hint),
        Case(
            "causal weights (zeros above the diagonal)",
            {"weights": masked_softmax(rng.normal(size=(5, 5)) * 2, causal_mask(5))},
            hint=zeros_hint,
        ),
        Case(
            "a fully masked row of zeros",
            {"weights": np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])},
            hint="a row with no allowed key is all zeros and has entropy 0. " + zeros_hint,
        ),
        Case("a batch of heads, (batch, heads, n_q, n_k)", {"weights": _rows(rng, (2, 3, 4, 4), 2.0)}),
        Case("two long rows of 1000 keys", {"weights": _rows(rng, (2, 1000), 3.0)}),
        Case("float32 weights", {"weights": _rows(rng, (3, 5)).astype(np.float32)}),
    ]


def _entropy_terms(w: np.ndarray, log=np.log) -> np.ndarray:
    """Return -w log w elementwise with 0 log 0 = 0."""
    w = np.asarray(w, dtype=float)
    return -np.where(w > 0, w * log(np.where(w > 0, w, 1.0)), 0.0)


def _entropy_log_of_zero(weights):
    w = np.asarray(weights, dtype=float)
    return -(w * np.log(w)).sum(axis=-1)


def _entropy_log2(weights):
    return _entropy_terms(weights, np.log2).sum(axis=-1)


def _entropy_axis(axis: int):
    return lambda weights: _entropy_terms(weights).sum(axis=axis)


def _entropy_no_minus(weights):
    return -_entropy_terms(weights).sum(axis=-1)


def _entropy_not_summed(weights):
    return _entropy_terms(weights)


def _entropy_summed_everything(weights):
    return _entropy_terms(weights).sum()


def _entropy_mean(weights):
    return _entropy_terms(weights).mean(axis=-1)


def _entropy_normalised(weights):
    return _entropy_terms(weights).sum(axis=-1) / np.log(np.shape(weights)[-1])


def _entropy_of_softmax(weights):
    return _entropy_terms(softmax(np.asarray(weights, dtype=float), axis=-1)).sum(axis=-1)


attention_entropy = Check(
    name="attention_entropy",
    notebook="10",
    summary="the entropy in nats of each row of attention weights: (..., n_k) -> (...), with 0 ln 0 = 0",
    reference=entropy_ref.attention_entropy,
    cases=_entropy_cases,
    mistakes=[
        Mistake(
            "your entropy is NaN for rows with exact zeros (one-hot or masked rows): 0 * np.log(0) is "
            "0 * (-inf) = NaN, but w ln w tends to 0 as w -> 0, so zero weights must contribute 0. Compute "
            "the terms only where w > 0, e.g. np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0)",
            _entropy_log_of_zero,
        ),
        Mistake(
            "you used log base 2, which gives bits; measure the entropy in nats with the natural log "
            "np.log, so that uniform weights over n keys give ln n (bits are nats / ln 2)",
            _entropy_log2,
        ),
        Mistake(
            "you summed over the first axis (axis=0), across rows: each row is one query's weights, so "
            "sum over the last axis, the keys (axis=-1), one entropy per row",
            _entropy_axis(0),
        ),
        Mistake(
            "you summed over the queries (axis=-2): each row is one query's weights over the keys, so "
            "sum over the last axis (axis=-1), one entropy per row",
            _entropy_axis(-2),
        ),
        Mistake(
            "your entropies are negative: the entropy is H = -sum_j w_j ln w_j. Each ln w_j is <= 0 "
            "(weights are at most 1), so the minus sign makes H >= 0",
            _entropy_no_minus,
        ),
        Mistake(
            "you returned every term -w_j ln w_j, one per key: add them up over the last axis "
            "(.sum(axis=-1)), one entropy per row",
            _entropy_not_summed,
        ),
        Mistake(
            "you summed over every axis and got one number: sum over the last axis only (axis=-1), "
            "to get one entropy per row, shape weights.shape[:-1]",
            _entropy_summed_everything,
        ),
        Mistake(
            "you averaged the terms over the keys (.mean): the entropy is their sum (.sum(axis=-1))",
            _entropy_mean,
        ),
        Mistake(
            "you divided by ln(n_k), which gives the normalised entropy between 0 and 1: return the "
            "entropy itself, in nats (ln n_k for uniform weights)",
            _entropy_normalised,
        ),
        Mistake(
            "you applied a softmax to the weights first: they are already attention weights (each row "
            "sums to 1), so take the entropy of the weights as given",
            _entropy_of_softmax,
        ),
    ],
    success="right in nats, 0 for one-hot and masked rows, ln n for uniform ones, on any batch of rows",
)

# ------------------------------------------------------------------ hopfield_update


@dataclass
class ProbedCheck(Check):
    """A Check that first tries the learner's function on probes for mistakes that raise elsewhere.

    probes: cases on which the ``probe_mistakes`` run (here, square patterns N = d); when the
    learner's answer on a probe equals one of them (and is wrong), that mistake's hint is the
    verdict. Otherwise the check runs as usual.
    """

    probes: Callable[[], list[Case]] = field(default=lambda: [])
    probe_mistakes: list[Mistake] = field(default_factory=list)

    def run(self, candidate: Callable[..., Any]) -> CheckResult:
        """Return the CheckResult of ``candidate``; a probe mistake is named before the usual cases run."""
        if callable(candidate):
            try:
                hint = self._probe(candidate)
            except Exception:  # a bug in the probe: let the usual check report on the learner's code
                hint = None
            if hint:
                return CheckResult(self.name, FAILED, hint)
        return super().run(candidate)

    def _probe(self, candidate: Callable[..., Any]) -> str | None:
        """Return the hint of the probe mistake the learner made, or None."""
        for case in self.probes():
            try:
                answer = call_learner(candidate, case)
            except (Failed, NotAttempted):
                return None  # the usual cases report this, with their own message
            expected = call_reference(self.reference, case)
            rtol, atol = self._tolerances(case)
            if close(answer, expected, rtol, atol):
                continue
            for mistake in self.probe_mistakes:
                wrong = call_reference(mistake.fn, case)
                if close(answer, wrong, rtol, atol) and not close(wrong, expected, rtol, atol):
                    return f"{mistake.hint} (seen on {case.label}: {case.describe()})"
        return None


def _pm1(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Return random +-1 entries of ``shape``, like the pixels of a glyph."""
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _hopfield_cases() -> list[Case]:
    rng = np.random.default_rng(111)
    glyphs = _pm1(rng, (4, 64))
    return [
        Case("8 patterns of width 16, one query", {"patterns": rng.normal(size=(8, 16)), "query": rng.normal(size=16), "beta": 0.6}),
        Case(
            "a stack of 3 queries against 5 patterns",
            {"patterns": rng.normal(size=(5, 6)), "query": rng.normal(size=(3, 6)), "beta": 2.0},
            hint="each query's weights are a softmax over the patterns (the last axis of the similarities), never over the queries.",
        ),
        Case("a batch of 2 pattern sets, one query each", {"patterns": rng.normal(size=(2, 4, 3)), "query": rng.normal(size=(2, 3)), "beta": 0.5}),
        Case("6 glyph-like +-1 patterns of 64 pixels, beta = 1/sqrt(64)", {"patterns": _pm1(rng, (6, 64)), "query": _pm1(rng, 64), "beta": 1 / 8}),
        Case(
            "a large beta, the query a stored +-1 pattern with 8 pixels flipped",
            {"patterns": glyphs, "query": np.where(np.arange(64) < 8, -glyphs[1], glyphs[1]), "beta": 25.0},
            hint="beta times the similarities reaches the hundreds here: use a stable softmax (subtract the maximum), e.g. attnlib.softmax.",
        ),
        Case("float32 inputs", {"patterns": rng.normal(size=(7, 5)).astype(np.float32), "query": rng.normal(size=(2, 5)).astype(np.float32), "beta": 1.5}),
        Case(
            "pattern sets (2, 1, 5, 4) broadcast against queries (2, 3, 4)",
            {"patterns": rng.normal(size=(2, 1, 5, 4)), "query": rng.normal(size=(2, 3, 4)), "beta": 0.8},
        ),
    ]


def _hopfield_probes() -> list[Case]:
    rng = np.random.default_rng(112)
    return [
        Case("6 patterns of width 6 (N = d)", {"patterns": rng.normal(size=(6, 6)), "query": rng.normal(size=6), "beta": 0.7}),
        Case("2 sets of 5 patterns of width 5 (N = d)", {"patterns": rng.normal(size=(2, 5, 5)), "query": rng.normal(size=(2, 5)), "beta": 1.3}),
    ]


def _similarities(patterns, query) -> np.ndarray:
    """Return x_i . xi for every pattern: (..., N)."""
    return (np.asarray(patterns, dtype=float) @ np.asarray(query, dtype=float)[..., None])[..., 0]


def _mix(patterns, weights) -> np.ndarray:
    """Return sum_i w_i x_i: (..., d)."""
    return (np.asarray(weights)[..., None, :] @ np.asarray(patterns, dtype=float))[..., 0, :]


def _hopfield_with(weights_fn: Callable[[np.ndarray, np.ndarray, float], np.ndarray]):
    """Return a Hopfield update whose weights are weights_fn(similarities, patterns, beta)."""

    def update(patterns, query, beta):
        return _mix(patterns, weights_fn(_similarities(patterns, query), np.asarray(patterns), beta))

    return update


def _hopfield_wrong_axis(patterns, query, beta):
    s = beta * _similarities(patterns, query)
    return _mix(patterns, softmax(s, axis=-2 if s.ndim >= 2 else -1))


def _hopfield_beta_after(patterns, query, beta):
    return beta * _mix(patterns, softmax(_similarities(patterns, query)))


def _hopfield_returns_weights(patterns, query, beta):
    return softmax(beta * _similarities(patterns, query))


def _hopfield_unstable(patterns, query, beta):
    e = np.exp(beta * _similarities(patterns, query))
    return _mix(patterns, e / e.sum(axis=-1, keepdims=True))


def _hopfield_sign(patterns, query, beta):
    return np.sign(hopfield_ref.hopfield_update(patterns, query, beta))


def _hopfield_paper_columns(patterns, query, beta):
    x = np.asarray(patterns, dtype=float)
    xt = np.swapaxes(x, -1, -2)  # treats the rows as the columns of Ramsauer et al.'s X (d, N)
    w = softmax(beta * (xt @ np.asarray(query, dtype=float)[..., None])[..., 0])
    return (x @ w[..., None])[..., 0]


def _hopfield_mix_untransposed(patterns, query, beta):
    x = np.asarray(patterns, dtype=float)
    w = softmax(beta * _similarities(x, query))
    return (x @ w[..., None])[..., 0]


_COLUMNS_HINT = (
    "you used the patterns as columns, as in Ramsauer et al.'s notation where X is (d, N); here each "
    "*row* of patterns (N, d) is one pattern. The similarities are patterns @ query, shape (..., N), and "
    "the update is patterns^T @ weights = weights @ patterns, shape (..., d). (With N != d your code "
    "raises a shape error)"
)

hopfield_update = ProbedCheck(
    name="hopfield_update",
    notebook="10",
    summary="one modern Hopfield update X^T softmax(beta X xi): patterns (..., N, d), query (..., d) -> (..., d)",
    reference=hopfield_ref.hopfield_update,
    cases=_hopfield_cases,
    mistakes=[
        Mistake(
            "your weights sum to 1 over the queries (or the batch) instead of over the patterns: take "
            "the softmax of the similarities (..., N) over the last axis, one distribution over the N "
            "patterns per query",
            _hopfield_wrong_axis,
        ),
        Mistake(
            "beta is ignored: multiply the similarities X xi by beta before the softmax, softmax(beta * X xi)",
            _hopfield_with(lambda s, x, beta: softmax(s)),
        ),
        Mistake(
            "you scaled by attention's 1/sqrt(d) instead of beta: the update takes beta as given, "
            "softmax(beta * X xi); 1/sqrt(d) is only the value of beta that makes it a Transformer's attention",
            _hopfield_with(lambda s, x, beta: softmax(s / np.sqrt(x.shape[-1]))),
        ),
        Mistake(
            "you divided the similarities by beta: beta is an *inverse* temperature, so multiply by it, "
            "softmax(beta * X xi); a large beta sharpens the weights",
            _hopfield_with(lambda s, x, beta: softmax(s / beta)),
        ),
        Mistake(
            "you applied beta after the softmax: it belongs inside, softmax(beta * X xi), where it sets how "
            "sharp the weights are; outside it only rescales the result",
            _hopfield_beta_after,
        ),
        Mistake(
            "you returned the weights softmax(beta X xi), shape (..., N): the update is the mix of the "
            "patterns they weight, X^T weights, shape (..., d)",
            _hopfield_returns_weights,
        ),
        Mistake(
            "you divided by sqrt(d) as well as multiplying by beta: in the Hopfield update beta *is* the "
            "scale (beta = 1/sqrt(d) gives attention's); use softmax(beta * X xi) only",
            _hopfield_with(lambda s, x, beta: softmax(beta * s / math.sqrt(x.shape[-1]))),
        ),
        Mistake(
            "np.exp overflows for a large beta and gives NaN: subtract the maximum of beta * X xi along the "
            "last axis before np.exp (or use attnlib.softmax)",
            _hopfield_unstable,
        ),
        Mistake(
            "you took the sign of the result: that is the classical network's update. The modern update "
            "returns the mix of the patterns itself, X^T softmax(beta X xi), not its sign",
            _hopfield_sign,
        ),
        Mistake(_COLUMNS_HINT, _hopfield_paper_columns),
        Mistake(
            "you mixed with patterns @ weights, which treats the columns of patterns as patterns: the update "
            "is patterns^T @ weights = weights @ patterns, shape (..., d). (With N != d your code raises a "
            "shape error)",
            _hopfield_mix_untransposed,
        ),
    ],
    probes=_hopfield_probes,
    success="the mix of the patterns, right for stacks of queries, batches of pattern sets and any beta",
)
# the two mistakes that raise unless N == d are recognised on the square probes first
hopfield_update.probe_mistakes = hopfield_update.mistakes[-2:]
