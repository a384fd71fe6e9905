"""Checks for notebook 04 (why divide by sqrt(d_k)): two predictions and the scaled scores of heads."""
from __future__ import annotations

import math

import numpy as np

from ..reference import scaling
from ..reference.heads import split_heads
from .harness import Case, Check, Mistake
from .predictions import Prediction

# ------------------------------------------------------------------ prediction: Var(q · k)

#: the d_k of the question: the head width of the base Transformer (Vaswani et al. 2017, 3.2.2)
VARIANCE_D_K = 64

qk_variance = Prediction(
    name="qk_variance",
    notebook="04",
    summary=f"predict the variance of q · k for random unit-variance vectors with d_k = {VARIANCE_D_K}",
    expected=lambda: float(VARIANCE_D_K),  # Var(q · k) = d_k: a sum of d_k independent terms of variance 1
    tolerance=0.5,
    explain=(
        f"q · k is a sum of {VARIANCE_D_K} independent products q_i k_i, each of mean 0 and variance 1, "
        "and the variances of independent terms add up"
    ),
    wrong=[
        (lambda: math.sqrt(VARIANCE_D_K), "that is the standard deviation, sqrt(d_k): the variance is its square"),
        (lambda: 1.0, "that is the variance *after* dividing by sqrt(d_k): the question asks about the raw q · k"),
        (lambda: float(VARIANCE_D_K) ** 2, "too big: the variances of independent terms add up, so d_k terms of variance 1 give d_k, not d_k squared"),
        (lambda: 0.0, "that is the mean of q · k (each product has mean 0); the variance measures the spread around it"),
    ],
)

# ------------------------------------------------------------------ prediction: the model-width mistake

#: the layer of the question: the base Transformer's width and number of heads
MISTAKE_D_MODEL, MISTAKE_HEADS = 512, 8


def _wrong_scale_std() -> float:
    """Return the std of one head's scores divided by sqrt(d_model) instead of sqrt(d_head)."""
    d_head = MISTAKE_D_MODEL // MISTAKE_HEADS
    return math.sqrt(d_head) / math.sqrt(MISTAKE_D_MODEL)  # std of q_h · k_h is sqrt(d_head)


