"""Score functions side by side, with their costs: dot product, scaled dot product, Luong's
"general" (bilinear) score and Bahdanau's additive score (notebook 05).

A score function compares every query with every key and returns one number per pair, the
matrix of scores ``(..., n_q, n_k)`` that a softmax turns into attention weights:

- ``"dot"``:        q_i . k_j                                 (Luong et al. 2015, "dot")
- ``"scaled_dot"``: q_i . k_j / sqrt(d_k)                     (Vaswani et al. 2017)
- ``"general"``:    q_i W k_j, W: (d_q, d_k)                   (Luong et al. 2015, "general")
- ``"additive"``:   w . tanh(q_i W_q + k_j W_k)                (Bahdanau et al. 2015; Luong's "concat")

``score_flops``, ``score_params`` and ``score_intermediate_size`` count, for each kind, the
floating-point operations of the scores, the parameters of the score function itself, and
the entries of the largest array it builds. Every function raises ValueError on bad input.
"""
from __future__ import annotations

import math

import numpy as np

from .validate import broadcast_batch, float_array, positive_int
from .additive import additive_scores

#: the score functions of this module, in order from the cheapest to the most flexible
SCORE_KINDS = ("dot", "scaled_dot", "general", "additive")

__all__ = [
    "SCORE_KINDS",
    "additive_scores",
    "dot_scores",
    "general_scores",
    "row_spread",
    "scaled_dot_scores",
    "score_flops",
    "score_intermediate_size",
    "score_params",
]


