"""Check for tiled_attention: exact, dtype-preserving, and never holding the n x n scores (notebook 08).

Whether a causal solution skips the key tiles that lie wholly in the future is measured, not
required: both are exact. The check counts the FLOPs of the learner's matrix products with and
without causal=True (``tiled.count_matmul_flops``, the same on every machine) and says which it
found in its verdict; skipping too much (the diagonal tile, the query's own key) is a mistake.
"""
from __future__ import annotations

import dataclasses
import tracemalloc
import warnings
from typing import Any, Callable

import numpy as np

from .. import attention, tiled
from .harness import Case, Check, CheckResult, Failed, Mistake, TookTooLong, call_learner, time_limit


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
                      "maximum, or skip the tiles that lie wholly in the future (never the diagonal one)."),
        Case("block_size larger than n", qkv((), 5, 5, 4, 2), {"block_size": 64}),
        # scores in the thousands: np.exp overflows (float64 stops near e^709) unless the running maximum is subtracted
        Case("large scores", {**qkv((), 8, 8, 16, 2), "q": rng.normal(size=(8, 16)) * 1000}, {"block_size": 3},
             hint="scores reach the thousands here: keep a running maximum per row and subtract it before np.exp."),
        Case("float32 input", qkv((), 9, 9, 8, 4, np.float32), {"block_size": 4},
             hint="keep the dtype of the inputs (float32 in, float32 out)."),
    ]