wrong_scale_std = Prediction(
    name="wrong_scale_std",
    notebook="04",
    summary=(
        f"predict the std of the scores of a {MISTAKE_HEADS}-head layer of width {MISTAKE_D_MODEL} "
        "that divides by sqrt(d_model) instead of sqrt(d_head)"
    ),
    expected=_wrong_scale_std,
    tolerance=0.011,
    explain=(
        "each head's q · k has std sqrt(d_head); dividing by sqrt(d_model) = sqrt(n_heads * d_head) "
        "leaves 1/sqrt(n_heads): the scores are too small by that factor"
    ),
    wrong=[
        (lambda: 1.0, "that is the std with the right scale, sqrt(d_head): this layer divides by sqrt(d_model), which is larger"),
        (lambda: _wrong_scale_std() ** 2, "that is the variance, 1/n_heads; the standard deviation is its square root"),
        (lambda: 1 / _wrong_scale_std(), "upside down: dividing by the larger sqrt(d_model) makes the scores smaller than 1, not larger"),
        (lambda: math.sqrt(MISTAKE_D_MODEL // MISTAKE_HEADS), "that is the std of the raw scores q · k of one head, before any scaling"),
    ],
)

# ------------------------------------------------------------------ function: scaled_head_scores


def _head_cases() -> list[Case]:
    rng = np.random.default_rng(104)
    return [
        Case("one sequence, 2 heads", {"q": rng.normal(size=(3, 8)), "k": rng.normal(size=(5, 8)), "n_heads": 2}),
        Case("a batch, 4 heads", {"q": rng.normal(size=(2, 4, 12)), "k": rng.normal(size=(2, 6, 12)), "n_heads": 4}),
        Case(
            "one head",
            {"q": rng.normal(size=(4, 6)), "k": rng.normal(size=(3, 6)), "n_heads": 1},
            hint="with one head, d_head = d_model: divide by sqrt(d_head).",
        ),
        Case(
            "8 heads of width 2",
            {"q": rng.normal(size=(3, 16)), "k": rng.normal(size=(7, 16)), "n_heads": 8},
            hint="each head's scores are divided by sqrt(d_head), here sqrt(2).",
        ),
        Case("float32 input, 3 heads", {"q": rng.normal(size=(5, 9)).astype(np.float32), "k": rng.normal(size=(4, 9)).astype(np.float32), "n_heads": 3}),
    ]


def _heads_scaled_by(scale):
    """Return scaled_head_scores with the head scores divided by ``scale(d_model, n_heads)``."""

    def scores(q, k, n_heads):
        q_h, k_h = split_heads(q, n_heads), split_heads(k, n_heads)
        return q_h @ np.swapaxes(k_h, -1, -2) / scale(np.shape(q)[-1], n_heads)

    return scores


def _heads_scaled_by_tokens(q, k, n_heads):
    q_h, k_h = split_heads(q, n_heads), split_heads(k, n_heads)
    return q_h @ np.swapaxes(k_h, -1, -2) / math.sqrt(q_h.shape[-2])


def _heads_no_transpose(q, k, n_heads):
    *lead_q, n_q, d = np.shape(q)
    *lead_k, n_k, _ = np.shape(k)
    q_h = np.reshape(q, (*lead_q, n_heads, n_q, d // n_heads))
    k_h = np.reshape(k, (*lead_k, n_heads, n_k, d // n_heads))
    return q_h @ np.swapaxes(k_h, -1, -2) / math.sqrt(d // n_heads)


scaled_head_scores = Check(
    name="scaled_head_scores",
    notebook="04",
    summary="every head's scores q_h k_h^T / sqrt(d_head): (..., n_q, d_model) -> (..., n_heads, n_q, n_k)",
    reference=scaling.scaled_head_scores,
    cases=_head_cases,
    mistakes=[
        Mistake(
            "you divided by sqrt(d_model), the model width, instead of sqrt(d_head), the width of each "
            "head's queries and keys: with n_heads heads your scores are sqrt(n_heads) times too small "
            "(a one-head test would not notice). Take d_head from the split queries, q_h.shape[-1]",
            _heads_scaled_by(lambda d_model, h: math.sqrt(d_model)),
        ),
        Mistake("the scores are not scaled: divide each head's q_h k_h^T by sqrt(d_head)", _heads_scaled_by(lambda d_model, h: 1.0)),
        Mistake(
            "you divided by d_head; the scale is 1/sqrt(d_head), which brings the variance d_head back "
            "to 1 (dividing by d_head leaves 1/d_head)",
            _heads_scaled_by(lambda d_model, h: d_model // h),
        ),
        Mistake("you multiplied by sqrt(d_head): divide by it", _heads_scaled_by(lambda d_model, h: 1 / math.sqrt(d_model // h))),
        Mistake(
            "you divided by sqrt(n_heads), the number of heads; the scale is 1/sqrt(d_head), the width "
            "of each head's queries and keys (d_model // n_heads)",
            _heads_scaled_by(lambda d_model, h: math.sqrt(h)),
        ),
        Mistake(
            "you took d_head from the wrong axis: after split_heads the queries are (..., n_heads, n_q, "
            "d_head), so d_head is q_h.shape[-1], not the number of tokens q_h.shape[-2]",
            _heads_scaled_by_tokens,
        ),
        Mistake(
            "you reshaped straight to (..., n_heads, n, d_head), which mixes the features of different "
            "tokens in each head: use split_heads (reshape to (..., n, n_heads, d_head), then swap axes -3 and -2)",
            _heads_no_transpose,
        ),
    ],
    success="right scale, sqrt(d_head), for 1, 2, 3, 4 and 8 heads",
)
