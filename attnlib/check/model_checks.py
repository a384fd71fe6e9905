"""Checks for additive attention, multi-head splitting/merging/attention and grouped-query attention."""
from __future__ import annotations

import numpy as np

from .. import additive, attention, gqa, heads
from .attention_checks import SDPA_BLOCKED_ROW, SDPA_MISTAKES
from .harness import Case, Check, Mistake

# ------------------------------------------------------------------ additive attention (notebook 05)

from .. import scoring  # noqa: E402 (notebook 05's cost counts)
from .predictions import Prediction  # noqa: E402


def _additive_cases() -> list[Case]:
    rng = np.random.default_rng(105)

    def inputs(batch, n_q, n_k, d_q, d_k, d_h, d_v):
        return {
            "q": rng.normal(size=batch + (n_q, d_q)),
            "k": rng.normal(size=batch + (n_k, d_k)),
            "v": rng.normal(size=batch + (n_k, d_v)),
            "W_q": rng.normal(size=(d_q, d_h)),
            "W_k": rng.normal(size=(d_k, d_h)),
            "w": rng.normal(size=(d_h,)),
        }

    return [
        Case("a small example", inputs((), 3, 4, 5, 5, 6, 2)),
        Case("queries and keys of different widths", inputs((), 2, 5, 3, 4, 7, 3)),
        Case("a batch", inputs((2,), 3, 4, 4, 4, 5, 2)),
        Case("a mask", inputs((), 3, 4, 4, 4, 5, 2), {"mask": np.array([[True, True, False, False], [True, False, True, True], [False, True, True, True]])},
             hint="set blocked scores (mask False) to -inf before the softmax."),
        Case("a mask whose second row allows no key", inputs((2,), 3, 4, 4, 4, 5, 2),
             {"mask": np.array([[True, False, True, False], [False, False, False, False], [True, True, True, False]])},
             hint="a row with no allowed key must give zero weights and a zero output, as in notebook 01 "
             "(attnlib.masked_softmax does this)."),
    ]


def _additive_variant(hidden, score=None, weight=None):
    """Return an additive attention in which one step is done wrongly."""

    def attn(q, k, v, W_q, W_k, w, mask=None):
        pre = (q @ W_q)[..., :, None, :] + (k @ W_k)[..., None, :, :]
        s = score(pre, w) if score else hidden(pre) @ w
        wts = weight(s, mask) if weight else attention.masked_softmax(s, mask)
        return wts @ v, wts

    return attn


def _additive_multiplied(scaled):
    """Return attention on the dot products of the projected queries and keys, (q W_q) . (k W_k) (/ sqrt(d_h))."""

    def attn(q, k, v, W_q, W_k, w, mask=None):
        s = (q @ W_q) @ np.swapaxes(k @ W_k, -1, -2)
        wts = attention.masked_softmax(s / np.sqrt(w.shape[-1]) if scaled else s, mask)
        return wts @ v, wts

    return attn


additive_attention = Check(
    name="additive_attention",
    notebook="05",
    summary="Bahdanau's score w · tanh(q_i W_q + k_j W_k), softmax, mix the values",
    reference=additive.additive_attention,
    cases=_additive_cases,
    output="pair",
    mistakes=[
        Mistake(
            "the tanh is missing: without it the score w·(q W_q) + w·(k W_k) splits into a query part "
            "and a key part, so every query ranks the keys the same way (and, after the softmax, gets the "
            "same weights). Apply np.tanh to the (..., n_q, n_k, d_h) sum before the product with w",
            _additive_variant(lambda pre: pre),
        ),
        Mistake(
            "you applied the tanh after the product with w, tanh(w · (q W_q + k W_k)): apply it first, to "
            "each of the d_h hidden units, then take the product with w: w · tanh(q W_q + k W_k)",
            _additive_variant(None, score=lambda pre, w: np.tanh(pre @ w)),
        ),
        Mistake(
            "you summed the hidden units: weight them with w instead, tanh(...) @ w (w is the scorer's output layer)",
            _additive_variant(None, score=lambda pre, w: np.tanh(pre).sum(axis=-1)),
        ),
        Mistake(
            "you multiplied the projected query and key, (q W_q) · (k W_k): that is a dot-product score. "
            "Additive attention adds them, one hidden vector per (query, key) pair, (..., n_q, n_k, d_h), "
            "then scores it with w: w · tanh(q W_q + k W_k)",
            _additive_multiplied(scaled=False),
        ),
        Mistake(
            "you ran scaled dot-product attention on the projected queries and keys, (q W_q) · (k W_k) / sqrt(d_h). "
            "Additive attention adds them instead, one hidden vector per (query, key) pair, (..., n_q, n_k, d_h), "
            "then scores it with w, and has no scale: w · tanh(q W_q + k W_k)",
            _additive_multiplied(scaled=True),
        ),
        Mistake("additive attention has no 1/sqrt(d) scale: use the raw score w · tanh(...)", _additive_variant(np.tanh, score=lambda pre, w: np.tanh(pre) @ w / np.sqrt(w.shape[0]))),
        Mistake(
            "your weights sum to 1 over the queries: take the softmax over the last axis, the keys",
            _additive_variant(np.tanh, weight=lambda s, m: attention.softmax(np.where(m, s, -np.inf) if m is not None else s, axis=-2)),
        ),
        Mistake("your mask is inverted: True means may attend", _additive_variant(np.tanh, weight=lambda s, m: attention.masked_softmax(s, ~m if m is not None else None))),
        Mistake("the mask is ignored: set blocked scores to -inf before the softmax", _additive_variant(np.tanh, weight=lambda s, m: attention.softmax(s))),
        Mistake(
            "a query row whose mask allows no key gave NaN: give it zero weights and a zero output, "
            "as in notebook 01 (attnlib.masked_softmax does this)",
            _additive_variant(np.tanh, weight=SDPA_BLOCKED_ROW["nan"]),
        ),
        Mistake(
            "a query row whose mask allows no key got uniform weights: a large negative number instead "
            "of -inf still leaves a softmax of equal values. Such a row must get zero weights",
            _additive_variant(np.tanh, weight=SDPA_BLOCKED_ROW["uniform"]),
        ),
    ],
)

