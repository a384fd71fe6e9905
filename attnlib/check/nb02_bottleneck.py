"""Checks for notebook 02 (the bottleneck that attention removed): one decoder step's context vector."""
from __future__ import annotations

import numpy as np

from ..reference import context_vector as ref
from ..reference.attention import softmax
from .harness import Case, Check, Mistake


def _states_and_scores(rng: np.random.Generator, batch: tuple, n: int, d: int, scale: float = 1.0) -> dict:
    return {"encoder_states": rng.normal(size=batch + (n, d)), "scores": rng.normal(size=batch + (n,)) * scale}


def _context_cases() -> list[Case]:
    rng = np.random.default_rng(202)
    large = _states_and_scores(rng, (2,), 4, 3)
    large["scores"] = np.array([[1000.0, 998.0, 999.0, 990.0], [-5.0, 700.0, 690.0, 0.0]])
    float32 = {k: v.astype(np.float32) for k, v in _states_and_scores(rng, (3,), 6, 4).items()}
    return [
        Case("a batch of 2 decoder steps", _states_and_scores(rng, (2,), 5, 3)),
        Case("one decoder step", _states_and_scores(rng, (), 4, 3)),
        Case("a batch of 2 x 2 steps", _states_and_scores(rng, (2, 2), 5, 3)),
        Case("sharp scores", _states_and_scores(rng, (3,), 6, 2, scale=8.0)),
        Case("large scores", large, hint="np.exp(1000) overflows to inf: subtract each row's maximum score before np.exp."),
        Case("float32 inputs", float32),
    ]


def _with(weights_fn, context_fn):
    """Return a context_vector that computes its weights and its context the given (wrong) ways."""

    def context_vector(encoder_states, scores):
        H, s = np.asarray(encoder_states, dtype=float), np.asarray(scores, dtype=float)
        weights = weights_fn(s)
        return context_fn(weights, H), weights

    return context_vector


def _right_weights(s):
    return softmax(s, axis=-1)


def _weighted_sum(w, H):
    return (w[..., :, None] * H).sum(axis=-2)


def _softmax_over_batch(s):
    return softmax(s, axis=0)


def _naive_softmax(s):
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def _swapped(encoder_states, scores):
    context, weights = ref.context_vector(encoder_states, scores)
    return weights, context


context_vector = Check(
    name="context_vector",
    notebook="02",
    summary="one decoder step of attention: softmax the scores, then the weighted sum of the encoder states",
    reference=ref.context_vector,
    cases=_context_cases,
    output="pair",
    mistakes=[
        Mistake(
            "your weights sum to 1 over the batch (axis 0), not over the n encoder states: take the "
            "softmax over the last axis of the scores (axis=-1)",
            _with(_softmax_over_batch, _weighted_sum),
        ),
        Mistake(
            "you used the raw scores as weights: scores can be negative and do not sum to 1. Turn them "
            "into weights with the softmax first",
            _with(lambda s: s, _weighted_sum),
        ),
        Mistake(
            "your context is the plain sum of the encoder states: multiply each state by its weight "
            "before adding them up",
            _with(_right_weights, lambda w, H: H.sum(axis=-2)),
        ),
        Mistake(
            "your context is the average of the encoder states, as if every weight were 1/n: the point "
            "of attention is to weight each state by its softmax weight instead",
            _with(_right_weights, lambda w, H: H.mean(axis=-2)),
        ),
        Mistake(
            "your context is the last encoder state: that is the fixed-vector model's context! Attention "
            "mixes *all* the states, each multiplied by its weight",
            _with(_right_weights, lambda w, H: H[..., -1, :]),
        ),
        Mistake(
            "your context has an extra axis: you multiplied each state by its weight but did not add them "
            "up. Sum over the positions, axis=-2",
            _with(_right_weights, lambda w, H: w[..., :, None] * H),
        ),
        Mistake(
            "you summed over the features (the last axis) instead of over the positions: sum over axis=-2, "
            "so that the context keeps the d features of a state",
            _with(_right_weights, lambda w, H: (w[..., :, None] * H).sum(axis=-1)),
        ),
        Mistake(
            "with a batch, `weights @ encoder_states` pairs every row of weights with every sequence's "
            "states, so your context has extra axes: weight and add per sequence instead, e.g. "
            "(weights[..., :, None] * encoder_states).sum(axis=-2)",
            _with(_right_weights, lambda w, H: w @ H),
        ),
        Mistake(
            "np.exp overflows on large scores and gives NaN: subtract each row's maximum score "
            "(keepdims=True) before np.exp, or use your softmax from notebook 01",
            _with(_naive_softmax, _weighted_sum),
        ),
        Mistake(
            "you returned (weights, context): return them in the order (out, weights) that every "
            "attention function of the course uses, here (context, weights)",
            _swapped,
        ),
    ],
    success="weights and context match on single steps, batches, sharp and large scores, float32",
)
