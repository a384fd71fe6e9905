"""Check for tiled_attention: exact, dtype-preserving, and never holding the n x n scores (notebook 08)."""
from __future__ import annotations

import tracemalloc
from typing import Callable

import numpy as np

from .. import attention, tiled
from .harness import Case, Check, Failed, Mistake, call_learner


def _tiled_cases() -> list[Case]:
    rng = np.random.default_rng(110)

    def qkv(batch, n_q, n_k, d, d_v, dtype=np.float64):
        return {
            "q": rng.normal(size=batch + (n_q, d)).astype(dtype),
            "k": rng.normal(size=batch + (n_k, d)).astype(dtype),
            "v": rng.normal(size=batch + (n_k, d_v)).astype(dtype),
        }

    return [
        Case("blocks that divide n", qkv((), 8, 8, 4, 3), {"block_size": 4}),
        Case("a ragged last block (n=10, block_size=4)", qkv((), 10, 10, 4, 3), {"block_size": 4},
             hint="n is not a multiple of block_size: the last block is shorter, do not drop it."),
        Case("a batch, n_q != n_k", qkv((2,), 6, 9, 8, 5), {"block_size": 4}),
        Case("causal, ragged", qkv((), 10, 10, 4, 3), {"block_size": 4, "causal": True},
             hint="with causal=True query i may see keys 0..i only."),
        Case("block_size larger than n", qkv((), 5, 5, 4, 2), {"block_size": 64}),
        # scores in the thousands: np.exp overflows (float64 stops near e^709) unless the running maximum is subtracted
        Case("large scores", {**qkv((), 8, 8, 16, 2), "q": rng.normal(size=(8, 16)) * 1000}, {"block_size": 3},
             hint="scores reach the thousands here: keep a running maximum per row and subtract it before np.exp."),
        Case("float32 input", qkv((), 9, 9, 8, 4, np.float32), {"block_size": 4},
             hint="keep the dtype of the inputs (float32 in, float32 out)."),
    ]


def _variant(no_scale=False, causal_diag=False, ignore_causal=False, no_rescale=False, drop_ragged=False):
    """Return a blockwise attention with one known mistake."""

    def attn(q, k, v, block_size=128, causal=False):
        q, k, v = (np.asarray(a, dtype=float) for a in (q, k, v))
        n_q, n_k, B = q.shape[-2], k.shape[-2], block_size
        scale = 1.0 if no_scale else 1 / np.sqrt(q.shape[-1])
        out = np.zeros(np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (n_q, v.shape[-1]))
        stop = (n_k // B) * B if drop_ragged else n_k
        for qs in range(0, n_q, B):
            qb = q[..., qs:qs + B, :] * scale
            m = np.full(qb.shape[:-1] + (1,), -np.inf)
            l = np.zeros_like(m)
            acc = np.zeros(qb.shape[:-1] + (v.shape[-1],))
            for ks in range(0, stop, B):
                s = qb @ np.swapaxes(k[..., ks:ks + B, :], -1, -2)
                if causal and not ignore_causal:
                    i = np.arange(qs, qs + s.shape[-2])[:, None]
                    j = np.arange(ks, ks + s.shape[-1])[None, :]
                    s = np.where(j < i if causal_diag else j <= i, s, -np.inf)
                m_new = np.maximum(m, s.max(-1, keepdims=True))
                p = np.exp(s - m_new)
                alpha = 1.0 if no_rescale else np.exp(m - m_new)
                l = l * alpha + p.sum(-1, keepdims=True)
                acc = acc * alpha + p @ v[..., ks:ks + B, :]
                m = m_new
            out[..., qs:qs + B, :] = acc / l
        return out

    return attn


def _memory_probe(candidate: Callable[..., object]) -> None:
    """Raise Failed if the candidate allocates about as much as the full n x n score matrix."""
    rng = np.random.default_rng(111)
    n, d, block = 1024, 16, 64
    case = Case(f"n={n}, d={d}, block_size={block}", {name: rng.normal(size=(n, d)) for name in "qkv"}, {"block_size": block})
    full_bytes = n * n * 8
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call_learner(candidate, case)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    if peak > full_bytes / 4:
        raise Failed(
            f"your function allocated {peak / 2**20:.1f} MiB at its peak for n={n} — the size of the "
            f"full n x n score matrix ({full_bytes / 2**20:.1f} MiB) is within reach. Compute one "
            f"(block_size x block_size) block of scores at a time and keep only running sums"
        )


tiled_attention = Check(
    name="tiled_attention",
    notebook="08",
    summary="exact attention block by block with an online softmax, never holding the n x n scores",
    reference=tiled.tiled_attention,
    cases=_tiled_cases,
    mistakes=[
        Mistake("the scores are not scaled: multiply q by 1/sqrt(d_k)", _variant(no_scale=True)),
        Mistake("the diagonal is blocked: with causal=True query i may see key i itself (j <= i)", _variant(causal_diag=True)),
        Mistake("causal=True is ignored: block keys j > i", _variant(ignore_causal=True)),
        Mistake(
            "when a later block raises the running maximum, the old running sum and output must be "
            "rescaled by exp(m_old - m_new); yours are not",
            _variant(no_rescale=True),
        ),
        Mistake("the last, shorter key block is dropped: loop with range(0, n, block_size) and slice to min(start + block_size, n)", _variant(drop_ragged=True)),
    ],
    extra=_memory_probe,
    keep_dtype=True,
    success="exact on ragged and causal blocks, keeps the dtype, and stays far below the memory of the full score matrix",
)
