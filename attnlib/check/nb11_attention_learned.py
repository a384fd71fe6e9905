"""Checks for notebook 11: RoPE, the attention sublayer of a block, and two predictions."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..reference import blocks, rope
from ..reference.gqa import grouped_query_attention
from ..reference.heads import merge_heads, split_heads
from ..reference.masks import causal_mask
from ..reference.attention import scaled_dot_product_attention
from .harness import Case, Check, Mistake
from .predictions import Prediction

# ------------------------------------------------------------------ apply_rope


def _rope_cases() -> list[Case]:
    rng = np.random.default_rng(121)
    return [
        Case("one sequence, d = 4", {"x": rng.normal(size=(5, 4)), "positions": np.arange(5)}),
        Case("a batch of heads continuing after 10 cached tokens", {"x": rng.normal(size=(2, 3, 6, 8)), "positions": np.arange(10, 16)},
             hint="the positions are given: here they start at 10 (ten tokens are already in the cache), not at 0."),
        Case("each sequence its own positions", {"x": rng.normal(size=(2, 4, 6)), "positions": rng.integers(0, 50, size=(2, 4))}),
        Case("pairing='half'", {"x": rng.normal(size=(3, 8)), "positions": np.array([0, 2, 7])}, {"pairing": "half"}),
        Case("another base", {"x": rng.normal(size=(4, 6)), "positions": np.arange(4) * 3}, {"base": 100.0}),
        Case("d = 2, one pair", {"x": rng.normal(size=(6, 2)), "positions": np.arange(6)}),
        Case("float32", {"x": rng.normal(size=(4, 8)).astype(np.float32), "positions": np.arange(4)}),
    ]


def _rope_variant(exponent=lambda i, d: 2 * i / d, rotate="right", pairing=None, positions=lambda p, n: p, base=None):
    """Return apply_rope with one known mistake."""

    def wrong(x, positions_, base_=10000.0, pairing_="interleaved"):
        x = np.asarray(x, dtype=float)
        *lead, n, d = x.shape
        p = np.broadcast_to(np.asarray(positions(np.asarray(positions_), n), dtype=float), tuple(lead) + (n,))
        theta = float(base if base is not None else base_) ** -exponent(np.arange(d // 2), d)
        angles = p[..., None] * theta
        cos, sin = np.cos(angles), np.sin(angles)
        use = pairing(pairing_) if pairing else pairing_
        x1, x2 = (x[..., 0::2], x[..., 1::2]) if use == "interleaved" else (x[..., : d // 2], x[..., d // 2:])
        if rotate == "right":
            r1, r2 = x1 * cos - x2 * sin, x1 * sin + x2 * cos
        elif rotate == "swapped":
            r1, r2 = x1 * sin - x2 * cos, x1 * cos + x2 * sin
        else:  # by -theta
            r1, r2 = x1 * cos + x2 * sin, -x1 * sin + x2 * cos
        out = np.empty_like(x)
        if use == "interleaved":
            out[..., 0::2], out[..., 1::2] = r1, r2
        else:
            out[..., : d // 2], out[..., d // 2:] = r1, r2
        return out

    return lambda x, positions, base=10000.0, pairing="interleaved": wrong(x, positions, base, pairing)


apply_rope = Check(
    name="apply_rope",
    notebook="11",
    summary="rotate each feature pair of x (..., n, d) by position * base**(-2i/d)",
    reference=rope.apply_rope,
    cases=_rope_cases,
    mistakes=[
        Mistake("the frequencies are off: theta_i = base ** (-2i / d) for pair i = 0 .. d/2 - 1; yours use -i/d "
                "(np.arange(0, d, 2) / d gives the 2i / d)", _rope_variant(exponent=lambda i, d: i / d)),
        Mistake("the frequencies are off: theta_i = base ** (-2i / d); yours divide 2i by d/2 instead of d, so the "
                "slow pairs turn far too slowly", _rope_variant(exponent=lambda i, d: 2 * i / (d / 2))),
        Mistake("sin and cos are swapped: a rotation by angle a takes (x1, x2) to (x1 cos a - x2 sin a, x1 sin a + x2 cos a)",
                _rope_variant(rotate="swapped")),
        Mistake("you rotate by -theta (the other way round): (x1, x2) goes to (x1 cos a - x2 sin a, x1 sin a + x2 cos a)",
                _rope_variant(rotate="backwards")),
        Mistake("you paired the features the other way: 'interleaved' rotates (x[..., 2i], x[..., 2i+1]), 'half' rotates "
                "(x[..., i], x[..., i + d/2])", _rope_variant(pairing=lambda p: "half" if p == "interleaved" else "interleaved")),
        Mistake("your function ignores `pairing`: with pairing='half' rotate (x[..., i], x[..., i + d/2])",
                _rope_variant(pairing=lambda p: "interleaved")),
        Mistake("your function ignores `positions` and numbers the rows 0 .. n-1 itself: use the positions it is given "
                "(with a KV cache the new rows continue after the cached ones)", _rope_variant(positions=lambda p, n: np.arange(n))),
        Mistake("your positions are off by one (position + 1): the first token sits at the position it is given, 0 for a "
                "fresh sequence, where it is not rotated at all", _rope_variant(positions=lambda p, n: p + 1)),
        Mistake("your positions are off by one (position - 1): rotate by position * theta, the position as given",
                _rope_variant(positions=lambda p, n: p - 1)),
        Mistake("your function ignores `base` and always uses 10000", _rope_variant(base=10000.0)),
    ],
    success="both pairings, any positions (a cache's too), any base, batches and float32",
)

# ------------------------------------------------------------------ the attention sublayer


def _sublayer_cases() -> list[Case]:
    rng = np.random.default_rng(122)

    def inputs(batch, n, d_model, n_heads, n_kv_heads):
        d_head = d_model // n_heads
        return {
            "x": rng.normal(size=batch + (n, d_model)) * 2 + 0.5,
            "gain": 1 + 0.2 * rng.normal(size=d_model),
            "bias": 0.1 * rng.normal(size=d_model),
            "W_q": rng.normal(size=(d_model, n_heads * d_head)) / np.sqrt(d_model),
            "W_k": rng.normal(size=(d_model, n_kv_heads * d_head)) / np.sqrt(d_model),
            "W_v": rng.normal(size=(d_model, n_kv_heads * d_head)) / np.sqrt(d_model),
            "W_o": rng.normal(size=(n_heads * d_head, d_model)) / np.sqrt(d_model),
            "n_heads": n_heads,
            "n_kv_heads": n_kv_heads,
        }

    return [
        Case("2 heads, multi-head attention", inputs((), 5, 8, 2, 2)),
        Case("4 query heads sharing 2 key/value heads (GQA), a batch", inputs((2,), 6, 16, 4, 2),
             hint="query head i reads key/value head i // (n_heads // n_kv_heads)."),
        Case("4 query heads, one key/value head (MQA)", inputs((), 4, 8, 4, 1)),
        Case("one token", inputs((), 1, 8, 2, 2)),
    ]


def _sublayer_variant(ln="pre", residual="x", causal=True, rope_on=("q", "k"), grouping="repeat",
                      scale="d_head", ddof=0, ln_axis=-1):
    """Return attention_sublayer with one known mistake."""

    def norm(x, gain, bias):
        mean = x.mean(axis=ln_axis, keepdims=True)
        var = x.var(axis=ln_axis, keepdims=True, ddof=ddof)
        return (x - mean) / np.sqrt(var + blocks.LN_EPS) * gain + bias

    def sublayer(x, gain, bias, W_q, W_k, W_v, W_o, n_heads, n_kv_heads):
        x = np.asarray(x, dtype=float)
        n, d_model = x.shape[-2:]
        h = norm(x, gain, bias) if ln == "pre" else x
        pos = np.arange(n)
        q, k, v = split_heads(h @ W_q, n_heads), split_heads(h @ W_k, n_kv_heads), split_heads(h @ W_v, n_kv_heads)
        q = rope.apply_rope(q, pos) if "q" in rope_on else q
        k = rope.apply_rope(k, pos) if "k" in rope_on else k
        v = rope.apply_rope(v, pos) if "v" in rope_on else v
        mask = causal_mask(n) if causal else None
        if grouping == "repeat" and scale == "d_head":
            heads, _ = grouped_query_attention(q, k, v, mask)
        else:
            group = n_heads // n_kv_heads
            widen = (lambda a: np.tile(a, (1,) * (a.ndim - 3) + (group, 1, 1))) if grouping == "tile" else (lambda a: np.repeat(a, group, axis=-3))
            k, v = widen(k), widen(v)
            if scale == "d_model":
                q = q * np.sqrt(q.shape[-1]) / np.sqrt(d_model)
            heads, _ = scaled_dot_product_attention(q, k, v, mask)
        out = merge_heads(heads) @ W_o
        if residual is None:
            return out
        if ln == "post":
            return norm(x + out, gain, bias)
        return (h if residual == "normalised" else x) + out

    return sublayer


attention_sublayer = Check(
    name="attention_sublayer",
    notebook="11",
    summary="x + causal self-attention (RoPE, n_kv_heads key/value heads) of LayerNorm(x), in numpy",
    reference=blocks.attention_sublayer,
    cases=_sublayer_cases,
    mistakes=[
        Mistake("the residual is missing: return x + (the attention's output); the sublayer adds to the stream, it "
                "does not replace it", _sublayer_variant(residual=None)),
        Mistake("you normalised after adding (post-LN, the original Transformer's order): this block is pre-LN, "
                "x + attention(LayerNorm(x)), so the stream x itself is never normalised", _sublayer_variant(ln="post")),
        Mistake("the LayerNorm is missing: normalise x (over its last axis, then * gain + bias) before the projections",
                _sublayer_variant(ln=None)),
        Mistake("you added the attention's output to the normalised x: add it to x itself, the residual stream "
                "(LayerNorm only feeds the attention)", _sublayer_variant(residual="normalised")),
        Mistake("the attention is not causal: block the keys after each query with attnlib.causal_mask(n)",
                _sublayer_variant(causal=False)),
        Mistake("RoPE is missing: rotate the queries and the keys by their positions (0 .. n-1) before the scores",
                _sublayer_variant(rope_on=())),
        Mistake("you rotated the values too: RoPE rotates queries and keys only (positions enter through the scores); "
                "values are mixed as they are", _sublayer_variant(rope_on=("q", "k", "v"))),
        Mistake("only the queries are rotated: rotate the keys too, so that each score sees the offset between the "
                "two positions", _sublayer_variant(rope_on=("q",))),
        Mistake("your key/value heads are grouped round robin (np.tile, torch's .repeat): query head i reads key/value "
                "head i // (n_heads // n_kv_heads), so use np.repeat (torch's repeat_interleave)", _sublayer_variant(grouping="tile")),
        Mistake("the scores are scaled by sqrt(d_model): each head is scaled by sqrt(d_head), its own width",
                _sublayer_variant(scale="d_model")),
        Mistake("your LayerNorm uses the unbiased variance (ddof=1, torch.var's default): LayerNorm divides by d, "
                "np.var's default (ddof=0)", _sublayer_variant(ddof=1)),
        Mistake("your LayerNorm normalises over the tokens (axis -2): normalise each token's vector, over the last axis",
                _sublayer_variant(ln_axis=-2)),
    ],
    success="pre-LN, RoPE on queries and keys, causal, MHA, GQA and MQA, with the residual",
)

# ------------------------------------------------------------------ predictions

#: the vectors of the RoPE prediction: one query and one key of width 8, and the positions asked about
ROPE_Q, ROPE_K = np.random.default_rng(123).normal(size=(2, 8))
ROPE_SEEN, ROPE_ASKED = (3, 0), (10, 7)


def rope_score(q_position: int, k_position: int) -> float:
    """Return the dot product of ROPE_Q rotated to q_position and ROPE_K rotated to k_position."""
    q = rope.apply_rope(ROPE_Q[None], np.array([q_position]))[0]
    k = rope.apply_rope(ROPE_K[None], np.array([k_position]))[0]
    return float(q @ k)


rope_offset_score = Prediction(
    name="rope_offset_score",
    notebook="11",
    summary=f"predict q·k after RoPE at positions {ROPE_ASKED}, given its value at positions {ROPE_SEEN}",
    expected=lambda: rope_score(*ROPE_ASKED),
    tolerance=0.01,
    explain=(f"after RoPE a score depends only on the offset between the two positions: {ROPE_ASKED[0]} - {ROPE_ASKED[1]} "
             f"= {ROPE_SEEN[0]} - {ROPE_SEEN[1]} = {ROPE_SEEN[0] - ROPE_SEEN[1]}, so it is the same score"),
    wrong=[
        (lambda: float(ROPE_Q @ ROPE_K), "that is q·k without any rotation: RoPE does change the score, but only through "
                                         "the offset between the two positions, the same here as before"),
        (lambda: rope_score(ROPE_ASKED[0], 0), "that would be the score with the key at position 0, an offset of "
                                               f"{ROPE_ASKED[0]}: here the key sits at {ROPE_ASKED[1]}"),
    ],
)

#: the evaluation data of the ablation prediction: how many sequences, and their seed
ABLATION_SEQUENCES, ABLATION_SEED = 500, 1234


@lru_cache(maxsize=1)
def ablation_accuracies() -> dict[str, float]:
    """Return the shipped model's accuracy on predictable targets: intact, without layer 1's heads, without layer 0's."""
    import torch

    from ..models.induction import accuracy, load_trained, repeat_batch

    model = load_trained()
    batch = repeat_batch(ABLATION_SEQUENCES, model.cfg, torch.Generator().manual_seed(ABLATION_SEED))
    heads = range(model.cfg.n_heads)
    return {
        "intact": accuracy(model, batch)["predictable"],
        "layer 1": accuracy(model, batch, {(1, h) for h in heads})["predictable"],
        "layer 0": accuracy(model, batch, {(0, h) for h in heads})["predictable"],
    }


ablation_accuracy = Prediction(
    name="ablation_accuracy",
    notebook="11",
    summary="predict the trained model's accuracy on the predictable tokens once all four heads of layer 1 are ablated",
    expected=lambda: ablation_accuracies()["layer 1"],
    tolerance=0.05,
    explain=("with layer 1's heads silenced, nothing in the model can find the token that followed the current one "
             "before: layer 0 brings each position only its predecessor, so the model is back to guessing, about 1 in 32"),
    wrong=[
        (lambda: ablation_accuracies()["intact"], "that is the intact model's accuracy: ablating a whole layer's heads "
                                                  "removes what they wrote into the residual stream"),
        (lambda: ablation_accuracies()["layer 0"], "that is closer to what ablating layer 0 does (its previous-token heads): "
                                                   "layer 1 holds the heads that copy, and nothing replaces them"),
    ],
)
