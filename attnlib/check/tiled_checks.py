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
             hint="with causal=True query i may see keys 0..i only.",
             nan_hint="NaN here usually means a row whose scores in a tile are all -inf: exp(-inf - (-inf)) is "
                      "NaN. Subtract the running maximum (finite once a key was allowed), not the tile's own "
                      "maximum, or skip the tiles that lie wholly in the future."),
        Case("block_size larger than n", qkv((), 5, 5, 4, 2), {"block_size": 64}),
        # scores in the thousands: np.exp overflows (float64 stops near e^709) unless the running maximum is subtracted
        Case("large scores", {**qkv((), 8, 8, 16, 2), "q": rng.normal(size=(8, 16)) * 1000}, {"block_size": 3},
             hint="scores reach the thousands here: keep a running maximum per row and subtract it before np.exp."),
        Case("float32 input", qkv((), 9, 9, 8, 4, np.float32), {"block_size": 4},
             hint="keep the dtype of the inputs (float32 in, float32 out)."),
    ]


def _variant(no_scale=False, causal_diag=False, ignore_causal=False, no_rescale=False, drop_ragged=False,
             block_max=False, rescale=("l", "acc"), inverted_rescale=False):
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
                m_new = s.max(-1, keepdims=True) if block_max else np.maximum(m, s.max(-1, keepdims=True))
                p = np.exp(s - m_new)
                alpha = 1.0 if no_rescale else (np.exp(m_new - m) if inverted_rescale else np.exp(m - m_new))
                l = l * (alpha if "l" in rescale else 1.0) + p.sum(-1, keepdims=True)
                acc = acc * (alpha if "acc" in rescale else 1.0) + p @ v[..., ks:ks + B, :]
                m = m_new
            out[..., qs:qs + B, :] = acc / l
        return out

    return attn


#: what a learner whose function ran out of time is told
SLOW_HINT = ("A loop in Python over every single score is far too slow for this: loop over blocks, and let "
             "numpy compute each tile with one matrix product (q_blk @ k_blk.T).")

#: the memory probe: long enough that a strip of block_size x n scores stands out (16 x 512 x 8 bytes
#: = 64 KiB against a budget of 48 KiB), short enough that a right answer written as a loop over
#: single query rows still finishes in a second or two
PROBE_N, PROBE_D, PROBE_BLOCK = 512, 2, 16


def _peak_bytes(fn: Callable[..., object], case: Case) -> int:
    """Return the peak bytes allocated while ``call_learner(fn, case)`` runs (its input copies included)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call_learner(fn, case, slow_hint=SLOW_HINT)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _memory_probe(candidate: Callable[..., object]) -> None:
    """Raise Failed if the candidate holds more scores at once than a few (block_size x block_size) tiles.

    What a function that only writes its output allocates (the checker's copies of the inputs
    and the output) is measured first and not counted. The budget beyond it: two more arrays of
    the inputs' size (a scaled copy of q, say) and 16 tiles. A row of tiles (block_size x n
    scores) exceeds it, and so do an n x n score matrix or an n x n causal mask. Both
    causal=False and causal=True are probed.
    """
    rng = np.random.default_rng(111)
    n, d, block = PROBE_N, PROBE_D, PROBE_BLOCK
    inputs = {name: rng.normal(size=(n, d)) for name in "qkv"}
    budget = 2 * n * d * 8 + 16 * block * block * 8
    over = {}
    for causal in (False, True):
        case = Case(f"n={n}, d={d}, block_size={block}, causal={causal}", inputs, {"block_size": block, "causal": causal})
        floor = _peak_bytes(lambda q, k, v, block_size=128, causal=False: np.zeros((n, d)), case)
        extra = _peak_bytes(candidate, case) - floor
        if extra > budget:
            over[causal] = (case, extra)
    if not over:
        return
    case, extra = over.get(False) or over[True]
    sizes = (f"(for scale: one {block} x {block} tile of float64 scores takes {block * block * 8 / 2**10:g} KiB, "
             f"a row of tiles, {block} x {n}, {block * n * 8 / 2**10:g} KiB, an n x n bool mask "
             f"{n * n / 2**10:,.0f} KiB and the n x n float64 scores {n * n * 8 / 2**10:,.0f} KiB)")
    found = f"on {case.label} your function allocated {extra / 2**10:,.0f} KiB beyond its output at its peak {sizes}"
    if False not in over:  # only the causal version holds too much: its mask is the culprit
        what = ("an n x n mask (or a few of them)" if extra < 3 * n * n else "n x n arrays")
        raise Failed(
            f"{found}. Without causal=True your function stays within a few tiles, so the causal part holds "
            f"{what}, built for the whole sequence before the loop. Build the mask of each tile inside the "
            "loop from that tile's own positions, e.g. np.arange(ks, ks + bk)[None, :] <= np.arange(qs, qs + bq)[:, None]"
        )
    if extra >= 0.8 * n * n * 8:
        raise Failed(f"{found}: that is the full n x n matrix of scores. Compute one (block_size x block_size) tile at "
                     "a time, and keep only the running maximum, sum and output between tiles")
    if extra >= 0.8 * block * n * 8:
        raise Failed(f"{found}: about a row of tiles, the scores of a block of queries against every key at once. "
                     "Loop over key blocks too, inside the loop over query blocks, and hold one tile of scores at a time")
    raise Failed(f"{found}: more than a few tiles. Hold one (block_size x block_size) tile of scores at a time and keep "
                 "only the running maximum, sum and output between tiles")


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
        Mistake(
            "each tile subtracts its own maximum: subtract the running maximum m_new = max(m, tile max), "
            "so that all the terms of l and acc are relative to the same maximum",
            _variant(block_max=True),
        ),
        Mistake("only the running sum l is rescaled when the maximum grows: rescale the running output acc by exp(m_old - m_new) too",
                _variant(rescale=("l",))),
        Mistake("only the running output acc is rescaled when the maximum grows: rescale the running sum l by exp(m_old - m_new) too",
                _variant(rescale=("acc",))),
        Mistake("the rescaling factor is upside down: old terms shrink by exp(m_old - m_new), which is <= 1, not exp(m_new - m_old)",
                _variant(inverted_rescale=True)),
    ],
    extra=_memory_probe,
    keep_dtype=True,
    slow_hint=SLOW_HINT,
    success=f"exact on ragged and causal blocks, keeps the dtype, and holds only a few tiles of scores at a time (memory measured at n = {PROBE_N})",
)
