"""One sublayer of a pre-LayerNorm decoder block, in numpy: x + attention(LayerNorm(x)) (notebook 11).

The reference for notebook 11's exercise and the numpy twin of ``attnlib.models.transformer``'s
``x + attn(ln_1(x))``: LayerNorm, the projections (applied as ``x @ W``), RoPE on the queries and
keys, causal grouped-query attention with ``n_kv_heads`` key/value heads, the output projection,
and the residual connection.
"""
from __future__ import annotations

import numpy as np

from .validate import float_array, positive_int
from .gqa import grouped_query_attention
from .heads import merge_heads, split_heads
from .masks import causal_mask
from .rope import apply_rope

LN_EPS = 1e-5  # torch.nn.LayerNorm's default


def layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float = LN_EPS) -> np.ndarray:
    """Return x (..., d) normalised over its last axis to mean 0 and variance 1, then * gain (d,) + bias (d,)."""
    x = float_array("x", x, 1)
    gain, bias = float_array("gain", gain, 1), float_array("bias", bias, 1)
    if gain.shape != x.shape[-1:] or bias.shape != x.shape[-1:]:
        raise ValueError(f"gain {gain.shape} and bias {bias.shape} must both be (d,) with d = x.shape[-1] = {x.shape[-1]}")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)                     # the biased variance, as torch's LayerNorm
    return (x - mean) / np.sqrt(var + eps) * gain + bias


def attention_sublayer(
    x: np.ndarray,
    gain: np.ndarray,
    bias: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    W_o: np.ndarray,
    n_heads: int,
    n_kv_heads: int,
) -> np.ndarray:
    """Return x + causal self-attention of LayerNorm(x): (..., n, d_model), the shape of x.

    x: (..., n, d_model), the residual stream at positions 0 .. n-1; gain, bias: (d_model,), the
    LayerNorm's; W_q: (d_model, n_heads * d_head); W_k, W_v: (d_model, n_kv_heads * d_head);
    W_o: (n_heads * d_head, d_model). Queries and keys are rotated by RoPE (interleaved pairs,
    base 10000) at their positions; query head i reads key/value head i // (n_heads // n_kv_heads);
    each head is scaled by 1/sqrt(d_head).
    """
    x = float_array("x", x, 2)
    n_heads, n_kv_heads = positive_int("n_heads", n_heads), positive_int("n_kv_heads", n_kv_heads)
    d_model = x.shape[-1]
    W_q, W_k, W_v, W_o = (float_array(name, W, 2) for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v), ("W_o", W_o)))
    if W_q.shape[0] != d_model or W_q.shape[1] % n_heads:
        raise ValueError(f"W_q {W_q.shape} must be (d_model, n_heads * d_head) with d_model = {d_model}, n_heads = {n_heads}")
    d_head = W_q.shape[1] // n_heads
    for name, W in (("W_k", W_k), ("W_v", W_v)):
        if W.shape != (d_model, n_kv_heads * d_head):
            raise ValueError(f"{name} {W.shape} must be (d_model, n_kv_heads * d_head) = {(d_model, n_kv_heads * d_head)}")
    if W_o.shape != (n_heads * d_head, d_model):
        raise ValueError(f"W_o {W_o.shape} must be (n_heads * d_head, d_model) = {(n_heads * d_head, d_model)}")
    n = x.shape[-2]
    h = layer_norm(x, gain, bias)                           # (..., n, d_model): normalised, the stream untouched
    positions = np.arange(n)
    q = apply_rope(split_heads(h @ W_q, n_heads), positions)       # (..., n_heads, n, d_head)
    k = apply_rope(split_heads(h @ W_k, n_kv_heads), positions)    # (..., n_kv_heads, n, d_head)
    v = split_heads(h @ W_v, n_kv_heads)                           # values are not rotated
    heads, _ = grouped_query_attention(q, k, v, causal_mask(n))    # (..., n_heads, n, d_head)
    return x + merge_heads(heads) @ W_o                            # the residual: add to the stream
