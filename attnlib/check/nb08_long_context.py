"""Checks for notebook 08 (long context): the sliding-window mask, grouped-query attention, the KV cache's
size, tiled attention, and two predictions (the KV cache of GQA and MQA, a sliding window's reach).

tiled_attention: exact, dtype-preserving, and never holding the n x n scores. Whether a causal
solution skips the key tiles that lie wholly in the future is measured, not required: both are
exact. The check counts the FLOPs of the learner's matrix products with and without causal=True
(``measure.flops.count_matmul_flops``, the same on every machine) and says which it found in its
verdict; skipping too much (the diagonal tile, the query's own key) is a mistake.

The predictions' expected answers are computed (from ``attnlib.models.model_configs`` and by
composing ``attnlib.reference.masks.sliding_window_mask`` as reachability), never typed in.
"""
from __future__ import annotations

import dataclasses
import tracemalloc
import warnings
from typing import Any, Callable

import numpy as np

from ..measure import flops
from ..models import model_configs
from ..reference import attention, cost, gqa, masks, tiled
from .harness import Case, Check, CheckResult, Failed, Mistake, TookTooLong, call_learner, time_limit
from .nb01_queries_keys_values import SDPA_MISTAKES
from .nb03_who_attends_to_whom import MASK_CONVENTION
from .predictions import Prediction

# ------------------------------------------------------------------ the sliding-window mask


def _window_band(n: int, lo: int, hi: int) -> np.ndarray:
    """Return the bool (n, n) band lo <= i - j <= hi."""
    offset = np.arange(n)[:, None] - np.arange(n)[None, :]
    return (offset >= lo) & (offset <= hi)


sliding_window_mask = Check(
    name="sliding_window_mask",
    notebook="08",
    summary="the causal (n, n) bool mask where query i sees keys i - window < j <= i",
    reference=masks.sliding_window_mask,
    cases=lambda: [
        Case("n=6, window=3", {"n": 6, "window": 3}),
        Case("n=5, window=2", {"n": 5, "window": 2}),
        Case("window 1: each token sees only itself", {"n": 4, "window": 1}),
        Case("a window longer than the sequence", {"n": 4, "window": 10}, hint="when window >= n the mask is the plain causal mask."),
    ],
    mistakes=[
        Mistake("off by one: each position sees itself and window - 1 earlier positions, window in all, so allow 0 <= i - j < window (you allowed i - j <= window)", lambda n, window: _window_band(n, 0, window)),
        Mistake("off by one: each position sees itself and window - 1 earlier positions, window in all (you allowed only window - 1)", lambda n, window: _window_band(n, 0, window - 2)),
        Mistake("the future is visible: the sliding window is causal here, so keys j > i stay blocked", lambda n, window: _window_band(n, -(window - 1), window - 1)),
        Mistake("the diagonal is blocked: each position must see itself", lambda n, window: _window_band(n, 1, window - 1)),
        Mistake("you allowed the transpose (j >= i): the window looks back, at keys j <= i", lambda n, window: masks.sliding_window_mask(n, window).T),
        Mistake(MASK_CONVENTION, lambda n, window: ~masks.sliding_window_mask(n, window)),
    ],
)


# ------------------------------------------------------------------ grouped-query attention


def _gqa_cases() -> list[Case]:
    rng = np.random.default_rng(109)

    def inputs(batch, h_q, h_kv, n, d):
        return {
            "q": rng.normal(size=batch + (h_q, n, d)),
            "k": rng.normal(size=batch + (h_kv, n, d)),
            "v": rng.normal(size=batch + (h_kv, n, d)),
        }

    return [
        Case("4 query heads sharing 2 key/value heads", inputs((), 4, 2, 3, 4)),
        Case("a batch, 6 query heads, 3 key/value heads", inputs((2,), 6, 3, 4, 8)),
        Case("multi-query attention: one key/value head", inputs((), 4, 1, 3, 4)),
        Case("multi-head attention: as many key/value heads as query heads", inputs((), 2, 2, 3, 4)),
        Case("a causal mask", inputs((), 4, 2, 4, 4), {"mask": np.tril(np.ones((4, 4), dtype=bool))}),
    ]