def _variant(no_scale=False, causal_diag=False, ignore_causal=False, no_rescale=False, drop_ragged=False,
             block_max=False, rescale=("l", "acc"), inverted_rescale=False, skip=None, diagonal_mask=True):
    """Return a blockwise attention with one known mistake.

    skip (with causal=True): None visits every key tile; "diagonal" skips the diagonal tile too
    (key tiles from the query tile's first position on); "own key" ends the keys of a query
    tile one early, at its last query, exclusive. diagonal_mask=False skips the future tiles
    exactly but never masks the tile on the diagonal.
    """

    def attn(q, k, v, block_size=128, causal=False):
        q, k, v = (np.asarray(a, dtype=float) for a in (q, k, v))
        n_q, n_k, B = q.shape[-2], k.shape[-2], block_size
        scale = 1.0 if no_scale else 1 / np.sqrt(q.shape[-1])
        out = np.zeros(np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (n_q, v.shape[-1]))
        for qs in range(0, n_q, B):
            qe = min(qs + B, n_q)
            stop = (n_k // B) * B if drop_ragged else n_k
            if causal and not diagonal_mask:
                stop = min(stop, qe)
            if causal and skip is not None:
                stop = min(stop, {"diagonal": qs, "own key": qe - 1}[skip])
            qb = q[..., qs:qs + B, :] * scale
            m = np.full(qb.shape[:-1] + (1,), -np.inf)
            l = np.zeros_like(m)
            acc = np.zeros(qb.shape[:-1] + (v.shape[-1],))
            for ks in range(0, stop, B):
                s = qb @ np.swapaxes(k[..., ks:min(ks + B, stop), :], -1, -2)
                if causal and not ignore_causal and diagonal_mask:
                    i = np.arange(qs, qs + s.shape[-2])[:, None]
                    j = np.arange(ks, ks + s.shape[-1])[None, :]
                    s = np.where(j < i if causal_diag else j <= i, s, -np.inf)
                m_new = s.max(-1, keepdims=True) if block_max else np.maximum(m, s.max(-1, keepdims=True))
                p = np.exp(s - m_new)
                alpha = 1.0 if no_rescale else (np.exp(m_new - m) if inverted_rescale else np.exp(m - m_new))
                l = l * (alpha if "l" in rescale else 1.0) + p.sum(-1, keepdims=True)
                acc = acc * (alpha if "acc" in rescale else 1.0) + p @ v[..., ks:min(ks + B, stop), :]
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


#: the work probe: 8 x 8 tiles, so that skipping the 28 wholly in the future shows clearly (36 of
#: 64 tiles left), and small enough to take milliseconds
WORK_N, WORK_D, WORK_BLOCK = 128, 4, 16

#: seconds each of the work probe's two calls may take: it only adds a note to a verdict
WORK_BUDGET_S = 5.0


def _counted_flops(candidate: Callable[..., object], inputs: dict[str, np.ndarray], causal: bool, budget: float) -> int | None:
    """Return the matrix-product FLOPs of one call of ``candidate``, or None if the call fails or runs out of time."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), time_limit(budget):
            warnings.simplefilter("ignore")
            return tiled.count_matmul_flops(candidate, **inputs, block_size=WORK_BLOCK, causal=causal)
    except (Exception, SystemExit, TookTooLong):  # the learner's code: its verdict comes from the cases
        return None


def skip_note(candidate: Callable[..., object], budget: float = WORK_BUDGET_S) -> str:
    """Return a sentence saying whether ``candidate`` skips the key tiles wholly in the future, as counted.

    The FLOPs of its matrix products are counted with causal=False and causal=True on random
    (WORK_N, WORK_D) inputs in tiles of WORK_BLOCK (``tiled.count_matmul_flops``: an exact count,
    the same on every machine). Visiting every tile gives a ratio of 1; skipping the tiles whose
    first key comes after the tile's last query leaves T (T + 1) / 2 of the T^2 tiles. Returns ""
    when the function fails (the cases report that) and a sentence saying so when its products
    could not be counted (inputs turned into plain arrays or torch tensors).
    """
    rng = np.random.default_rng(112)
    inputs = {name: rng.normal(size=(WORK_N, WORK_D)) for name in "qkv"}
    full = _counted_flops(candidate, inputs, False, budget)
    causal = _counted_flops(candidate, inputs, True, budget) if full is not None else None
    if full is None or causal is None:
        return ""
    where = f"counted at n = {WORK_N}, block_size = {WORK_BLOCK}"
    if full == 0:
        return (f"whether causal=True skips the key tiles wholly in the future could not be counted ({where}): "
                "the counter sees numpy's matrix products on the arrays passed in, and np.asarray or torch hide them")
    tiles = WORK_N // WORK_BLOCK
    needed = tiles * (tiles + 1) // 2
    least = needed / tiles**2
    ratio = causal / full
    share = f"its matrix products do {ratio:.0%} of the FLOPs of causal=False ({where}"
    if ratio <= (1 + least) / 2:
        return (f"with causal=True it skips the key tiles wholly in the future: {share}, where the {needed} tiles "
                f"on or below the diagonal are {least:.0%} of the {tiles**2})")
    return (f"with causal=True it visits every key tile, the future ones too: {share}). Exact, but skipping the tiles "
            f"whose first key comes after the tile's last query would leave {needed} of the {tiles**2} tiles, "
            f"{least:.0%} of the work: where causal FlashAttention gets its speed-up")


@dataclasses.dataclass
class TiledCheck(Check):
    """A Check whose verdict on a right answer also says whether causal=True skips the future tiles (``skip_note``)."""

    def run(self, candidate: Callable[..., Any]) -> CheckResult:
        """Return the CheckResult of ``candidate``; a pass ends with what the work probe counted."""
        note = skip_note(candidate, min(self.budget, WORK_BUDGET_S)) if callable(candidate) else ""
        if not note:
            return super().run(candidate)
        return Check.run(dataclasses.replace(self, success=f"{self.success}; {note}"), candidate)


tiled_attention = TiledCheck(
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
        Mistake(
            "the diagonal tile is skipped too: the key tile that starts where the query tile starts (ks == qs) holds "
            "each query's own key and the ones just before it, so the first query tile is left with no key at all. "
            "Skip a key tile only when it lies wholly in the future, ks > qs + bq - 1 (the tile's last query), and "
            "mask the future part of the diagonal tile instead",
            _variant(skip="diagonal"),
        ),
        Mistake(
            "with causal=True the last query of each tile misses its own key: a query tile [qs, qe) may see the keys "
            "0 .. qe - 1, so the keys to visit end at qe, exclusive (range(0, qe) or slices up to qe), not at qe - 1",
            _variant(skip="own key"),
        ),
        Mistake(
            "the tiles wholly in the future are skipped, but the diagonal tile still needs its mask: there query i "
            "may see only keys j <= i, so set the scores with j > i to -np.inf in the tiles that straddle the diagonal",
            _variant(diagonal_mask=False),
        ),
    ],
    extra=_memory_probe,
    keep_dtype=True,
    slow_hint=SLOW_HINT,
    success=f"exact on ragged and causal blocks, keeps the dtype, and holds only a few tiles of scores at a time (memory measured at n = {PROBE_N})",
)
