"""Checks for the cost estimates: FLOPs, score-matrix bytes, KV-cache bytes (notebooks 07, 08)."""
from __future__ import annotations

from .. import cost
from .harness import Case, Check, Mistake

attention_flops = Check(
    name="attention_flops",
    notebook="07",
    summary="FLOPs of Q K^T and weights @ V for one head: 4 n^2 d",
    reference=cost.attention_flops,
    cases=lambda: [Case(f"n={n}, d={d}", {"n": n, "d": d}) for n, d in ((4, 8), (3, 5), (1024, 64), (8192, 128))],
    output="number",
    rtol=1e-12,
    atol=0.0,
    mistakes=[
        Mistake(
            "that is half: each of the two products (Q K^T and weights @ V) takes n*n*d multiply-adds, "
            "and a multiply-add counts as 2 FLOPs, so 2 * 2 * n^2 * d in all (did you count one product, or a multiply-add as 1?)",
            lambda n, d: 2 * n * n * d,
        ),
        Mistake("that counts multiply-adds, not FLOPs, for one product only: 2 products x 2 FLOPs x n^2 d", lambda n, d: n * n * d),
        Mistake("n and d are swapped: the score matrix is n x n, so the cost grows with n^2 (4 n^2 d)", lambda n, d: 4 * n * d * d),
        Mistake("the d is squared: each of the n^2 scores is one dot product of length d, so 4 n^2 d", lambda n, d: 4 * n * n * d * d),
    ],
)

attention_score_bytes = Check(
    name="attention_score_bytes",
    notebook="07",
    summary="bytes of one n x n score matrix: n^2 * bytes_per_element",
    reference=cost.attention_score_bytes,
    cases=lambda: [
        Case(f"n={n}, bytes_per_element={b}", {"n": n, "bytes_per_element": b})
        for n, b in ((4, 4), (1024, 2), (4096, 2), (3, 1))
    ],
    output="number",
    rtol=1e-12,
    atol=0.0,
    mistakes=[
        Mistake("you forgot bytes_per_element: n^2 is the number of entries, multiply by the bytes of each", lambda n, bytes_per_element: n * n),
        Mistake("a score matrix has n x n entries, not n: multiply n * n * bytes_per_element", lambda n, bytes_per_element: n * bytes_per_element),
        Mistake("one score matrix, not two: n^2 * bytes_per_element", lambda n, bytes_per_element: 2 * n * n * bytes_per_element),
    ],
)


def _kv_cases() -> list[Case]:
    return [
        Case("Llama 2 70B, one token (defaults)", {"n_layers": 80, "n_kv_heads": 8, "head_dim": 128, "seq_len": 1}),
        Case("Llama 2 7B, 4096 tokens (defaults)", {"n_layers": 32, "n_kv_heads": 32, "head_dim": 128, "seq_len": 4096}),
        Case("a small model, batch 3, fp32", {"n_layers": 2, "n_kv_heads": 3, "head_dim": 5, "seq_len": 7}, {"batch": 3, "bytes_per_element": 4}),
        Case("batch 2, fp16", {"n_layers": 4, "n_kv_heads": 1, "head_dim": 64, "seq_len": 10}, {"batch": 2, "bytes_per_element": 2}),
    ]


kv_cache_bytes = Check(
    name="kv_cache_bytes",
    notebook="08",
    summary="2 (K and V) x layers x kv heads x head_dim x tokens x batch x bytes",
    reference=cost.kv_cache_bytes,
    cases=_kv_cases,
    output="number",
    rtol=1e-12,
    atol=0.0,
    mistakes=[
        Mistake("you counted only one of K and V: the cache stores both, a factor 2", lambda n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=2: n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_element),
        Mistake("the batch is ignored: each sequence in the batch has its own cache", lambda n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=2: 2 * n_layers * n_kv_heads * head_dim * seq_len * bytes_per_element),
        Mistake("bytes_per_element is ignored: multiply by it (2 for fp16, the default)", lambda n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=2: 2 * n_layers * n_kv_heads * head_dim * seq_len * batch),
        Mistake("the default should be fp16, 2 bytes per element", lambda n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=4: 2 * n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_element),
    ],
)
