"""Checks for notebook 09 (the cheat sheet): predict the shapes that attnlib returns.

The answers are shapes, computed by running attnlib on arrays of the question's sizes. A
``ShapePrediction`` is a ``Prediction`` whose known wrong answers may have another number of axes
than the right one (forgetting the heads axis gives three numbers instead of four), so it
recognises those too instead of only saying "give 4 numbers".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..reference.gqa import grouped_query_attention
from ..reference.heads import multi_head_attention
from .harness import Case, Failed, NotAttempted, call_learner
from .predictions import Prediction
from .result import FAILED, CheckResult


def _as_shape(answer: object) -> np.ndarray | None:
    """Return the answer as a 1-D float array when it is a clean list of finite numbers, else None."""
    if isinstance(answer, (str, bytes)) or answer is None:
        return None
    if isinstance(answer, (list, tuple)) and any(isinstance(a, (str, bytes)) for a in answer):
        return None
    try:
        got = np.atleast_1d(np.asarray(answer, dtype=float))
    except (TypeError, ValueError):
        return None
    return got if got.ndim == 1 and np.all(np.isfinite(got)) else None


@dataclass
class ShapePrediction(Prediction):
    """A predicted shape (one number per axis), checked like a Prediction.

    Known wrong shapes may have a different number of axes than the expected one; each is
    recognised with its hint. Any other wrong shape is told which axis is off.
    """

    def __repr__(self) -> str:
        return f"<shape prediction {self.name} (notebook {self.notebook}): {self.summary}>"

    def run(self, candidate: Callable[[], object]) -> CheckResult:
        """Return the CheckResult of the learner's answer function ``candidate()`` without showing it."""
        if not callable(candidate):
            return super().run(candidate)
        try:
            answer = call_learner(candidate, Case("your answer", {}))
        except (NotAttempted, Failed):
            return super().run(candidate)  # reports the stub or the exception
        got = _as_shape(answer)
        if got is not None:
            expected = np.atleast_1d(np.asarray(self.expected(), dtype=float))
            wrongs = [(np.atleast_1d(np.asarray(w(), dtype=float)), hint) for w, hint in self.wrong]
            if got.shape == expected.shape and np.all(np.abs(got - expected) <= self.tolerance):
                return super().run(lambda: answer)  # right: the usual message
            for wrong, hint in wrongs:
                if wrong.shape == got.shape and np.all(np.abs(got - wrong) <= self.tolerance):
                    return CheckResult(self.name, FAILED, hint)
            if got.shape != expected.shape:
                return CheckResult(
                    self.name, FAILED,
                    f"give {expected.size} number(s), you gave {got.size}: a shape has one number per axis, "
                    f"and this array has {expected.size} axes",
                )
            axis = int(np.argmax(np.abs(got - expected) > self.tolerance))
            return CheckResult(
                self.name, FAILED,
                f"not quite: axis {axis} of your shape ({got[axis]:g}) is off by more than {self.tolerance}. "
                "Go through the axes one by one and ask which input each one comes from",
            )
        return super().run(lambda: answer)


# ------------------------------------------------------------------ exercise 1: cross-attention weights

#: the question: a decoder batch attends to an encoder batch with multi_head_attention
CROSS = {"b": 3, "n_q": 5, "n_k": 9, "d_model": 48, "h": 6}


def cross_weights_shape() -> tuple[int, ...]:
    """Return the shape of the weights multi_head_attention returns for the CROSS sizes (run, not typed)."""
    b, n_q, n_k, d, h = (CROSS[k] for k in ("b", "n_q", "n_k", "d_model", "h"))
    eye = np.eye(d)
    _, weights = multi_head_attention(np.zeros((b, n_q, d)), np.zeros((b, n_k, d)), eye, eye, eye, eye, h)
    return weights.shape


def _cross(*order: int) -> Callable[[], list[int]]:
    """Return a function giving the right shape with its axes picked (and reordered) by ``order``."""
    return lambda: [cross_weights_shape()[i] for i in order]


def _cross_replaced(axis: int, value: Callable[[], int]) -> Callable[[], list[int]]:
    """Return a function giving the right shape with one axis replaced by another size."""
    def wrong() -> list[int]:
        shape = list(cross_weights_shape())
        shape[axis] = value()
        return shape
    return wrong