def _queries_keys(q: object, k: object, same_width: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return q (..., n_q, d_q) and k (..., n_k, d_k) as float arrays, or raise ValueError."""
    q = float_array("q", q, 2)
    k = float_array("k", k, 2)
    if same_width and q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"a dot product needs queries and keys of the same width: q {q.shape} has d={q.shape[-1]}, "
            f"k {k.shape} has d={k.shape[-1]} (the general and additive scores allow different widths)"
        )
    broadcast_batch({"q": q.shape, "k": k.shape})
    return q, k


def dot_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Return the dot-product scores q_i . k_j: (..., n_q, n_k).

    q: (..., n_q, d); k: (..., n_k, d); one matrix product, q @ k^T.
    """
    q, k = _queries_keys(q, k, same_width=True)
    return q @ np.swapaxes(k, -1, -2)


def scaled_dot_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Return the scaled dot-product scores q_i . k_j / sqrt(d): (..., n_q, n_k).

    q: (..., n_q, d); k: (..., n_k, d). The scores of ``scaled_dot_product_attention``.
    """
    q, k = _queries_keys(q, k, same_width=True)
    return q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])  # a Python float keeps float32 float32


def general_scores(q: np.ndarray, k: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Return Luong's "general" (bilinear) scores q_i W k_j: (..., n_q, n_k).

    q: (..., n_q, d_q); k: (..., n_k, d_k); W: (d_q, d_k). With W the identity it is the dot
    product; with W = W_Q W_K^T it is the dot product of the projected queries q W_Q and keys
    k W_K, as in a transformer. Computed as (q W) k^T.
    """
    q, k = _queries_keys(q, k, same_width=False)
    W = float_array("W", W, 2)
    if W.ndim != 2 or W.shape != (q.shape[-1], k.shape[-1]):
        raise ValueError(
            f"W must be a (d_q, d_k) = ({q.shape[-1]}, {k.shape[-1]}) matrix for q {q.shape} and k {k.shape}, "
            f"got W {W.shape}"
        )
    return (q @ W) @ np.swapaxes(k, -1, -2)


def _kind(kind: object) -> str:
    """Return ``kind`` if it names a score function of SCORE_KINDS, else raise ValueError."""
    if kind not in SCORE_KINDS:
        raise ValueError(f"kind must be one of {SCORE_KINDS}, got {kind!r}")
    return str(kind)


def _sizes(kind: str, d_q: object, d_k: object, d_h: object) -> tuple[int, int, int]:
    """Return (d_q, d_k, d_h) as positive ints (d_h = 0 unless kind is additive), or raise ValueError."""
    d_q = positive_int("d_q", d_q)
    d_k = positive_int("d_k", d_k)
    if kind in ("dot", "scaled_dot") and d_q != d_k:
        raise ValueError(f"a {kind} score needs d_q == d_k, got d_q={d_q}, d_k={d_k}")
    if kind == "additive":
        if d_h is None:
            raise ValueError("the additive score needs its hidden size d_h")
        return d_q, d_k, positive_int("d_h", d_h)
    return d_q, d_k, 0


def score_flops(kind: str, n_q: int, n_k: int, d_q: int, d_k: int, d_h: int | None = None) -> int:
    """Return the FLOPs of one (n_q, n_k) matrix of scores of the given kind.

    A multiply-add counts 2 FLOPs (the convention of matrix-product counts: (a x b) @ (b x c)
    costs 2abc); an addition, a division or a tanh counts 1 (a real tanh costs more).
    - dot:        q @ k^T                                      2 n_q n_k d
    - scaled_dot: the same, then one division per score         2 n_q n_k d + n_q n_k
    - general:    (q @ W) @ k^T                                2 n_q d_q d_k + 2 n_q n_k d_k
    - additive:   q @ W_q and k @ W_k                          2 n_q d_q d_h + 2 n_k d_k d_h
                  then, for each of the n_q n_k pairs and d_h hidden units: an addition, a tanh
                  and a multiply-add with w                    + 4 n_q n_k d_h
    d_h is the additive scorer's hidden size; the other kinds ignore it. The softmax and the
    product with the values are the same for every kind and are not counted.
    """
    kind = _kind(kind)
    n_q = positive_int("n_q", n_q)
    n_k = positive_int("n_k", n_k)
    d_q, d_k, d_h = _sizes(kind, d_q, d_k, d_h)
    if kind == "dot":
        return 2 * n_q * n_k * d_k
    if kind == "scaled_dot":
        return 2 * n_q * n_k * d_k + n_q * n_k
    if kind == "general":
        return 2 * n_q * d_q * d_k + 2 * n_q * n_k * d_k
    return 2 * n_q * d_q * d_h + 2 * n_k * d_k * d_h + 4 * n_q * n_k * d_h


def score_params(kind: str, d_q: int, d_k: int, d_h: int | None = None) -> int:
    """Return the number of learned parameters of the score function itself.

    dot and scaled_dot: 0 (in a transformer the parameters sit in the projections that make q
    and k, outside the score); general: the d_q x d_k entries of W; additive: W_q (d_q x d_h),
    W_k (d_k x d_h) and w (d_h): (d_q + d_k) d_h + d_h.
    """
    kind = _kind(kind)
    d_q, d_k, d_h = _sizes(kind, d_q, d_k, d_h)
    return {"dot": 0, "scaled_dot": 0, "general": d_q * d_k, "additive": (d_q + d_k) * d_h + d_h}[kind]


def score_intermediate_size(kind: str, n_q: int, n_k: int, d_q: int, d_k: int, d_h: int | None = None) -> int:
    """Return the number of entries of the largest array computing the scores builds.

    dot, scaled_dot: the (n_q, n_k) scores; general: the larger of q W (n_q, d_k) and the
    scores; additive: the hidden units tanh(q_i W_q + k_j W_k) of every pair, (n_q, n_k, d_h),
    d_h times the scores (computed all at once, as ``additive_scores`` does).
    """
    kind = _kind(kind)
    n_q = positive_int("n_q", n_q)
    n_k = positive_int("n_k", n_k)
    d_q, d_k, d_h = _sizes(kind, d_q, d_k, d_h)
    if kind == "general":
        return max(n_q * d_k, n_q * n_k)
    if kind == "additive":
        return n_q * n_k * d_h
    return n_q * n_k


def row_spread(weights: np.ndarray) -> float:
    """Return how much the rows of ``weights`` (..., n_q, n_k) differ: a number in [0, 1].

    The mean, over the queries (and batch), of the total-variation distance between a query's
    row of weights and the average row: 0.5 * sum_j |w_ij - mean_i w_ij|. It is 0 when every
    query attends in the same way, and at most 1 - 1/n_q.
    """
    weights = float_array("weights", weights, 2)
    mean_row = weights.mean(axis=-2, keepdims=True)
    return float(0.5 * np.abs(weights - mean_row).sum(axis=-1).mean())
