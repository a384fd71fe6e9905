"""Softmax and scaled dot-product attention: the core of the course (notebook 01)."""
from __future__ import annotations

import numpy as np

from .validate import bool_mask, broadcast_batch, float_array


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Return the softmax of ``x`` along ``axis``: same shape, entries in [0, 1] summing to 1.

    Numerically stable: the maximum of each slice is subtracted before ``exp``, so scores of
    1000 do not overflow. A slice that is entirely ``-inf`` (every position blocked) gives zeros.
    x: (...) any shape, integers are treated as float64.
    """
    x = float_array("x", x, min_ndim=0 if np.ndim(x) == 0 else 1)
    if x.ndim == 0:
        raise ValueError("softmax needs at least one axis, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for x of shape {x.shape}")
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Return softmax(scores) over the last axis with blocked entries (mask False) at weight 0.

    scores: (..., n_q, n_k); mask: bool broadcastable to scores, True = may attend.
    A row with no allowed key gets all-zero weights, never NaN.
    """
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return softmax(scores, axis=-1)


def attention_inputs(
    q: object, k: object, v: object, mask: object = None, same_width: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Return q, k, v as float arrays and the mask broadcast to (..., n_q, n_k), or raise ValueError.

    q: (..., n_q, d_k); k: (..., n_k, d_k); v: (..., n_k, d_v); mask: bool broadcastable to
    (..., n_q, n_k). The leading axes of q, k and v must broadcast. ``same_width=False`` lets q
    and k differ in their last axis (additive attention projects them first).
    """
    q = float_array("q", q, 2)
    k = float_array("k", k, 2)
    v = float_array("v", v, 2)
    if same_width and q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must share their last axis d_k: q {q.shape} has d_k={q.shape[-1]}, "
            f"k {k.shape} has d_k={k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of keys n_k: k {k.shape} has {k.shape[-2]}, "
            f"v {v.shape} has {v.shape[-2]}"
        )
    batch = broadcast_batch({"q": q.shape, "k": k.shape, "v": v.shape})
    score_shape = batch + (q.shape[-2], k.shape[-2])
    if mask is not None:
        mask = bool_mask(mask, score_shape, "the scores (..., n_q, n_k) =")
    return q, k, v, mask


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(out, weights)`` of softmax(q k^T / sqrt(d_k)) v.

    q: (..., n_q, d_k); k: (..., n_k, d_k); v: (..., n_k, d_v);
    mask: bool broadcastable to (..., n_q, n_k), True = may attend.
    out: (..., n_q, d_v); weights: (..., n_q, n_k), each row sums to 1, or is all zeros
    (and so is its output row) when the mask allows no key.
    """
    q, k, v, mask = attention_inputs(q, k, v, mask)
    scores = q @ np.swapaxes(k, -1, -2) / float(np.sqrt(q.shape[-1]))  # a Python float keeps float32 float32
    weights = masked_softmax(scores, mask)
    return weights @ v, weights
