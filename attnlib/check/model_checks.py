"""Checks for additive attention, multi-head splitting/merging/attention and grouped-query attention."""
from __future__ import annotations

import numpy as np

from .. import additive, attention, gqa, heads
from .attention_checks import SDPA_MISTAKES
from .harness import Case, Check, Mistake

# ------------------------------------------------------------------ additive attention (notebook 05)


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
    ]


def _additive_variant(hidden, score=None, weight=None):
    """Return an additive attention in which one step is done wrongly."""

    def attn(q, k, v, W_q, W_k, w, mask=None):
        pre = (q @ W_q)[..., :, None, :] + (k @ W_k)[..., None, :, :]
        s = score(pre, w) if score else hidden(pre) @ w
        wts = weight(s, mask) if weight else attention.masked_softmax(s, mask)
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
            "and a key part, so every query ranks the keys the same way",
            _additive_variant(lambda pre: pre),
        ),
        Mistake("the tanh goes inside, before w: score = w · tanh(q W_q + k W_k)", _additive_variant(None, score=lambda pre, w: np.tanh(pre @ w))),
        Mistake("additive attention has no 1/sqrt(d) scale: use the raw score w · tanh(...)", _additive_variant(np.tanh, score=lambda pre, w: np.tanh(pre) @ w / np.sqrt(w.shape[0]))),
        Mistake(
            "your weights sum to 1 over the queries: take the softmax over the last axis, the keys",
            _additive_variant(np.tanh, weight=lambda s, m: attention.softmax(np.where(m, s, -np.inf) if m is not None else s, axis=-2)),
        ),
        Mistake("your mask is inverted: True means may attend", _additive_variant(np.tanh, weight=lambda s, m: attention.masked_softmax(s, ~m if m is not None else None))),
        Mistake("the mask is ignored: set blocked scores to -inf before the softmax", _additive_variant(np.tanh, weight=lambda s, m: attention.softmax(s))),
    ],
)

# ------------------------------------------------------------------ heads (notebook 06)


def _split_cases() -> list[Case]:
    rng = np.random.default_rng(106)
    return [
        Case("one sequence, 2 heads", {"x": rng.normal(size=(3, 4)), "n_heads": 2}),
        Case("a batch, 4 heads", {"x": rng.normal(size=(2, 5, 8)), "n_heads": 4}),
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
    ]


def _merge_no_transpose(x):
    *lead, h, n, d = np.shape(x)
    return np.reshape(x, (*lead, n, h * d))


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
        Case("a causal mask", {**inputs((), 4, 4, 8), "n_heads": 2}, {"mask": np.tril(np.ones((4, 4), dtype=bool))}),
    ]


def _mha_variant(split=heads.split_heads, scale_by_model=False, project=True, kv_from_q=False, transposed=False, invert=False):
    """Return a multi-head attention with one step done wrongly."""

    def mha(x_q, x_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
        if kv_from_q:
            x_kv = x_q
        if transposed:
            W_q, W_k, W_v, W_o = W_q.T, W_k.T, W_v.T, W_o.T
        q, k, v = split(x_q @ W_q, n_heads), split(x_kv @ W_k, n_heads), split(x_kv @ W_v, n_heads)
        s = q @ np.swapaxes(k, -1, -2) / np.sqrt(x_q.shape[-1] if scale_by_model else q.shape[-1])
        w = attention.masked_softmax(s, ~mask if (invert and mask is not None) else mask)
        merged = heads.merge_heads(w @ v) if split is heads.split_heads else np.reshape(w @ v, x_q.shape[:-1] + (-1,))
        return (merged @ W_o if project else merged), w

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
            _mha_variant(scale_by_model=True),
        ),
        Mistake("your heads were split by a reshape without the transpose, so each head mixes tokens: reshape to (..., n, n_heads, d_head), then swap axes -3 and -2", _mha_variant(split=_split_no_transpose)),
        Mistake("the output projection is missing: multiply the merged heads by W_o", _mha_variant(project=False)),
        Mistake("keys and values must come from x_kv (the other sequence in cross-attention); yours come from x_q", _mha_variant(kv_from_q=True)),
        Mistake("the weights are applied as x @ W in this course (nn.Linear stores the transpose; you used W.T)", _mha_variant(transposed=True)),
        Mistake("your mask is inverted: True means may attend", _mha_variant(invert=True)),
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
