"""How spread out attention is: the entropy of each row of weights, in nats (notebook 10).

The entropy of a row of weights w (non-negative, summing to 1) is H = -sum_j w_j ln w_j. It is
ln(n) for n uniform weights (attention spread as thin as it can be) and 0 for a one-hot row
(hard attention: one key takes everything). Terms with w_j = 0 count as 0, the limit of
w ln w as w -> 0, so a masked or one-hot row has a finite entropy, never NaN.
"""
from __future__ import annotations

import numpy as np

from .validate import float_array


def attention_entropy(weights: np.ndarray) -> np.ndarray:
    """Return the entropy in nats of each row of ``weights``: (..., n_k) -> (...).

    weights: (..., n_k) non-negative attention weights, each row summing to 1 (a fully masked
    row of zeros is allowed and has entropy 0). Zero weights contribute 0 (0 ln 0 = 0). The
    result keeps a floating input's dtype (float32 in, float32 out).
    """
    w = float_array("weights", weights)
    if np.isnan(w).any():
        raise ValueError(f"weights contain NaN (shape {w.shape})")
    if np.any(w < 0):
        raise ValueError(f"weights must be non-negative, got a minimum of {w.min():.3g} (shape {w.shape})")
    positive = w > 0
    terms = np.where(positive, w * np.log(np.where(positive, w, 1)), 0)
    return np.asarray(np.zeros((), dtype=w.dtype) - terms.sum(axis=-1))  # 0 - x, not -x: no -0.0


def max_entropy(n_keys: int) -> float:
    """Return ln(n_keys), the entropy of uniform weights over n_keys keys (the most spread out)."""
    if n_keys < 1:
        raise ValueError(f"n_keys must be at least 1, got {n_keys}")
    return float(np.log(n_keys))