cross_attention_shape = ShapePrediction(
    name="cross_attention_shape",
    notebook="09",
    summary=(
        f"predict the shape of the weights of multi-head cross-attention: x_q ({CROSS['b']}, {CROSS['n_q']}, {CROSS['d_model']}), "
        f"x_kv ({CROSS['b']}, {CROSS['n_k']}, {CROSS['d_model']}), {CROSS['h']} heads"
    ),
    expected=cross_weights_shape,
    tolerance=0.5,
    explain="(b, h, n_q, n_k): one weight matrix per example and per head, one row per query (decoder token), one column per key (encoder token)",
    wrong=[
        (_cross(0, 2, 3),
         "you left out the heads axis: multi_head_attention returns one weight matrix per head, (b, h, n_q, n_k). "
         "(nn.MultiheadAttention is the one that averages the heads by default.)"),
        (_cross(1, 2, 3), "you left out the batch axis: every example of the batch has its own weights, so b comes first"),
        (_cross(0, 1, 3, 2),
         "n_q and n_k are swapped: rows are queries and columns are keys, (..., n_q, n_k). "
         f"The {CROSS['n_q']} decoder tokens ask, the {CROSS['n_k']} encoder tokens answer"),
        (_cross(0, 2, 1, 3), "the heads axis is in the wrong place: split_heads moves the heads before the tokens, (b, h, n_q, n_k)"),
        (_cross(1, 0, 2, 3), "the batch axis stays first; the heads come right after it: (b, h, n_q, n_k)"),
        (_cross_replaced(3, lambda: CROSS["n_q"]),
         f"that is self-attention's shape: in cross-attention the keys come from x_kv (the encoder, {CROSS['n_k']} tokens), "
         "so the weights are n_q x n_k"),
        (_cross_replaced(3, lambda: CROSS["d_model"] // CROSS["h"]),
         f"{CROSS['d_model'] // CROSS['h']} is d_head = d_model / h: the weights have one column per key, not one per feature"),
        (_cross_replaced(3, lambda: CROSS["d_model"]),
         f"{CROSS['d_model']} is d_model, the width of the output: the weights have one column per key (n_k)"),
    ],
)


# ------------------------------------------------------------------ exercise 2: grouped-query output

#: the question: grouped-query attention with 12 query heads sharing 4 key/value heads
GQA = {"b": 2, "h_q": 12, "h_kv": 4, "n": 10, "d": 16}


def gqa_out_shape() -> tuple[int, ...]:
    """Return the shape of the output grouped_query_attention returns for the GQA sizes (run, not typed)."""
    b, h_q, h_kv, n, d = (GQA[k] for k in ("b", "h_q", "h_kv", "n", "d"))
    out, _ = grouped_query_attention(np.zeros((b, h_q, n, d)), np.zeros((b, h_kv, n, d)), np.zeros((b, h_kv, n, d)))
    return out.shape


def _gqa_replaced(axis: int, value: Callable[[], int]) -> Callable[[], list[int]]:
    def wrong() -> list[int]:
        shape = list(gqa_out_shape())
        shape[axis] = value()
        return shape
    return wrong


gqa_output_shape = ShapePrediction(
    name="gqa_output_shape",
    notebook="09",
    summary=(
        f"predict the shape of grouped_query_attention's output: q ({GQA['b']}, {GQA['h_q']}, {GQA['n']}, {GQA['d']}), "
        f"k and v ({GQA['b']}, {GQA['h_kv']}, {GQA['n']}, {GQA['d']})"
    ),
    expected=gqa_out_shape,
    tolerance=0.5,
    explain=(
        "(b, h_q, n, d): every query head still gets its own output; the key/value heads are only shared, "
        f"each by {GQA['h_q'] // GQA['h_kv']} query heads"
    ),
    wrong=[
        (_gqa_replaced(1, lambda: GQA["h_kv"]),
         f"the output has one head per *query* head (h_q = {GQA['h_q']}): the {GQA['h_kv']} key/value heads are shared, "
         f"each serving {GQA['h_q'] // GQA['h_kv']} query heads, so nothing is lost"),
        (_gqa_replaced(1, lambda: GQA["h_q"] // GQA["h_kv"]),
         f"{GQA['h_q'] // GQA['h_kv']} is the group size h_q / h_kv (query heads per key/value head), not a number of heads"),
        (_gqa_replaced(3, lambda: GQA["n"]),
         "that is the shape of the weights (..., n_q, n_k); the output is a weighted sum of values, so it ends in d"),
        (lambda: [gqa_out_shape()[i] for i in (0, 2, 3)],
         "the heads axis is still there: grouped_query_attention returns every query head's output separately, (b, h_q, n, d)"),
        (lambda: [GQA["b"], GQA["n"], GQA["h_q"] * GQA["d"]],
         "that is the shape after merge_heads: grouped_query_attention itself returns the heads separately, (b, h_q, n, d)"),
    ],
)