# the prediction: n = 4096 queries and keys of width d = 64, a hidden layer of d_h = 64 units
FLOPS_N, FLOPS_D, FLOPS_D_H = 4096, 64, 64


def _flops_ratio(per_hidden_unit: float, per_feature: float) -> float:
    """Return a pair-by-pair FLOPs ratio: (per_hidden_unit * d_h) / (per_feature * d), projections left out."""
    return per_hidden_unit * FLOPS_D_H / (per_feature * FLOPS_D)


additive_flops_ratio = Prediction(
    name="additive_flops_ratio",
    notebook="05",
    summary=f"predict the FLOPs of the additive score over those of the dot product (n = {FLOPS_N}, d = d_h = {FLOPS_D})",
    expected=lambda: scoring.score_flops("additive", FLOPS_N, FLOPS_N, FLOPS_D, FLOPS_D, FLOPS_D_H)
    / scoring.score_flops("dot", FLOPS_N, FLOPS_N, FLOPS_D, FLOPS_D),
    tolerance=0.06,
    explain=(
        "per (query, key) pair the dot product does d multiply-adds (2d FLOPs); the additive score does, "
        "for each of its d_h hidden units, an addition, a tanh and a multiply-add with w (4 d_h FLOPs). "
        "The projections q W_q and k W_k cost only 2 n d d_h each, not n^2: about 2x in all, the same order"
    ),
    wrong=[
        (lambda: _flops_ratio(1, 1), "the additive score does more per pair than one dot product: for each of its d_h hidden units an addition, a tanh and a multiply-add with w. Count them against the dot product's d multiply-adds"),
        (lambda: _flops_ratio(3, 2), "you left out one of the per-pair steps of the additive score: an addition (1 FLOP), a tanh (1) and a multiply-add with w (2) for each hidden unit"),
        (lambda: _flops_ratio(4, 1), "count a multiply-add as 2 FLOPs on both sides: the dot product costs 2d FLOPs per pair, not d"),
        (lambda: float(FLOPS_D_H), "the additive score is not d_h times the dot product: each pair costs about 4 d_h FLOPs against 2 d for the dot product, and here d_h = d"),
    ],
)

# ------------------------------------------------------------------ heads (notebook 06)


def _split_cases() -> list[Case]:
    rng = np.random.default_rng(106)
    return [
        Case("one sequence, 2 heads", {"x": rng.normal(size=(3, 4)), "n_heads": 2}),
        Case("a batch, 4 heads", {"x": rng.normal(size=(2, 5, 8)), "n_heads": 4}),
        Case("a batch, 3 heads of width 2", {"x": rng.normal(size=(2, 4, 6)), "n_heads": 3}),
        Case("one head", {"x": rng.normal(size=(3, 6)), "n_heads": 1}),
    ]


