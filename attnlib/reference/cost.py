"""Back-of-the-envelope costs of attention: FLOPs, score memory, KV-cache size (notebooks 07, 08)."""
from __future__ import annotations

import numpy as np

from .validate import positive_int, positive_number


def attention_flops(n: int, d: int) -> int:
    """Return the FLOPs of one head's two matrix products for n tokens of width d: 4 * n^2 * d.

    Q K^T is (n x d) @ (d x n): n^2 * d multiply-adds; weights @ V is (n x n) @ (n x d): another
    n^2 * d. A multiply-add counts as 2 FLOPs. The softmax (O(n^2)) is not counted.
    """
    n = positive_int("n", n)
    d = positive_int("d", d)
    return 2 * 2 * n * n * d


def attention_score_bytes(n: int, bytes_per_element: float) -> float:
    """Return the bytes of one n x n score matrix: n^2 * bytes_per_element (2 for fp16, 4 for fp32)."""
    n = positive_int("n", n)
    return n * n * positive_number("bytes_per_element", bytes_per_element)


def kv_cache_bytes(
    n_layers: int,
    n_kv_heads: int,
    head_dim: int,
    seq_len: int,
    batch: int = 1,
    bytes_per_element: float = 2,
) -> float:
    """Return the bytes of a KV cache: 2 (K and V) * layers * kv heads * head_dim * tokens * batch * bytes.

    With the defaults (batch 1, fp16) and seq_len=1 this is the cache per token: Llama 2 70B
    (80 layers, 8 KV heads, head_dim 128) needs 2*80*8*128*2 = 327,680 bytes = 320 KiB.
    """
    sizes = [
        positive_int(name, value)
        for name, value in (
            ("n_layers", n_layers),
            ("n_kv_heads", n_kv_heads),
            ("head_dim", head_dim),
            ("seq_len", seq_len),
            ("batch", batch),
        )
    ]
    total = 2 * positive_number("bytes_per_element", bytes_per_element)
    for s in sizes:
        total *= s
    return total


def layer_flops(n: int, d_model: int, mlp_ratio: float = 4, causal: bool = False) -> dict[str, float]:
    """Return the FLOPs of one transformer layer on n tokens, by part: projections, attention, mlp.

    A back-of-the-envelope count (a multiply-add counts 2), x: (n, d_model):
    - "projections": Q, K, V and the output projection, four (n x d) @ (d x d) products: 4 * 2 n d^2;
    - "attention": Q K^T and weights @ V of all heads together, 4 n^2 d. h heads of width d / h
      cost h * attention_flops(n, d / h), the same as one head of width d;
    - "mlp": (n x d) @ (d x r d) and (n x r d) @ (r d x d), r = mlp_ratio: 2 * 2 n d (r d).
    The projections and the MLP grow linearly in n, attention quadratically. The softmax, the
    norms and the residual additions (O(n^2) and O(n d)) are left out.

    causal=True counts a decoder's causal self-attention: each query sees only itself and the
    earlier keys, about n / 2 keys on average, so "attention" is halved, 2 n^2 d (the exact
    number of allowed pairs, n (n + 1) / 2, is larger by a factor (n + 1) / n). An
    implementation only saves this work if it skips the masked pairs (a causal kernel that skips
    the future tiles, as FlashAttention's does); a dense masked matrix product computes all n^2.
    The default, causal=False, counts all n^2 pairs (bidirectional self-attention, an encoder).
    """
    n = positive_int("n", n)
    d = positive_int("d_model", d_model)
    r = positive_number("mlp_ratio", mlp_ratio)
    causal = _flag("causal", causal)
    full = attention_flops(n, d)
    return {
        "projections": 4 * 2 * n * d * d,
        "attention": full // 2 if causal else full,
        "mlp": 2 * 2 * n * d * (r * d),
    }


def attention_crossover_n(d_model: int, mlp_ratio: float = 4, causal: bool = False) -> float:
    """Return the n at which a layer's attention FLOPs equal its projections' and MLP's: (2 + r) * d_model.

    From ``layer_flops``: 4 n^2 d = 8 n d^2 + 4 r n d^2  <=>  n = (2 + r) d, so with the usual
    mlp_ratio r = 4, attention dominates once n > 6 d_model. Below it, the linear parts dominate.
    With causal=True attention counts half, 2 n^2 d, and the crossover doubles: 2 (2 + r) d_model,
    12 d_model for r = 4.
    """
    d = positive_int("d_model", d_model)
    r = positive_number("mlp_ratio", mlp_ratio)
    causal = _flag("causal", causal)
    linear_per_token_d = 8 + 4 * r  # (projections + mlp) / (n d^2)
    attention_per_token_d = 2 if causal else 4  # attention / (n^2 d)
    return linear_per_token_d / attention_per_token_d * d


def attention_share(n: int, d_model: int, mlp_ratio: float = 4, causal: bool = False) -> float:
    """Return the fraction of one layer's FLOPs (``layer_flops``) spent in attention: n / (n + n*).

    n* is ``attention_crossover_n(d_model, mlp_ratio, causal)``: (2 + r) d_model, or twice that
    with causal=True.
    """
    parts = layer_flops(n, d_model, mlp_ratio, causal)
    return parts["attention"] / sum(parts.values())


def _flag(name: str, value: object) -> bool:
    """Return value if it is a bool (numpy's included); raise ValueError naming it otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")