def _gqa_tiled(q, k, v, mask=None):
    group = q.shape[-3] // k.shape[-3]
    reps = [1] * k.ndim
    reps[-3] = group
    return attention.scaled_dot_product_attention(q, np.tile(k, reps), np.tile(v, reps), mask)


def _gqa_with(mistake):
    def attn(q, k, v, mask=None):
        group = q.shape[-3] // k.shape[-3]
        return mistake.fn(q, np.repeat(k, group, axis=-3), np.repeat(v, group, axis=-3), mask)

    return attn


grouped_query_attention = Check(
    name="grouped_query_attention",
    notebook="08",
    summary="query head i uses key/value head i // (h_q // h_kv)",
    reference=gqa.grouped_query_attention,
    cases=_gqa_cases,
    output="pair",
    mistakes=[
        Mistake(
            "your query heads use the wrong key/value heads: you repeated the key/value heads with "
            "tile/torch's repeat (head i gets i % h_kv), but consecutive query heads form a group "
            "(head i gets i // group): use np.repeat(k, group, axis=-3), torch's repeat_interleave",
            _gqa_tiled,
        ),
    ]
    + [
        Mistake(SDPA_MISTAKES[key].hint, _gqa_with(SDPA_MISTAKES[key]))
        for key in ("no scale", "scale by d", "wrong axis", "mask inverted", "mask ignored")
    ],
)


# ------------------------------------------------------------------ the KV cache's size


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
        Mistake("bytes_per_element is fixed at 2: use the argument, it is 4 for float32 (2 is only its default)", lambda n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=2: 2 * n_layers * n_kv_heads * head_dim * seq_len * batch * 2),
        Mistake("the default should be fp16, 2 bytes per element", lambda n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=4: 2 * n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_element),
    ],
)


# ------------------------------------------------------------------ tiled attention


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
            return flops.count_matmul_flops(candidate, **inputs, block_size=WORK_BLOCK, causal=causal)
    except (Exception, SystemExit, TookTooLong):  # the learner's code: its verdict comes from the cases
        return None


