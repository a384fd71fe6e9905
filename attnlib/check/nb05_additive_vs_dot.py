"""Checks for notebook 05 (additive vs dot-product attention): additive attention and its cost."""
from __future__ import annotations

import numpy as np

from ..reference import additive, attention, scoring
from .harness import Case, Check, Mistake
from .nb01_queries_keys_values import SDPA_BLOCKED_ROW
from .predictions import Prediction



def _additive_cases() -> list[Case]:
    rng = np.random.default_rng(105)

    def inputs(batch, n_q, n_k, d_q, d_k, d_h, d_v):
        return {
            "q": rng.normal(size=batch + (n_q, d_q)),
            "k": rng.normal(size=batch + (n_k, d_k)),
            "v": rng.normal(size=batch + (n_k, d_v)),
            "W_q": rng.normal(size=(d_q, d_h)),
            "W_k": rng.normal(size=(d_k, d_h)),
            "w": rng.normal(size=(d_h,)),
        }

    return [
        Case("a small example", inputs((), 3, 4, 5, 5, 6, 2)),
        Case("queries and keys of different widths", inputs((), 2, 5, 3, 4, 7, 3)),
        Case("a batch", inputs((2,), 3, 4, 4, 4, 5, 2)),
        Case("a mask", inputs((), 3, 4, 4, 4, 5, 2), {"mask": np.array([[True, True, False, False], [True, False, True, True], [False, True, True, True]])},
             hint="set blocked scores (mask False) to -inf before the softmax."),
        Case("a mask whose second row allows no key", inputs((2,), 3, 4, 4, 4, 5, 2),
             {"mask": np.array([[True, False, True, False], [False, False, False, False], [True, True, True, False]])},
             hint="a row with no allowed key must give zero weights and a zero output, as in notebook 01 "
             "(attnlib.reference.attention.masked_softmax does this)."),
    ]


def _additive_variant(hidden, score=None, weight=None):
    """Return an additive attention in which one step is done wrongly."""

    def attn(q, k, v, W_q, W_k, w, mask=None):
        pre = (q @ W_q)[..., :, None, :] + (k @ W_k)[..., None, :, :]
        s = score(pre, w) if score else hidden(pre) @ w
        wts = weight(s, mask) if weight else attention.masked_softmax(s, mask)
        return wts @ v, wts

    return attn


def _additive_multiplied(scaled):
    """Return attention on the dot products of the projected queries and keys, (q W_q) . (k W_k) (/ sqrt(d_h))."""

    def attn(q, k, v, W_q, W_k, w, mask=None):
        s = (q @ W_q) @ np.swapaxes(k @ W_k, -1, -2)
        wts = attention.masked_softmax(s / np.sqrt(w.shape[-1]) if scaled else s, mask)
        return wts @ v, wts

    return attn


