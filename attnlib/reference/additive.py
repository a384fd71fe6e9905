"""Additive (Bahdanau) attention: a small feed-forward scorer instead of a dot product (notebook 05)."""
from __future__ import annotations

import numpy as np

from .validate import float_array
from .attention import attention_inputs, masked_softmax


def additive_scores(q: np.ndarray, k: np.ndarray, W_q: np.ndarray, W_k: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Return the additive scores w . tanh(q_i W_q + k_j W_k): (..., n_q, n_k).

    q: (..., n_q, d_q); k: (..., n_k, d_k); W_q: (d_q, d_h); W_k: (d_k, d_h); w: (d_h,).
    """
    W_q = float_array("W_q", W_q, 2)
    W_k = float_array("W_k", W_k, 2)
    w = float_array("w", w, 1)
    if W_q.ndim != 2 or W_k.ndim != 2 or w.ndim != 1:
        raise ValueError(
            f"W_q and W_k must be matrices and w a vector, got W_q {W_q.shape}, W_k {W_k.shape}, w {w.shape}"
        )
    if q.shape[-1] != W_q.shape[0]:
        raise ValueError(f"q {q.shape} has {q.shape[-1]} features but W_q {W_q.shape} expects {W_q.shape[0]}")
    if k.shape[-1] != W_k.shape[0]:
        raise ValueError(f"k {k.shape} has {k.shape[-1]} features but W_k {W_k.shape} expects {W_k.shape[0]}")
    if not W_q.shape[1] == W_k.shape[1] == w.shape[0]:
        raise ValueError(
            f"W_q {W_q.shape}, W_k {W_k.shape} and w {w.shape} must share the hidden size d_h"
        )
    hidden = np.tanh((q @ W_q)[..., :, None, :] + (k @ W_k)[..., None, :, :])  # (..., n_q, n_k, d_h)
    return hidden @ w


def additive_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    w: np.ndarray,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(out, weights)`` of additive attention, score[i, j] = w . tanh(q_i W_q + k_j W_k).

    q: (..., n_q, d_q); k: (..., n_k, d_k); v: (..., n_k, d_v); W_q: (d_q, d_h); W_k: (d_k, d_h);
    w: (d_h,); mask: bool broadcastable to (..., n_q, n_k), True = may attend.
    out: (..., n_q, d_v); weights: (..., n_q, n_k). Unlike dot-product attention, q and k may
    have different sizes, and there is no 1/sqrt(d) scale.
    """
    q, k, v, mask = attention_inputs(q, k, v, mask, same_width=False)
    weights = masked_softmax(additive_scores(q, k, W_q, W_k, w), mask)
    return weights @ v, weights