def skip_note(candidate: Callable[..., object], budget: float = WORK_BUDGET_S) -> str:
    """Return a sentence saying whether ``candidate`` skips the key tiles wholly in the future, as counted.

    The FLOPs of its matrix products are counted with causal=False and causal=True on random
    (WORK_N, WORK_D) inputs in tiles of WORK_BLOCK (``flops.count_matmul_flops``: an exact count,
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


# ------------------------------------------------------------------ KV cache: MHA against GQA and MQA


def _cache_ratios(numerator=model_configs.LLAMA2_70B_MHA) -> list[float]:
    """Return [cache of ``numerator`` / cache of GQA 70B, cache of ``numerator`` / cache of MQA 70B]."""
    per_token = numerator.kv_cache_bytes()
    return [per_token / model_configs.LLAMA2_70B.kv_cache_bytes(), per_token / model_configs.LLAMA2_70B_MQA.kv_cache_bytes()]


kv_cache_shrink = Prediction(
    name="kv_cache_shrink",
    notebook="08",
    summary=(
        "predict how many times smaller the KV cache of Llama 2 70B's shape (64 query heads) is with 8 "
        "key/value heads (GQA) and with 1 (MQA) than with 64 (MHA)"
    ),
    expected=_cache_ratios,
    tolerance=0.05,
    explain=(
        "the cache holds one key and one value vector per key/value head, so it is proportional to "
        "n_kv_heads: 64 / 8 = 8 times smaller with GQA, 64 / 1 = 64 times smaller with MQA; the number of "
        "query heads does not enter"
    ),
    wrong=[
        (lambda: [1 / r for r in _cache_ratios()], "those are the fractions that remain (GQA's cache over MHA's): the question asks how many times *smaller*, MHA's cache divided by the other"),
        (lambda: [1 - 1 / r for r in _cache_ratios()], "those are the fractions saved; the question asks how many times smaller the cache gets, MHA's cache divided by the other"),
        (lambda: list(reversed(_cache_ratios())), "the two are swapped: GQA keeps 8 key/value heads (8 times fewer than 64), MQA keeps 1 (64 times fewer)"),
        (lambda: [_cache_ratios()[0], _cache_ratios()[0]], "GQA's factor is right; MQA keeps a single key/value head for all 64 query heads, 64 times fewer than MHA"),
        (lambda: [1.0, 1.0], "the number of query heads does not change, but the cache stores keys and values only, one pair per key/value head: fewer key/value heads, smaller cache"),
    ],
)


# ------------------------------------------------------------------ sliding windows: the receptive field

#: the question of sliding_window_reach: a window of 4 positions (the token itself included), 3 layers
REACH_WINDOW, REACH_LAYERS = 4, 3


def reachable(n: int, window: int, n_layers: int) -> np.ndarray:
    """Return the bool (n, n) matrix: [i, j] is True when input position j can reach position i after n_layers.

    One layer of sliding-window attention lets position i read positions j with
    ``sliding_window_mask(n, window)[i, j]``; stacking layers composes these one-step links, so
    the reachability after L layers is the L-th boolean matrix power of the mask.
    """
    mask = masks.sliding_window_mask(n, window).astype(np.int64)
    reach = np.eye(n, dtype=np.int64)
    for _ in range(n_layers):
        reach = (mask @ reach > 0).astype(np.int64)
    return reach.astype(bool)


def reach_back(window: int, n_layers: int) -> int:
    """Return how many positions back the last token of layer ``n_layers`` can read, by reachability."""
    n = n_layers * window + 2  # long enough for the reach not to hit position 0
    row = reachable(n, window, n_layers)[-1]
    return int(n - 1 - np.argmax(row))  # the first True in the last row is the farthest position


sliding_window_reach = Prediction(
    name="sliding_window_reach",
    notebook="08",
    summary=(
        f"predict how many positions back a token can read after {REACH_LAYERS} layers of sliding-window "
        f"attention with a window of {REACH_WINDOW} (the token itself included)"
    ),
    expected=lambda: reach_back(REACH_WINDOW, REACH_LAYERS),
    tolerance=0.2,
    explain=(
        f"one layer reaches window - 1 = {REACH_WINDOW - 1} positions back, and each further layer reads "
        f"tokens that have already read {REACH_WINDOW - 1} further back: {REACH_LAYERS} x {REACH_WINDOW - 1} = "
        f"{REACH_LAYERS * (REACH_WINDOW - 1)}"
    ),
    wrong=[
        (lambda: REACH_LAYERS * REACH_WINDOW, f"a window of {REACH_WINDOW} holds the token itself and only {REACH_WINDOW - 1} before it, so each layer reaches {REACH_WINDOW - 1} positions further back, not {REACH_WINDOW}"),
        (lambda: REACH_LAYERS * (REACH_WINDOW - 1) + 1, "that counts the positions the token can read, itself included; the question asks how far back the farthest one is"),
        (lambda: REACH_WINDOW - 1, "that is the reach of one layer; each further layer reads tokens that already saw window - 1 further back, so the reach adds up over the layers"),
        (lambda: REACH_WINDOW, "that is the size of one window; stacking layers lets the reach grow by window - 1 per layer"),
        (lambda: REACH_WINDOW**REACH_LAYERS, "the reach adds up layer by layer (window - 1 more per layer); it does not multiply"),
        (lambda: (REACH_WINDOW - 1) ** REACH_LAYERS, "the reach adds up layer by layer (window - 1 more per layer); it does not multiply"),
    ],
)