def _split_no_transpose(x, n_heads):
    *lead, n, d = np.shape(x)
    return np.reshape(x, (*lead, n_heads, n, d // n_heads))


def _split_no_swap(x, n_heads):
    *lead, n, d = np.shape(x)
    return np.reshape(x, (*lead, n, n_heads, d // n_heads))


def _split_columns_strided(x, n_heads):
    *lead, n, d = np.shape(x)
    return np.swapaxes(np.swapaxes(np.reshape(x, (*lead, n, d // n_heads, n_heads)), -1, -2), -3, -2)


split_heads = Check(
    name="split_heads",
    notebook="06",
    summary="(..., n, d_model) -> (..., n_heads, n, d_head)",
    reference=heads.split_heads,
    cases=_split_cases,
    mistakes=[
        Mistake(
            "you reshaped straight to (..., n_heads, n, d_head): the shape is right but each 'head' "
            "now mixes the features of different tokens. Reshape to (..., n, n_heads, d_head) first, "
            "then swap the two middle axes (np.swapaxes(x, -3, -2))",
            _split_no_transpose,
        ),
        Mistake("the head axis must come before the token axis: after the reshape to (..., n, n_heads, d_head), swap axes -3 and -2", _split_no_swap),
        Mistake("head h should hold the consecutive features h*d_head .. (h+1)*d_head - 1; yours takes every n_heads-th feature. Reshape to (..., n, n_heads, d_head), not (..., n, d_head, n_heads)", _split_columns_strided),
    ],
)


def _merge_cases() -> list[Case]:
    rng = np.random.default_rng(107)
    return [
        Case("2 heads of one sequence", {"x": rng.normal(size=(2, 3, 2))}),
        Case("a batch with 4 heads", {"x": rng.normal(size=(2, 4, 5, 3))}),
        Case("3 heads of width 4", {"x": rng.normal(size=(3, 2, 4))}),
    ]


def _merge_no_transpose(x):
    *lead, h, n, d = np.shape(x)
    return np.reshape(x, (*lead, n, h * d))


def _merge_interleaved(x):
    *lead, h, n, d = np.shape(x)
    return np.reshape(np.moveaxis(x, -3, -1), (*lead, n, h * d))


merge_heads = Check(
    name="merge_heads",
    notebook="06",
    summary="(..., n_heads, n, d_head) -> (..., n, n_heads * d_head), the inverse of split_heads",
    reference=heads.merge_heads,
    cases=_merge_cases,
    mistakes=[
        Mistake(
            "you reshaped without moving the head axis back: each row now mixes tokens. First swap to "
            "(..., n, n_heads, d_head) with np.swapaxes(x, -3, -2), then reshape to (..., n, d_model)",
            _merge_no_transpose,
        ),
        Mistake(
            "your heads' features are interleaved (head 0's first feature, head 1's first feature, ...): "
            "concatenate them instead, head 0's d_head features first. Swap to (..., n, n_heads, d_head) "
            "with np.swapaxes(x, -3, -2), not to (..., n, d_head, n_heads), then reshape",
            _merge_interleaved,
        ),
    ],
)


def _mha_cases() -> list[Case]:
    rng = np.random.default_rng(108)

    def inputs(batch, n_q, n_kv, d_model, d_out=None):
        d_out = d_out or d_model
        return {
            "x_q": rng.normal(size=batch + (n_q, d_model)),
            "x_kv": rng.normal(size=batch + (n_kv, d_model)),
            "W_q": rng.normal(size=(d_model, d_model)) / np.sqrt(d_model),
            "W_k": rng.normal(size=(d_model, d_model)) / np.sqrt(d_model),
            "W_v": rng.normal(size=(d_model, d_model)) / np.sqrt(d_model),
            "W_o": rng.normal(size=(d_model, d_out)) / np.sqrt(d_model),
        }

    self_attn = inputs((), 4, 4, 8)
    self_attn["x_kv"] = self_attn["x_q"]
    return [
        Case("self-attention, 2 heads", {**self_attn, "n_heads": 2}),
        Case("cross-attention, 4 heads, a batch", {**inputs((2,), 3, 5, 8), "n_heads": 4}),
        Case("cross-attention with a square output, 2 heads", {**inputs((), 4, 4, 6), "n_heads": 2}),
        Case("3 heads of width 2", {**inputs((), 5, 4, 6), "n_heads": 3}),
        Case("a causal mask", {**inputs((), 4, 4, 8), "n_heads": 2}, {"mask": np.tril(np.ones((4, 4), dtype=bool))}),
    ]


def _mha_variant(split=heads.split_heads, merge=heads.merge_heads, scale="d_head", project=True, kv_from_q=False,
                 transposed=False, invert=False, average=False):
    """Return a multi-head attention with one step done wrongly."""

    def mha(x_q, x_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
        if kv_from_q:
            x_kv = x_q
        if transposed:
            W_q, W_k, W_v, W_o = W_q.T, W_k.T, W_v.T, W_o.T
        q, k, v = split(x_q @ W_q, n_heads), split(x_kv @ W_k, n_heads), split(x_kv @ W_v, n_heads)
        divisor = {"d_head": np.sqrt(q.shape[-1]), "d_model": np.sqrt(x_q.shape[-1]), "none": 1.0}[scale]
        w = attention.masked_softmax(q @ np.swapaxes(k, -1, -2) / divisor, ~mask if (invert and mask is not None) else mask)
        merged = merge(w @ v) if split is heads.split_heads else np.reshape(w @ v, x_q.shape[:-1] + (-1,))
        return (merged @ W_o if project else merged), (w.mean(axis=-3) if average else w)

    return mha


multi_head_attention = Check(
    name="multi_head_attention",
    notebook="06",
    summary="project, split into heads, attend per head, merge, project out",
    reference=heads.multi_head_attention,
    cases=_mha_cases,
    output="pair",
    mistakes=[
        Mistake(
            "you scaled the scores by sqrt(d_model), the model width; each head works in "
            "d_head = d_model / n_heads dimensions, so scale by sqrt(d_head)",
            _mha_variant(scale="d_model"),
        ),
        Mistake("the scores are not scaled: divide each head's q k^T by sqrt(d_head) (scaled_dot_product_attention does it for you)", _mha_variant(scale="none")),
        Mistake("your heads were split by a reshape without the transpose, so each head mixes tokens: reshape to (..., n, n_heads, d_head), then swap axes -3 and -2", _mha_variant(split=_split_no_transpose)),
        Mistake("your heads were merged by a reshape without moving the head axis back, so each output row mixes tokens: swap axes -3 and -2, then reshape (merge_heads)", _mha_variant(merge=_merge_no_transpose)),
        Mistake("the output projection is missing: multiply the merged heads by W_o", _mha_variant(project=False)),
        Mistake("keys and values must come from x_kv (the other sequence in cross-attention); yours come from x_q", _mha_variant(kv_from_q=True)),
        Mistake("the weights are applied as x @ W in this course (nn.Linear stores the transpose; you used W.T)", _mha_variant(transposed=True)),
        Mistake("your mask is inverted: True means may attend", _mha_variant(invert=True)),
        Mistake(
            "you averaged the weights over the heads (what nn.MultiheadAttention does by default, "
            "average_attn_weights=True): return every head's weights, shape (..., n_heads, n_q, n_kv)",
            _mha_variant(average=True),
        ),
    ],
)


from .predictions import Prediction  # noqa: E402 (used by notebook 06's prediction only)

# a layer of the base Transformer's width (Vaswani et al., 2017) on a sequence of 1024 tokens
COST_N, COST_D_MODEL, COST_HEADS = 1024, 512, 8


def _layer_matmul_flops(n: int, d_model: int, n_heads: int) -> int:
    """Return the FLOPs of a self-attention layer's matrix products (a multiply-add counts 2).

    Projections: x W_q, x W_k, x W_v and the output's W_o, each (n x d) @ (d x d); per head of
    width d_head = d / h: Q K^T and weights @ V, each n * n * d_head multiply-adds.
    """
    d_head = d_model // n_heads
    return 4 * 2 * n * d_model * d_model + n_heads * 2 * 2 * n * n * d_head


def _cost_ratios(flops_heads: int, entries_heads: int) -> list[float]:
    """Return [FLOPs ratio, score-entries ratio] of 8 heads of width 64 against 1 head of width 512."""
    n, d = COST_N, COST_D_MODEL
    return [_layer_matmul_flops(n, d, flops_heads) / _layer_matmul_flops(n, d, 1), entries_heads * n * n / (n * n)]


heads_cost_ratios = Prediction(
    name="heads_cost_ratios",
    notebook="06",
    summary=f"predict how 8 heads of width 64 compare with 1 head of width 512 (n = {COST_N}): FLOPs and score entries",
    expected=lambda: _cost_ratios(COST_HEADS, COST_HEADS),
    tolerance=0.01,
    explain=(
        "the projections are the same matrices whatever the split, and each head's two products cost "
        "n * n * d_head multiply-adds, so h heads cost h * n * n * d / h: exactly the products of one wide "
        "head. But every head has its own n x n score matrix: 8 of them, 8 times the entries (and softmaxes)"
    ),
    wrong=[
        (lambda: [COST_HEADS, COST_HEADS], "not 8 times the FLOPs: each head is 8 times narrower (d_head = 64), so its products cost 8 times less than a 512-wide head's; 8 of them cost what one wide head costs"),
        (lambda: [1.0, 1.0], "the FLOPs are right, but the score matrices are not shared: each of the 8 heads computes its own n x n matrix of scores"),
        (lambda: [1 / COST_HEADS, 1.0], "1/8 is the cost of one narrow head's products; the layer runs 8 of them, and the projections are unchanged"),
        (lambda: [1.0, 1 / COST_HEADS], "the FLOPs are right, but a head's score matrix is n x n whatever its width (d_head only sets the length of each dot product), and there are 8 of them"),
    ],
)

# ------------------------------------------------------------------ grouped-query attention (notebook 08)


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
