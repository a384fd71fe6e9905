"""The one-page cheat sheet of notebook 09: formula, shapes, masks, variants and costs, all computed.

Every shape and number on the page comes from running attnlib (and PyTorch, for its mask
conventions) on tiny inputs while the page is drawn, so the sheet cannot drift from the library:
``sheet_facts()`` computes them, ``cheatsheet_figure()`` draws the page (an A4 landscape
matplotlib Figure), ``export(directory)`` writes cheatsheet.pdf and cheatsheet.png, the same
bytes on every run, and ``python -m attnlib.cheatsheet [--out DIR]`` regenerates the copies the
repository ships in ``cheatsheet/``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from . import cost
from .attention import scaled_dot_product_attention
from .gqa import grouped_query_attention
from .heads import merge_heads, multi_head_attention, split_heads
from .masks import causal_mask, padding_attention_mask, padding_mask, sliding_window_mask

#: where the repository keeps the shipped copies (next to the package in a clone)
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "cheatsheet"
FILES = ("cheatsheet.pdf", "cheatsheet.png")

#: the tiny sizes the shape table is computed with; every axis of one array has its own size
SIZES: dict[str, int] = {"b": 2, "h": 8, "h_kv": 4, "n": 6, "n_q": 5, "n_k": 7, "d_model": 24, "d_head": 3, "d_k": 3, "d_v": 4}

#: the masks drawn on the sheet: n tokens, a window, and the lengths of a padded batch
MASK_N, MASK_WINDOW, MASK_LENGTHS = 6, 3, (6, 4)

#: the model the costs are computed for: the shape of Llama 2 7B (Touvron et al., 2023)
COST_MODEL: dict[str, int] = {"n_layers": 32, "n_heads": 32, "head_dim": 128, "n": 4096, "window": 1024, "bytes": 2}
#: grouped-query and multi-query variants of it: key/value heads
GQA_KV_HEADS, MQA_KV_HEADS = 8, 1
#: a real model's KV cache per token: Llama 2 70B, 80 layers, 8 KV heads of 128 (Touvron et al., 2023)
LLAMA2_70B = {"n_layers": 80, "n_kv_heads": 8, "head_dim": 128}
#: Mistral 7B's sliding window, in tokens (Jiang et al., 2023)
MISTRAL_WINDOW = 4096

PAGE = (11.69, 8.27)  # A4 landscape, inches
DPI_PNG = 150
MIN_FONT = 7.0
INK = "#1d1d2b"
ACCENT = "#31688e"  # viridis(0.35)
MUTED = "#55556a"
SHADE = "#eef1f6"
MONO = "DejaVu Sans Mono"
SANS = "DejaVu Sans"

_RC = {
    "font.family": SANS,
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 3,  # glyphs drawn by matplotlib itself (42 would subset through fontTools, not pinned)
    "pdf.compression": 6,
    "axes.linewidth": 0.6,
    "savefig.facecolor": "white",
    # no hinting: text widths then scale exactly with the dpi, so what is measured at 100 dpi fits at 150
    "text.hinting": "no_hinting",
}


# ============================================================================ computed facts


def shape_text(spec: Sequence[str], shape: Sequence[int], sizes: dict[str, int] | None = None) -> str:
    """Return e.g. "(b, h, n_q, n_k) = (2, 8, 5, 7)" after checking the spec against the real shape.

    spec: one symbol (a key of ``sizes``) or a digit string per axis; shape: the shape attnlib
    returned. Raises ValueError when they disagree, so the sheet can never show a stale shape.
    """
    sizes = SIZES if sizes is None else sizes
    try:
        from_spec = tuple(int(s) if s.isdigit() else sizes[s] for s in spec)
    except KeyError as exc:
        raise ValueError(f"unknown size {exc.args[0]!r} in the shape spec {tuple(spec)}") from None
    shape = tuple(int(s) for s in shape)
    if from_spec != shape:
        raise ValueError(
            f"the sheet says ({', '.join(spec)}) = {from_spec}, but the library returned {shape}: "
            "update the spec in attnlib/cheatsheet.py"
        )
    return f"({', '.join(spec)}) = ({', '.join(str(s) for s in shape)})"


def spec_text(spec: Sequence[str], shape: Sequence[int], sizes: dict[str, int] | None = None) -> str:
    """Return e.g. "(b, n_k)": the symbolic half of ``shape_text``, checked the same way."""
    return shape_text(spec, shape, sizes).split(" = ")[0]


@dataclass
class ShapeRow:
    """One row of the shape table: the call and four cells 'name (spec) = (sizes)' (or a word)."""

    call: str
    queries: str
    keys_values: str
    weights: str
    out: str

    def cells(self) -> list[str]:
        return [self.call, self.queries, self.keys_values, self.weights, self.out]


@dataclass
class Facts:
    """Everything the sheet shows, computed: shapes, mask pictures, conventions and costs."""

    shapes: list[ShapeRow]
    agree_with_torch: bool
    blocked_row: dict[str, str]
    masks: list[tuple[str, str, str, np.ndarray]]
    conventions: list[tuple[str, str, str, str]]
    conversion_checked: bool
    variants: list[tuple[str, ...]]
    notes: list[str]
    notes_formula: str
    numbers: dict[str, float] = field(default_factory=dict)


def _cell(spec: str, array: object, name: str = "") -> str:
    """Return '[name ](spec) = (sizes)' for an array (numpy or torch), checked against its shape."""
    text = shape_text(spec.split(), tuple(array.shape))
    return f"{name} {text}" if name else text


def _rng_arrays(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _torch(*arrays: np.ndarray):
    import torch

    return [torch.from_numpy(a) for a in arrays]


def _shape_rows() -> tuple[list[ShapeRow], bool]:
    """Return the shape table, computed with attnlib and PyTorch, and whether the two agree numerically."""
    import torch
    import torch.nn.functional as F

    S = SIZES
    b, h, h_kv, n, n_q, n_k, d_model, d_head, d_k = (S[k] for k in ("b", "h", "h_kv", "n", "n_q", "n_k", "d_model", "d_head", "d_k"))
    rows: list[ShapeRow] = []
    agree = True

    d_v = S["d_v"]
    q, k, v = _rng_arrays(1, (b, n_q, d_k), (b, n_k, d_k), (b, n_k, d_v))
    out, w = scaled_dot_product_attention(q, k, v)
    agree &= bool(np.allclose(out, F.scaled_dot_product_attention(*_torch(q, k, v)).numpy()))
    assert v.shape[:-1] == k.shape[:-1]  # v: (b, n_k, d_v), one value per key
    rows.append(ShapeRow("scaled_dot_product_attention(q, k, v)", _cell("b n_q d_k", q, "q"),
                         _cell("b n_k d_k", k, "k") + f"; v: d_v = {v.shape[-1]}",
                         _cell("b n_q n_k", w), _cell("b n_q d_v", out)))

    (x,) = _rng_arrays(2, (b, n, d_model))
    heads = split_heads(x, h)
    agree &= bool(np.array_equal(merge_heads(heads), x))
    rows.append(ShapeRow("split_heads(x, h);  merge_heads undoes it", _cell("b n d_model", x, "x"), "", "", _cell("b h n d_head", heads)))

    W_q, W_k, W_v, W_o = _rng_arrays(3, *[(d_model, d_model)] * 4)
    out, w = multi_head_attention(x, x, W_q, W_k, W_v, W_o, h)
    rows.append(ShapeRow("multi_head_attention(x, x, W_q, W_k, W_v, W_o, h)", _cell("b n d_model", x, "x"), "the same x",
                         _cell("b h n n", w), _cell("b n d_model", out)))

    x_q, x_kv = _rng_arrays(4, (b, n_q, d_model), (b, n_k, d_model))
    out, w = multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, h)
    rows.append(ShapeRow("multi_head_attention(x_q, x_kv, ...)  cross", _cell("b n_q d_model", x_q, "x_q"), _cell("b n_k d_model", x_kv, "x_kv"),
                         _cell("b h n_q n_k", w), _cell("b n_q d_model", out)))

    # PyTorch's layer with the same weights (x @ W in attnlib is x W^T in torch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mha = torch.nn.MultiheadAttention(d_model, h, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_q.T, W_k.T, W_v.T])))
        mha.out_proj.weight.copy_(torch.from_numpy(W_o.T))
        xq_t, xkv_t = _torch(x_q, x_kv)
        out_t, w_mean = mha(xq_t, xkv_t, xkv_t)
        _, w_heads = mha(xq_t, xkv_t, xkv_t, average_attn_weights=False)
    agree &= bool(np.allclose(out_t.numpy(), out)) and bool(np.allclose(w_heads.numpy(), w))
    agree &= bool(np.allclose(w_mean.numpy(), w.mean(axis=1)))
    rows.append(ShapeRow("nn.MultiheadAttention(d_model, h, batch_first=True)", _cell("b n_q d_model", xq_t, "query"), _cell("b n_k d_model", xkv_t, "key, value"),
                         _cell("b n_q n_k", w_mean) + " mean of heads", _cell("b n_q d_model", out_t)))
    rows.append(ShapeRow("  ... called with average_attn_weights=False", "", "", _cell("b h n_q n_k", w_heads), ""))

    q, k, v = _rng_arrays(5, (b, h, n_q, d_head), (b, h, n_k, d_head), (b, h, n_k, d_head))
    out_t = F.scaled_dot_product_attention(*_torch(q, k, v))
    agree &= bool(np.allclose(out_t.numpy(), scaled_dot_product_attention(q, k, v)[0]))
    rows.append(ShapeRow("F.scaled_dot_product_attention(q, k, v)", _cell("b h n_q d_head", q, "q"), _cell("b h n_k d_head", k, "k, v"),
                         "not returned", _cell("b h n_q d_head", out_t)))

    q, k, v = _rng_arrays(6, (b, h, n, d_head), (b, h_kv, n, d_head), (b, h_kv, n, d_head))
    out, w = grouped_query_attention(q, k, v)
    agree &= bool(np.allclose(out, F.scaled_dot_product_attention(*_torch(q, k, v), enable_gqa=True).numpy()))
    rows.append(ShapeRow("grouped_query_attention(q, k, v)  GQA", _cell("b h n d_head", q, "q"), _cell("b h_kv n d_head", k, "k, v"),
                         _cell("b h n n", w), _cell("b h n d_head", out)))

    k1, v1 = k[:, :1], v[:, :1]
    out, w = grouped_query_attention(q, k1, v1)
    agree &= bool(np.allclose(out, F.scaled_dot_product_attention(*_torch(q, k1, v1), enable_gqa=True).numpy()))
    rows.append(ShapeRow("grouped_query_attention(q, k, v)  MQA", _cell("b h n d_head", q, "q"), _cell("b 1 n d_head", k1, "k, v"),
                         _cell("b h n n", w), _cell("b h n d_head", out)))
    return rows, agree


def _blocked_row() -> dict[str, str]:
    """Return what a query whose keys are all blocked gets: from attnlib, PyTorch and a plain softmax."""
    import torch
    import torch.nn.functional as F

    q, k, v = _rng_arrays(6, (3, 4), (3, 4), (3, 4))
    mask = np.ones((3, 3), dtype=bool)
    mask[1] = False
    out, w = scaled_dot_product_attention(q, k, v, mask)
    torch_out = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)), attn_mask=torch.from_numpy(mask)).numpy()
    scores = np.where(mask, q @ k.T, -np.inf)
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        plain = e / e.sum(axis=-1, keepdims=True)

    def what(row: np.ndarray) -> str:
        return "NaN" if np.isnan(row).all() else "zeros" if np.all(row == 0) else "other"

    return {"attnlib": what(w[1]), "attnlib_out": what(out[1]), "torch": what(torch_out[1]), "plain": what(plain[1])}


def _true_means() -> tuple[list[tuple[str, str, str, str]], bool]:
    """Return the conventions table, each 'True means' found by experiment, and whether ~mask converts.

    A boolean mask that is True on key 0 only: if the weight of key 0 comes out 1, True means
    "may attend"; if it comes out 0, "blocked".
    """
    import torch
    import torch.nn.functional as F

    S = SIZES
    b, h, n_q, n_k, d_model = S["b"], S["h"], S["n_q"], S["n_k"], S["d_model"]

    def meaning(weight_of_key0: np.ndarray) -> str:
        if np.allclose(weight_of_key0, 1.0):
            return "may attend"
        if np.allclose(weight_of_key0, 0.0):
            return "blocked"
        raise RuntimeError(f"a mask True on key 0 gave key 0 the weights {weight_of_key0}")

    only0 = np.zeros((n_q, n_k), dtype=bool)
    only0[:, 0] = True
    q, k = _rng_arrays(7, (b, n_q, 3), (b, n_k, 3))
    eye = np.broadcast_to(np.eye(n_k), (b, n_k, n_k)).copy()  # values = one-hot keys: out = weights
    _, w = scaled_dot_product_attention(q, k, eye, only0)
    attnlib_means = meaning(w[..., 0])
    sdpa_w = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, eye)), attn_mask=torch.from_numpy(only0)).numpy()
    sdpa_means = meaning(sdpa_w[..., 0])
    float_mask = torch.from_numpy(np.where(only0, 0.0, -np.inf))  # 0 on key 0, -inf elsewhere
    sdpa_float = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, eye)), attn_mask=float_mask).numpy()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mha = torch.nn.MultiheadAttention(d_model, h, bias=False, batch_first=True, dtype=torch.float64)
    x_q, x_kv = (torch.from_numpy(a) for a in _rng_arrays(8, (b, n_q, d_model), (b, n_k, d_model)))
    attn_mask = torch.from_numpy(only0)
    heads_mask = torch.from_numpy(np.broadcast_to(only0, (b * h, n_q, n_k)).copy())
    key_padding = torch.from_numpy(np.broadcast_to(only0[0], (b, n_k)).copy())
    with torch.no_grad():
        _, w_attn = mha(x_q, x_kv, x_kv, attn_mask=~attn_mask)  # True on keys 1..: if True = blocked, key 0 gets all
        _, w_heads = mha(x_q, x_kv, x_kv, attn_mask=~heads_mask)
        _, w_pad = mha(x_q, x_kv, x_kv, key_padding_mask=~key_padding)
        _, w_float = mha(x_q, x_kv, x_kv, attn_mask=float_mask)
    # we passed ~only0: key 0 gets weight 1 exactly when True means blocked
    flip = {"may attend": "blocked", "blocked": "may attend"}
    mha_attn_means = flip[meaning(w_attn.numpy()[..., 0])]
    mha_heads_means = flip[meaning(w_heads.numpy()[..., 0])]
    mha_pad_means = flip[meaning(w_pad.numpy()[..., 0])]
    if mha_attn_means != mha_heads_means:
        raise RuntimeError("nn.MultiheadAttention read its 2-D and 3-D attn_mask differently")
    both_add = meaning(sdpa_float[..., 0]) == meaning(w_float.numpy()[..., 0]) == "may attend"
    float_means = "added to scores" if both_add else "not the same in both"

    # the conversion: the same causal + padding rule through both doors gives the same output
    n = S["n"]
    causal = torch.from_numpy(causal_mask(n))
    keep = torch.from_numpy(padding_mask([n, n - 2], n))
    x = torch.from_numpy(_rng_arrays(9, (b, n, d_model))[0])
    with torch.no_grad():
        out_mha, w_mha = mha(x, x, x, attn_mask=~causal, key_padding_mask=~keep, average_attn_weights=False)
        Wq, Wk, Wv = mha.in_proj_weight.chunk(3)
        split = lambda t: t.reshape(b, n, h, d_model // h).transpose(1, 2)  # noqa: E731
        heads = F.scaled_dot_product_attention(split(x @ Wq.T), split(x @ Wk.T), split(x @ Wv.T), attn_mask=causal & keep[:, None, None, :])
        out_sdpa = mha.out_proj(heads.transpose(1, 2).reshape(b, n, d_model))
    Wq, Wk, Wv, Wo = (t.detach().numpy() for t in (Wq, Wk, Wv, mha.out_proj.weight))
    rule = (causal_mask(n) & padding_mask([n, n - 2], n)[:, None, :])[:, None]  # (b, 1, n, n), True = may attend
    _, w_ref = multi_head_attention(x.numpy(), x.numpy(), Wq.T, Wk.T, Wv.T, Wo.T, h, rule)
    converted = bool(torch.allclose(out_mha, out_sdpa)) and bool(np.allclose(w_mha.numpy(), w_ref))

    table = [
        ("attnlib", "mask", attnlib_means, "(..., n_q, n_k), broadcast"),
        ("F.scaled_dot_product_attention", "attn_mask", sdpa_means, "(b, h, n_q, n_k), broadcast"),
        ("nn.MultiheadAttention", "attn_mask", mha_attn_means,
         spec_text("n_q n_k".split(), attn_mask.shape) + " or " + spec_text(["b*h", "n_q", "n_k"], heads_mask.shape, {**S, "b*h": b * h})),
        ("nn.MultiheadAttention", "key_padding_mask", mha_pad_means, spec_text("b n_k".split(), key_padding.shape)),
        ("both torch APIs", "float mask", float_means, "0 keeps, -inf blocks"),
    ]
    return table, converted


def _mask_pictures() -> list[tuple[str, str, str, np.ndarray]]:
    """Return (title, rule, shape, mask) for the small masks drawn on the sheet, each shape checked."""
    n, w = MASK_N, MASK_WINDOW
    lengths = list(MASK_LENGTHS)
    short = lengths[1]
    sizes = {"n": n, "b": len(lengths), "w": w}
    causal = causal_mask(n)
    window = sliding_window_mask(n, w)
    keep = padding_mask(lengths, n)
    pad = padding_attention_mask(lengths, n)[1]
    both = causal & pad
    total = n * n

    def allowed(mask: np.ndarray) -> str:
        return f"{int(mask.sum())}/{total} allowed"

    return [
        (f"causal_mask({n})", f"j <= i: {allowed(causal)}", "bool " + shape_text(["n", "n"], causal.shape, sizes), causal),
        (f"padding_mask({lengths}, {n})", f"length {short}, j < {short}: {allowed(pad)}", "bool " + shape_text(["b", "n"], keep.shape, sizes), pad),
        (f"sliding_window_mask({n}, {w})", f"i-{w} < j <= i: {allowed(window)}", "bool " + shape_text(["n", "n"], window.shape, sizes), window),
        ("causal & padding", f"both rules: {allowed(both)}", "combine masks with & and |", both),
    ]


def _allowed_pairs(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def human_bytes(b: float) -> str:
    """Return a byte count as e.g. '512 MiB', '1.5 KiB' or '2 GiB' (1 KiB = 1024 bytes)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:,.0f} {unit}" if unit == "bytes" or b == int(b) else f"{b:.1f} {unit}"
        b /= 1024
    raise AssertionError("unreachable")


