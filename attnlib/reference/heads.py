"""Multi-head attention: split the model width into heads, attend in each, merge (notebook 06)."""
from __future__ import annotations

import numpy as np

from .validate import float_array, positive_int
from .attention import scaled_dot_product_attention


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """Return x split into heads: (..., n, d_model) -> (..., n_heads, n, d_model // n_heads).

    Head h holds features h*d_head .. (h+1)*d_head - 1 of every token. The reshape alone gives
    (..., n, n_heads, d_head); the transpose then moves the head axis before the token axis.
    """
    x = float_array("x", x, 2)
    n_heads = positive_int("n_heads", n_heads)
    n, d_model = x.shape[-2:]
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} (x {x.shape}) is not divisible by n_heads={n_heads}")
    return np.swapaxes(x.reshape(x.shape[:-1] + (n_heads, d_model // n_heads)), -3, -2)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """Return the heads concatenated back: (..., n_heads, n, d_head) -> (..., n, n_heads * d_head).

    The inverse of ``split_heads``: merge_heads(split_heads(x, h)) == x.
    """
    x = float_array("x", x, 3)
    n_heads, n, d_head = x.shape[-3:]
    return np.swapaxes(x, -3, -2).reshape(x.shape[:-3] + (n, n_heads * d_head))


def _weight(name: str, W: object, rows: int, row_desc: str) -> np.ndarray:
    """Return the projection matrix W as a float array with ``rows`` rows, or raise ValueError."""
    W = float_array(name, W, 2)
    if W.ndim != 2 or W.shape[0] != rows:
        raise ValueError(f"{name} must be a matrix with {rows} rows ({row_desc}), got shape {W.shape}")
    return W


def multi_head_attention(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    W_o: np.ndarray,
    n_heads: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(out, weights)`` of multi-head attention with weights applied as ``x @ W``.

    x_q: (..., n_q, d_model) gives the queries; x_kv: (..., n_kv, d_model) gives keys and values
    (pass the same array twice for self-attention). W_q, W_k, W_v: (d_model, d_model);
    W_o: (d_model, d_out). mask: bool broadcastable to (..., n_heads, n_q, n_kv), True = may attend.
    out: (..., n_q, d_out); weights: (..., n_heads, n_q, n_kv), one attention matrix per head.
    Each head works in d_head = d_model // n_heads dimensions and is scaled by 1/sqrt(d_head).
    """
    x_q = float_array("x_q", x_q, 2)
    x_kv = float_array("x_kv", x_kv, 2)
    n_heads = positive_int("n_heads", n_heads)
    d_model = x_q.shape[-1]
    if x_kv.shape[-1] != d_model:
        raise ValueError(f"x_q {x_q.shape} and x_kv {x_kv.shape} must share d_model (their last axis)")
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
    W_q = _weight("W_q", W_q, d_model, "d_model")
    W_k = _weight("W_k", W_k, d_model, "d_model")
    W_v = _weight("W_v", W_v, d_model, "d_model")
    if W_q.shape[1] != W_k.shape[1]:
        raise ValueError(f"W_q {W_q.shape} and W_k {W_k.shape} must give queries and keys of one width")
    for name, W in (("W_q", W_q), ("W_v", W_v)):
        if W.shape[1] % n_heads:
            raise ValueError(f"{name} {W.shape} gives {W.shape[1]} features, not divisible by n_heads={n_heads}")
    W_o = _weight("W_o", W_o, W_v.shape[1], "the width of the values, W_v.shape[1]")
    q = split_heads(x_q @ W_q, n_heads)  # (..., h, n_q, d_head)
    k = split_heads(x_kv @ W_k, n_heads)  # (..., h, n_kv, d_head)
    v = split_heads(x_kv @ W_v, n_heads)
    heads, weights = scaled_dot_product_attention(q, k, v, mask)
    return merge_heads(heads) @ W_o, weights