additive_attention = Check(
    name="additive_attention",
    notebook="05",
    summary="Bahdanau's score w · tanh(q_i W_q + k_j W_k), softmax, mix the values",
    reference=additive.additive_attention,
    cases=_additive_cases,
    output="pair",
    mistakes=[
        Mistake(
            "the tanh is missing: without it the score w·(q W_q) + w·(k W_k) splits into a query part "
            "and a key part, so every query ranks the keys the same way (and, after the softmax, gets the "
            "same weights). Apply np.tanh to the (..., n_q, n_k, d_h) sum before the product with w",
            _additive_variant(lambda pre: pre),
        ),
        Mistake(
            "you applied the tanh after the product with w, tanh(w · (q W_q + k W_k)): apply it first, to "
            "each of the d_h hidden units, then take the product with w: w · tanh(q W_q + k W_k)",
            _additive_variant(None, score=lambda pre, w: np.tanh(pre @ w)),
        ),
        Mistake(
            "you summed the hidden units: weight them with w instead, tanh(...) @ w (w is the scorer's output layer)",
            _additive_variant(None, score=lambda pre, w: np.tanh(pre).sum(axis=-1)),
        ),
        Mistake(
            "you multiplied the projected query and key, (q W_q) · (k W_k): that is a dot-product score. "
            "Additive attention adds them, one hidden vector per (query, key) pair, (..., n_q, n_k, d_h), "
            "then scores it with w: w · tanh(q W_q + k W_k)",
            _additive_multiplied(scaled=False),
        ),
        Mistake(
            "you ran scaled dot-product attention on the projected queries and keys, (q W_q) · (k W_k) / sqrt(d_h). "
            "Additive attention adds them instead, one hidden vector per (query, key) pair, (..., n_q, n_k, d_h), "
            "then scores it with w, and has no scale: w · tanh(q W_q + k W_k)",
            _additive_multiplied(scaled=True),
        ),
        Mistake("additive attention has no 1/sqrt(d) scale: use the raw score w · tanh(...)", _additive_variant(np.tanh, score=lambda pre, w: np.tanh(pre) @ w / np.sqrt(w.shape[0]))),
        Mistake(
            "your weights sum to 1 over the queries: take the softmax over the last axis, the keys",
            _additive_variant(np.tanh, weight=lambda s, m: attention.softmax(np.where(m, s, -np.inf) if m is not None else s, axis=-2)),
        ),
        Mistake("your mask is inverted: True means may attend", _additive_variant(np.tanh, weight=lambda s, m: attention.masked_softmax(s, ~m if m is not None else None))),
        Mistake("the mask is ignored: set blocked scores to -inf before the softmax", _additive_variant(np.tanh, weight=lambda s, m: attention.softmax(s))),
        Mistake(
            "a query row whose mask allows no key gave NaN: give it zero weights and a zero output, "
            "as in notebook 01 (attnlib.reference.attention.masked_softmax does this)",
            _additive_variant(np.tanh, weight=SDPA_BLOCKED_ROW["nan"]),
        ),
        Mistake(
            "a query row whose mask allows no key got uniform weights: a large negative number instead "
            "of -inf still leaves a softmax of equal values. Such a row must get zero weights",
            _additive_variant(np.tanh, weight=SDPA_BLOCKED_ROW["uniform"]),
        ),
    ],
)

# the prediction: n = 4096 queries and keys of width d = 64, a hidden layer of d_h = 64 units
FLOPS_N, FLOPS_D, FLOPS_D_H = 4096, 64, 64


def _flops_ratio(per_hidden_unit: float, per_feature: float) -> float:
    """Return a pair-by-pair FLOPs ratio: (per_hidden_unit * d_h) / (per_feature * d), projections left out."""
    return per_hidden_unit * FLOPS_D_H / (per_feature * FLOPS_D)


additive_flops_ratio = Prediction(
    name="additive_flops_ratio",
    notebook="05",
    summary=f"predict the FLOPs of the additive score over those of the dot product (n = {FLOPS_N}, d = d_h = {FLOPS_D})",
    expected=lambda: scoring.score_flops("additive", FLOPS_N, FLOPS_N, FLOPS_D, FLOPS_D, FLOPS_D_H)
    / scoring.score_flops("dot", FLOPS_N, FLOPS_N, FLOPS_D, FLOPS_D),
    tolerance=0.06,
    explain=(
        "per (query, key) pair the dot product does d multiply-adds (2d FLOPs); the additive score does, "
        "for each of its d_h hidden units, an addition, a tanh and a multiply-add with w (4 d_h FLOPs). "
        "The projections q W_q and k W_k cost only 2 n d d_h each, not n^2: about 2x in all, the same order"
    ),
    wrong=[
        (lambda: _flops_ratio(1, 1), "the additive score does more per pair than one dot product: for each of its d_h hidden units an addition, a tanh and a multiply-add with w. Count them against the dot product's d multiply-adds"),
        (lambda: _flops_ratio(3, 2), "you left out one of the per-pair steps of the additive score: an addition (1 FLOP), a tanh (1) and a multiply-add with w (2) for each hidden unit"),
        (lambda: _flops_ratio(4, 1), "count a multiply-add as 2 FLOPs on both sides: the dot product costs 2d FLOPs per pair, not d"),
        (lambda: float(FLOPS_D_H), "the additive score is not d_h times the dot product: each pair costs about 4 d_h FLOPs against 2 d for the dot product, and here d_h = d"),
    ],
)