def _flops(x: float) -> str:
    return f"{x / 1e9:.3g} GFLOP"


def _variants() -> tuple[list[tuple[str, ...]], list[str], str, dict[str, float]]:
    """Return the variants table with its costs (from attnlib.cost and attnlib's masks), its notes,
    the formula panel's line on the cost of heads, and the raw numbers."""
    M = COST_MODEL
    L, h, d, n, w, by = M["n_layers"], M["n_heads"], M["head_dim"], M["n"], M["window"], M["bytes"]
    per_head_full = cost.attention_flops(n, d)  # 4 n^2 d, all n^2 pairs

    def layer_flops(allowed_pairs: int) -> int:
        # 4 d per allowed (query, key) pair and head: attention_flops scaled to the allowed share
        return h * per_head_full * allowed_pairs // (n * n)

    full = n * n
    causal = _allowed_pairs(causal_mask(n))
    window = _allowed_pairs(sliding_window_mask(n, w))

    def cache(kv_heads: int, tokens: int = n) -> float:
        return cost.kv_cache_bytes(L, kv_heads, d, tokens, batch=1, bytes_per_element=by)

    def keys(pairs: int, upper: int | None = None) -> str:
        avg = pairs / n
        text = f"{avg:,.0f}" if avg == int(avg) else f"avg {avg:,.1f}"
        return f"<= {upper:,}, {text}" if upper is not None else text

    numbers = {
        "flops_full": layer_flops(full), "flops_causal": layer_flops(causal), "flops_window": layer_flops(window),
        "cache_mha": cache(h), "cache_gqa": cache(GQA_KV_HEADS), "cache_mqa": cache(MQA_KV_HEADS), "cache_window": cache(h, min(n, w)),
        "score_bytes": cost.attention_score_bytes(n, by),
        "llama2_70b_per_token": cost.kv_cache_bytes(**LLAMA2_70B, seq_len=1),
    }
    group = h // GQA_KV_HEADS
    rows = [
        ("self, bidirectional", "X -> X", "padding only", "encoders: BERT, T5's encoder", keys(full), _flops(numbers["flops_full"]), "none (no generation)"),
        (f"causal self, MHA (h_kv = {h})", "X -> X, itself and earlier", "causal_mask", "decoders: GPT", keys(causal), _flops(numbers["flops_causal"]), human_bytes(numbers["cache_mha"])),
        ("cross", "decoder -> encoder output", "source padding", "T5's decoder", keys(full) + " (n_k = n)", _flops(numbers["flops_full"]), human_bytes(numbers["cache_mha"]) + " (source K, V)"),
        (f"sliding window, w = {w:,}", "X -> X, the last w", "sliding_window_mask", f"Mistral 7B (w = {MISTRAL_WINDOW:,})", keys(window, w), _flops(numbers["flops_window"]), human_bytes(numbers["cache_window"]) + " (w tokens)"),
        (f"GQA, h_kv = {GQA_KV_HEADS}", f"{group} query heads share a K/V head", "causal_mask", "Llama 2 70B", keys(causal), _flops(numbers["flops_causal"]), human_bytes(numbers["cache_gqa"])),
        (f"MQA, h_kv = {MQA_KV_HEADS}", f"all {h} query heads share one", "causal_mask", "proposed: Shazeer (2019)", keys(causal), _flops(numbers["flops_causal"]), human_bytes(numbers["cache_mqa"])),
    ]
    growth_flops = cost.attention_flops(2 * n, d) / cost.attention_flops(n, d)
    growth_scores = cost.attention_score_bytes(2 * n, by) / cost.attention_score_bytes(n, by)
    growth_cache = cache(h, 2 * n) / cache(h, n)
    notes = [
        f"FLOPs = h x attention_flops(n, d_head), counting only the allowed (query, key) pairs.   A stored score matrix takes "
        f"attention_score_bytes({n:,}, {by}) = {human_bytes(numbers['score_bytes'])} per head and layer.",
        f"Doubling n: FLOPs x{growth_flops:g}, score memory x{growth_scores:g}, KV cache x{growth_cache:g}.   "
        "GQA and MQA shrink the cache, not the FLOPs; a window shrinks both; tiling (FlashAttention) stores no scores.",
        f"A real model: Llama 2 70B ({LLAMA2_70B['n_layers']} layers, {LLAMA2_70B['n_kv_heads']} KV heads of {LLAMA2_70B['head_dim']}) "
        f"caches kv_cache_bytes({LLAMA2_70B['n_layers']}, {LLAMA2_70B['n_kv_heads']}, {LLAMA2_70B['head_dim']}, 1) = "
        f"{human_bytes(numbers['llama2_70b_per_token'])} per token in fp16.",
    ]
    d_model = h * d
    heads_flops, one_flops = h * cost.attention_flops(n, d), cost.attention_flops(n, d_model)
    same = "the same as" if heads_flops == one_flops else "unlike"
    formula_note = f"Cost: {h} heads of {d} take {_flops(heads_flops)} at n = {n:,}, {same} one head of {d_model:,}."
    return rows, notes, formula_note, numbers


