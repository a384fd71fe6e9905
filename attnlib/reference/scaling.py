"""Why attention divides its scores by sqrt(d_k): measurements on random vectors (notebook 04).

The model of Vaswani et al. (2017, footnote 4): queries and keys whose components are
independent, with mean 0 and variance 1. Then q · k is a sum of d_k independent products of
variance 1, so Var(q · k) = d_k, and q · k / sqrt(d_k) has variance 1 whatever d_k is.

- ``dot_products``: samples of q · k, to measure that variance;
- ``score_rows``: rows of raw scores of one query against n keys, to see what the softmax does;
- ``fixed_row_scores``: one reproducible row of scores for any d_k (the d_k slider uses it);
- ``softmax_entropy``: how spread a row of weights is;
- ``softmax_jacobian`` and ``softmax_jacobian_norms``: the softmax's derivative, by torch autograd;
- ``scaled_head_scores``: the scaled scores of every head of a multi-head layer.
"""
from __future__ import annotations

import numpy as np

from .validate import float_array, positive_int
from .heads import split_heads

#: largest number of floats ``dot_products`` draws at once (keeps memory near 8 MiB per array)
_CHUNK = 2**20


def dot_products(d_k: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n_samples`` dot products q · k of random vectors: shape (n_samples,).

    Each pair q, k has d_k independent standard normal components (mean 0, variance 1), drawn
    from ``rng`` in chunks so that d_k = 1024 does not need gigabytes. Their variance is d_k.
    """
    d_k = positive_int("d_k", d_k)
    n_samples = positive_int("n_samples", n_samples)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    rows = max(1, _CHUNK // d_k)
    out = np.empty(n_samples)
    for start in range(0, n_samples, rows):
        m = min(rows, n_samples - start)
        q = rng.standard_normal((m, d_k))
        k = rng.standard_normal((m, d_k))
        out[start:start + m] = np.einsum("ij,ij->i", q, k)
    return out


def score_rows(d_k: int, n_rows: int, n_keys: int, rng: np.random.Generator) -> np.ndarray:
    """Return raw scores q · k_j of random vectors: shape (n_rows, n_keys), not scaled.

    Row r holds one random query scored against its own n_keys random keys; every component of
    every query and key is an independent standard normal, so each score has variance d_k.
    """
    d_k = positive_int("d_k", d_k)
    n_rows = positive_int("n_rows", n_rows)
    n_keys = positive_int("n_keys", n_keys)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    q = rng.standard_normal((n_rows, d_k))
    k = rng.standard_normal((n_rows, n_keys, d_k))
    return np.einsum("rd,rjd->rj", q, k)


def fixed_row_scores(d_k: int, n_keys: int = 8, seed: int = 0, max_d_k: int = 1024) -> np.ndarray:
    """Return one row of raw scores q · k_j for a fixed query and fixed keys: shape (n_keys,).

    The query and the keys are drawn once (from ``seed``) with ``max_d_k`` components; the row
    for a given d_k uses their first d_k components, so growing d_k adds terms to the same sums.
    Divide by sqrt(d_k) for the scaled scores.
    """
    d_k = positive_int("d_k", d_k)
    n_keys = positive_int("n_keys", n_keys)
    max_d_k = positive_int("max_d_k", max_d_k)
    if d_k > max_d_k:
        raise ValueError(f"d_k={d_k} is larger than max_d_k={max_d_k}")
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(max_d_k)
    k = rng.standard_normal((n_keys, max_d_k))
    return k[:, :d_k] @ q[:d_k]


def softmax_entropy(weights: np.ndarray, axis: int = -1) -> np.ndarray:
    """Return the entropy -sum_j w_j ln w_j of each slice of ``weights`` along ``axis``.

    weights: (...) rows of non-negative weights summing to 1; the result drops ``axis``.
    The entropy is ln(n) for n uniform weights and 0 for one-hot weights (0 ln 0 counts as 0).
    """
    w = float_array("weights", weights)
    if np.any(w < 0):
        raise ValueError(f"weights must be non-negative, got a minimum of {w.min():.3g}")
    terms = np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0)
    return 0.0 - terms.sum(axis=axis)  # 0.0 - x, not -x: a one-hot row gives 0.0, not -0.0


def softmax_jacobian(scores: np.ndarray) -> np.ndarray:
    """Return the Jacobian d softmax(s)_i / d s_j of each row, by torch autograd: (..., n, n).

    scores: (..., n) rows of scores; the softmax runs over the last axis. Computed in float64
    with ``torch.func.jacrev`` (reverse-mode autograd), one row at a time via ``vmap``. It equals
    diag(p) - p p^T for the weights p = softmax(s).
    """
    import torch  # imported here: the rest of the module needs numpy only

    s = float_array("scores", scores)
    flat = torch.from_numpy(np.ascontiguousarray(s.reshape(-1, s.shape[-1]), dtype=np.float64))
    jac = torch.func.vmap(torch.func.jacrev(lambda row: torch.softmax(row, dim=-1)))(flat)
    return jac.numpy().reshape(s.shape + (s.shape[-1],))


def softmax_jacobian_norms(scores: np.ndarray) -> np.ndarray:
    """Return the Frobenius norm of the softmax's Jacobian for each row of scores: shape (...,).

    scores: (..., n). The norm measures how much the weights can move when the scores move:
    about 1/sqrt(n) for uniform weights, 0 for one-hot weights (a saturated softmax).
    """
    jac = softmax_jacobian(scores)
    return np.sqrt((jac**2).sum(axis=(-2, -1)))


def scaled_head_scores(q: np.ndarray, k: np.ndarray, n_heads: int) -> np.ndarray:
    """Return every head's scaled scores q_h k_h^T / sqrt(d_head): shape (..., n_heads, n_q, n_k).

    q: (..., n_q, d_model) and k: (..., n_k, d_model), already projected; both are split into
    n_heads heads of d_head = d_model // n_heads features each (``split_heads``). Each head's
    scores are divided by sqrt(d_head), the width of that head's queries and keys, not by
    sqrt(d_model).
    """
    q = float_array("q", q, 2)
    k = float_array("k", k, 2)
    n_heads = positive_int("n_heads", n_heads)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q {q.shape} and k {k.shape} must share their last axis d_model")
    if q.shape[-1] % n_heads:
        raise ValueError(f"d_model={q.shape[-1]} (q {q.shape}) is not divisible by n_heads={n_heads}")
    q_h, k_h = split_heads(q, n_heads), split_heads(k, n_heads)  # (..., n_heads, n, d_head)
    d_head = q_h.shape[-1]
    return q_h @ np.swapaxes(k_h, -1, -2) / float(np.sqrt(d_head))  # a Python float keeps float32
