"""Checks for notebook 06 (multi-head attention): splitting and merging heads, multi-head attention, its cost."""
from __future__ import annotations

import numpy as np

from ..reference import attention, heads
from .harness import Case, Check, Mistake
from .predictions import Prediction


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