def sheet_facts() -> Facts:
    """Return every fact the sheet shows, computed now with attnlib (and PyTorch for its conventions)."""
    shapes, agree = _shape_rows()
    conventions, converted = _true_means()
    variants, notes, formula_note, numbers = _variants()
    return Facts(
        shapes=shapes,
        agree_with_torch=agree,
        blocked_row=_blocked_row(),
        masks=_mask_pictures(),
        conventions=conventions,
        conversion_checked=converted,
        variants=variants,
        notes=notes,
        notes_formula=formula_note,
        numbers=numbers,
    )


# ============================================================================ drawing


class _Page:
    """Places text on a figure in inches measured from the page's top-left corner."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.w, self.h = fig.get_size_inches()
        self.renderer = fig.canvas.get_renderer()

    def text(self, x: float, y: float, s: str, size: float = 8, **kw):
        kw.setdefault("color", INK)
        kw.setdefault("va", "baseline")
        return self.fig.text(x / self.w, 1 - y / self.h, s, fontsize=max(size, MIN_FONT), **kw)

    def width(self, s: str, size: float, **kw) -> float:
        """Return the width in inches that ``s`` takes at ``size`` points."""
        t = self.fig.text(0, 0, s, fontsize=size, **kw)
        width = t.get_window_extent(self.renderer).width / self.fig.dpi
        t.remove()
        return width

    def rect(self, x: float, y: float, w: float, h: float, **kw) -> None:
        kw.setdefault("linewidth", 0)
        self.fig.add_artist(Rectangle((x / self.w, 1 - (y + h) / self.h), w / self.w, h / self.h,
                                      transform=self.fig.transFigure, **kw))

    def rule(self, x: float, y: float, w: float, color: str = ACCENT, lw: float = 1.0) -> None:
        self.fig.add_artist(Line2D([x / self.w, (x + w) / self.w], [1 - y / self.h] * 2,
                                   transform=self.fig.transFigure, color=color, linewidth=lw))

    def heading(self, x: float, y: float, w: float, number: int, title: str, note: str = "") -> float:
        """Draw a numbered section heading with a rule under it; return the y where the content starts."""
        self.text(x, y, f"{number}  {title}", size=11, weight="bold", color=ACCENT)
        if note:
            self.text(x + w, y, note, size=7, color=MUTED, ha="right")
        self.rule(x, y + 0.07, w)
        return y + 0.07

    def table(self, x: float, y: float, width: float, header: Sequence[str], rows: Sequence[Sequence[str]],
              size: float = 7.5, mono: Sequence[bool] = (), pad: float = 0.1) -> float:
        """Draw a table that fills ``width`` inches from its first baseline at y; return the y below it.

        Columns get their natural width plus an equal share of what is left; when the text is too
        wide, the font shrinks (never below MIN_FONT) before anything could overlap.
        """
        families = [MONO if (j < len(mono) and mono[j]) else SANS for j in range(len(header))]
        while True:
            natural = [
                max(self.width(cell, size, family=families[j], weight="bold" if i == 0 else "normal")
                    for i, cell in enumerate([header[j]] + [row[j] for row in rows] ) if cell) + pad
                for j in range(len(header))
            ]
            if sum(natural) <= width or size <= MIN_FONT:
                break
            size = max(MIN_FONT, size - 0.25)
        if sum(natural) > width + 1e-9:
            raise ValueError(f"a table of the cheat sheet needs {sum(natural):.2f} in, only {width:.2f} in are free")
        spare = (width - sum(natural)) / len(natural)
        widths = [w + spare for w in natural]
        starts = [x + sum(widths[:j]) for j in range(len(widths))]
        row_h = size / 72 * 1.5
        for j, head in enumerate(header):
            self.text(starts[j] + 0.04, y, head, size=size, weight="bold", color=MUTED)
        y += 0.06
        self.rule(x, y, width, color=MUTED, lw=0.5)
        for i, row in enumerate(rows):
            top = y + 0.01 + i * row_h
            if i % 2 == 0:
                self.rect(x, top, width, row_h, facecolor=SHADE, zorder=0)
            for j, cell in enumerate(row):
                if cell:
                    self.text(starts[j] + 0.04, top + row_h * 0.7, cell, size=size, family=families[j])
        return y + 0.01 + len(rows) * row_h


def _draw_formula(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 1, "The formula")
    page.text(x + w / 2, y + 0.5,
              r"$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{Q K^{\top}}{\sqrt{d_k}} + M\right) V$",
              size=15, ha="center")
    blocked = facts.blocked_row
    if blocked["attnlib"] == blocked["torch"]:
        fully = f"A row whose keys are all blocked: {blocked['attnlib']} in attnlib and F.sdpa, {blocked['plain']} in a plain softmax."
    else:
        fully = f"A row whose keys are all blocked: {blocked['attnlib']} in attnlib, {blocked['torch']} in F.sdpa, {blocked['plain']} in a plain softmax."
    lines = [
        r"$Q K^{\top}$: one score per (query, key) pair, $(n_q, n_k)$: rows are queries, columns keys.",
        r"$1/\sqrt{d_k}$: $q \cdot k$ of unit-variance entries has variance $d_k$; scaled, it stays near 1.",
        r"$M$: 0 where the mask allows, $-\infty$ where it blocks, added before the softmax.",
        "softmax over the keys (the last axis): each row of weights is >= 0 and sums to 1.",
        r"$\cdot\, V$: each query receives a weighted average of the values; out is $(n_q, d_v)$.",
        fully,
        r"Multi-head: $\mathrm{head}_i = \mathrm{Attention}(X_q W_Q^{(i)},\, X_{kv} W_K^{(i)},\, X_{kv} W_V^{(i)})$, $i = 1 \ldots h$;",
        r"out $= [\mathrm{head}_1, \ldots, \mathrm{head}_h]\, W_O$; each head is $d_{head} = d_{model} / h$ wide.",
        facts.notes_formula,
    ]
    yy = y + 0.86
    for text in lines:
        page.text(x, yy, text, size=8)
        yy += 0.19
    check = "yes" if facts.agree_with_torch else "NO: the library and PyTorch disagree"
    page.text(x, yy + 0.03, f"Same numbers from attnlib, F.scaled_dot_product_attention and nn.MultiheadAttention: {check}",
              size=7.5, color=MUTED, style="italic")
    return yy + 0.03


def _draw_masks(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 2, "Masks", note="rows: queries i, columns: keys j.   yellow: True, may attend;  purple: False, blocked")
    cmap = matplotlib.colormaps["viridis"]
    size = 0.6
    top = y + 0.26
    colours = {True: matplotlib.colors.to_hex(cmap(1.0)), False: matplotlib.colors.to_hex(cmap(0.0))}
    # each picture gets a slot as wide as its widest line, and the gaps between slots are equal
    slots = [max(page.width(t, 7, family=MONO), page.width(r, 7), page.width(s, 7)) for t, r, s, _ in facts.masks]
    gap = (w - sum(slots)) / len(slots)
    for index, (title, rule, shape, mask) in enumerate(facts.masks):
        centre = x + gap / 2 + sum(slots[:index]) + index * gap + slots[index] / 2
        cell = size / mask.shape[1]
        for (i, j), allowed in np.ndenumerate(mask):  # vector squares: crisp in print, no raster image
            page.rect(centre - size / 2 + j * cell, top + i * cell, cell, cell, facecolor=colours[bool(allowed)],
                      edgecolor="white", linewidth=0.5)
        page.text(centre, top - 0.06, title, size=7, ha="center", family=MONO)
        page.text(centre, top + size + 0.14, rule, size=7, ha="center")
        page.text(centre, top + size + 0.27, shape, size=7, ha="center", color=MUTED)
    ty = top + size + 0.5
    page.text(x, ty, "One mask, two conventions ('True means' found by experiment: a mask True on key 0 only)", size=7.5, weight="bold")
    end = page.table(x, ty + 0.2, w, ["API", "argument", "True means", "shape"], [list(r) for r in facts.conventions], size=7.5,
                     mono=(True, True, False, False))
    ok = "same output, checked" if facts.conversion_checked else "DIFFERENT OUTPUTS: check the library"
    page.text(x, end + 0.16, "convert with ~:  mha(x, x, x, attn_mask=~causal, key_padding_mask=~keep)", size=7, family=MONO)
    page.text(x, end + 0.29, f"             == F.sdpa(q, k, v, attn_mask=causal & keep)   ({ok})", size=7, family=MONO)
    return end + 0.29


def _draw_shapes(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    S = SIZES
    note = (f"computed on b = {S['b']}, h = {S['h']}, h_kv = {S['h_kv']}, n = {S['n']}, n_q = {S['n_q']}, n_k = {S['n_k']}, "
            f"d_model = {S['d_model']}, d_head = d_k = {S['d_head']}, d_v = {S['d_v']};  leading axes broadcast: any (...) works")
    y = page.heading(x, y, w, 3, "Shapes, with batch and heads", note=note)
    header = ["call (attnlib, or torch: F. and nn.)", "queries", "keys, values", "weights", "out"]
    return page.table(x, y + 0.22, w, header, [r.cells() for r in facts.shapes], size=7.5, mono=(True, False, False, False, False))


def _draw_variants(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    M = COST_MODEL
    note = (f"{M['n_layers']} layers of {M['n_heads']} heads of {M['head_dim']}, n = {M['n']:,} tokens, fp16 "
            "(the shape of Llama 2 7B); costs from attnlib.cost")
    y = page.heading(x, y, w, 4, "Variants and what they cost", note=note)
    header = ["variant", "queries -> keys, values", "mask", "used in", "keys per query", "attention FLOPs / layer", f"KV cache, {M['n']:,} tokens"]
    end = page.table(x, y + 0.22, w, header, [list(r) for r in facts.variants], size=7.5)
    yy = end + 0.17
    for note in facts.notes:
        page.text(x, yy, note, size=7.5)
        yy += 0.16
    return yy - 0.16


def cheatsheet_figure(facts: Facts | None = None, check_layout: bool = True) -> Figure:
    """Return the one-page cheat sheet (A4 landscape) as a matplotlib Figure, drawn from ``sheet_facts()``.

    Raises ValueError when the page does not fit: a table too wide, text past the bottom or, with
    ``check_layout``, any text overlapping another or running into the margins.
    """
    facts = sheet_facts() if facts is None else facts
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=PAGE, dpi=100)
        FigureCanvasAgg(fig)
        page = _Page(fig)
        margin = 0.38
        inner = PAGE[0] - 2 * margin
        page.text(margin, 0.6, "Attention: the cheat sheet", size=18, weight="bold")
        page.text(PAGE[0] - margin, 0.43, "Every shape and number on this page was computed by attnlib when the page was drawn.",
                  size=7.5, color=MUTED, ha="right")
        page.text(PAGE[0] - margin, 0.6, "regenerate: python -m attnlib.cheatsheet  |  notebook 09 of the attention course",
                  size=7.5, color=MUTED, ha="right", family=MONO)
        left_w = 4.75
        right_x = margin + left_w + 0.4
        top = 0.95
        end_left = _draw_formula(page, facts, margin, top, left_w)
        end_right = _draw_masks(page, facts, right_x, top, PAGE[0] - margin - right_x)
        below = _draw_shapes(page, facts, margin, max(end_left, end_right) + 0.33, inner)
        below = _draw_variants(page, facts, margin, below + 0.33, inner)
        footer = PAGE[1] - 0.22
        if below > footer - 0.14:
            raise ValueError(f"the cheat sheet runs {below - footer + 0.15:.2f} in past its page")
        page.text(margin, footer,
                  "Sources: BERT, Devlin et al. (2019); GPT, Radford et al. (2018); T5, Raffel et al. (2020); MQA, Shazeer (2019); "
                  "GQA, Ainslie et al. (2023); Llama 2, Touvron et al. (2023); Mistral 7B, Jiang et al. (2023).",
                  size=7, color=MUTED)
    problems = layout_problems(fig) if check_layout else []
    if problems:
        raise ValueError("the cheat sheet's layout is broken: " + "; ".join(problems[:5]))
    return fig


def layout_problems(fig: Figure, margin: float = 0.3) -> list[str]:
    """Return what is wrong with the page's layout: text too small, off the page's margins, or overlapping.

    Measured as the PNG is drawn (at DPI_PNG, with the sheet's settings); an empty list means tidy.
    """
    import itertools

    from matplotlib.text import Text

    problems = []
    dpi = fig.get_dpi()
    with matplotlib.rc_context(_RC):
        fig.set_dpi(DPI_PNG)
        try:
            renderer = fig.canvas.get_renderer()
            width, height = fig.bbox.width, fig.bbox.height
            boxes = []
            for t in fig.findobj(Text):
                if not t.get_visible() or not t.get_text().strip():
                    continue
                box = t.get_window_extent(renderer)
                boxes.append((t.get_text(), box))
                if t.get_fontsize() < MIN_FONT:
                    problems.append(f"{t.get_text()[:40]!r} is set in {t.get_fontsize()} pt, under {MIN_FONT}")
                m = margin * DPI_PNG
                if box.x0 < m or box.x1 > width - m or box.y0 < 0.6 * m or box.y1 > height - m:
                    problems.append(f"{t.get_text()[:40]!r} runs into the page's margin")
            for (a, A), (b, B) in itertools.combinations(boxes, 2):
                if A.overlaps(B):
                    problems.append(f"{a[:40]!r} overlaps {b[:40]!r}")
        finally:
            fig.set_dpi(dpi)
    return problems


# ============================================================================ export


def export(directory: str | Path, facts: Facts | None = None, figure: Figure | None = None) -> list[Path]:
    """Write cheatsheet.pdf and cheatsheet.png into ``directory`` and return their paths.

    Draws the page from ``facts`` (default: computed now), or writes ``figure`` when given one
    made by ``cheatsheet_figure``. The files carry no dates and no version strings, so two
    exports give identical bytes.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fig = cheatsheet_figure(facts) if figure is None else figure
    pdf, png = directory / FILES[0], directory / FILES[1]
    with matplotlib.rc_context(_RC):
        fig.savefig(pdf, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                                  "Creator": "attnlib.cheatsheet", "Title": "Attention: the cheat sheet"})
        # Pillow writes the PNG (its version is pinned in requirements.txt); no Software text chunk
        fig.savefig(png, format="png", dpi=DPI_PNG, metadata={"Software": None}, pil_kwargs={"compress_level": 9})
    return [pdf, png]


def shipped_dir(start: str | Path | None = None) -> Path | None:
    """Return the folder that holds the shipped cheatsheet files, or None when there is none.

    Looks for ``cheatsheet/cheatsheet.pdf`` in ``start`` (a notebook's folder; default: the
    current one) and each folder above it, then next to the package (a clone of the course).
    """
    here = Path.cwd() if start is None else Path(start)
    for folder in [here.resolve(), *here.resolve().parents, SHIPPED_DIR.parent]:
        if (folder / "cheatsheet" / FILES[0]).is_file():
            return folder / "cheatsheet"
    return None


def main(argv: list[str] | None = None) -> int:
    """Regenerate the cheat sheet's files (by default the shipped ones, in cheatsheet/)."""
    parser = argparse.ArgumentParser(prog="python -m attnlib.cheatsheet", description=main.__doc__)
    parser.add_argument("--out", type=Path, default=SHIPPED_DIR, help="the folder to write cheatsheet.pdf and cheatsheet.png into")
    args = parser.parse_args(argv)
    for path in export(args.out):
        try:
            path = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            pass  # outside the current folder: say where
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
