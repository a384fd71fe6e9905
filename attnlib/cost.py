"""Back-of-the-envelope costs of attention: FLOPs, score memory, KV-cache size (notebooks 07, 08)."""
from __future__ import annotations

from ._validate import positive_int, positive_number


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
