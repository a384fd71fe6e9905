"""Tiled attention with an online softmax: FlashAttention's idea, exactly, in numpy (notebook 08).

``tiled_attention`` is the reference. ``attnlib.measure.flops.count_matmul_flops`` counts the
floating-point operations of the matrix products it runs, which is how notebook 08 and the
exercise's check see whether a causal tiled attention skips the key tiles wholly in the future.
"""
from __future__ import annotations

import numpy as np

from .validate import positive_int
from .attention import attention_inputs


def tiled_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, block_size: int = 128, causal: bool = False,
    skip_future: bool = True,
) -> np.ndarray:
    """Return softmax(q k^T / sqrt(d_k)) v computed block by block, never holding the n x n scores.

    q: (..., n_q, d_k); k: (..., n_k, d_k); v: (..., n_k, d_v) -> out: (..., n_q, d_v), in the
    dtype of the inputs. At any moment at most one (block_size x block_size) block of scores per
    batch/head entry exists. For each query block it walks the key blocks and keeps a running
    row maximum ``m``, a running normaliser ``l`` and an unnormalised output ``acc``; when the
    maximum grows, the old ``l`` and ``acc`` are rescaled by exp(m_old - m_new). The result is
    exact: the same numbers as the full softmax, up to rounding.
    causal=True lets query i see keys 0..i (top-left aligned, as torch's ``is_causal``). Then
    the key blocks that lie wholly in the future of a query block (first key > the block's last
    query) are skipped, about half of them, and only the blocks that straddle the diagonal are
    masked. ``skip_future=False`` visits (and masks) them anyway: the same result for about twice
    the work, which notebook 08 counts. Without causal=True it changes nothing.
    """
    checked = attention_inputs(q, k, v)[:3]
    # attention_inputs returns plain arrays; an ndarray subclass of the right dtype (the counting
    # arrays of measure.flops.count_matmul_flops) is used as given, so that its matrix products can be counted
    q, k, v = (x if isinstance(x, np.ndarray) and x.dtype == c.dtype else c for x, c in zip((q, k, v), checked))
    block = positive_int("block_size", block_size)
    dtype = np.result_type(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    n_q, n_k, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    scale = dtype.type(1.0 / np.sqrt(q.shape[-1]))
    k_t = np.swapaxes(k, -1, -2)  # a view: no copy
    out = np.empty(batch + (n_q, d_v), dtype=dtype)
    for qs in range(0, n_q, block):
        qe = min(qs + block, n_q)
        q_blk = q[..., qs:qe, :] * scale
        m = np.full(batch + (qe - qs, 1), -np.inf, dtype=dtype)  # running row maximum
        l = np.zeros(batch + (qe - qs, 1), dtype=dtype)  # running sum of exp(score - m)
        acc = np.zeros(batch + (qe - qs, d_v), dtype=dtype)  # running sum of exp(score - m) v
        # keys >= qe lie in the future of every query of this block: their blocks are skipped
        k_end = min(n_k, qe) if causal and skip_future else n_k
        for ks in range(0, k_end, block):
            ke = min(ks + block, k_end)
            s = q_blk @ k_t[..., ks:ke]  # (..., bq, bk): the only block of scores alive
            if causal and ke - 1 > qs:  # some key of this block lies in the future of some query
                future = np.arange(ks, ke)[None, :] > np.arange(qs, qe)[:, None]
                s[..., future] = -np.inf
            # m_new is finite: key 0, in the first block visited, is visible to every query
            m_new = np.maximum(m, s.max(axis=-1, keepdims=True))
            np.subtract(s, m_new, out=s)
            np.exp(s, out=s)
            alpha = np.exp(m - m_new)  # how much the old running sums shrink
            l *= alpha
            l += s.sum(axis=-1, keepdims=True)
            acc *= alpha
            acc += s @ v[..., ks:ke, :]
            m = m_new
        np.divide(acc, l, out=out[..., qs:qe, :])
    return out
