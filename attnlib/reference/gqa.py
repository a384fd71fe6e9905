"""Grouped-query attention: several query heads share one key/value head (notebook 08)."""
from __future__ import annotations

import numpy as np

from .validate import float_array
from .attention import scaled_dot_product_attention


def grouped_query_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(out, weights)`` of grouped-query attention.

    q: (..., h_q, n_q, d); k: (..., h_kv, n_k, d); v: (..., h_kv, n_k, d_v) with h_q % h_kv == 0;
    mask: bool broadcastable to (..., h_q, n_q, n_k), True = may attend.
    out: (..., h_q, n_q, d_v); weights: (..., h_q, n_q, n_k).
    Query head i uses key/value head i // (h_q // h_kv): consecutive query heads form a group
    (``repeat_interleave``, not ``repeat``/``tile``). h_kv == h_q is multi-head attention,
    h_kv == 1 is multi-query attention.
    """
    q = float_array("q", q, 3)
    k = float_array("k", k, 3)
    v = float_array("v", v, 3)
    h_q, h_kv = q.shape[-3], k.shape[-3]
    if v.shape[-3] != h_kv:
        raise ValueError(f"k {k.shape} and v {v.shape} must have the same number of heads h_kv")
    if h_q % h_kv:
        raise ValueError(
            f"the number of query heads h_q={h_q} (q {q.shape}) must be a multiple of the number of "
            f"key/value heads h_kv={h_kv} (k {k.shape})"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must share their last axis d_k: q {q.shape} has d_k={q.shape[-1]}, "
            f"k {k.shape} has d_k={k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k {k.shape} and v {v.shape} must have the same number of keys n_k")
    group = h_q // h_kv
    k = np.repeat(k, group, axis=-3)  # numpy's repeat is torch's repeat_interleave
    v = np.repeat(v, group, axis=-3)
    return scaled_dot_product_attention(q, k, v, mask)
