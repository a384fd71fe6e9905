"""The one-page cheat sheet of notebook 09: the formula, shapes, masks, costs, RoPE, the online softmax and the traps.

A reference to print and keep beside you: formulas and symbolic shapes, not example runs. Still,
nothing on it is typed from memory. ``sheet_facts()`` runs attnlib (and PyTorch, for its
conventions and traps) on tiny inputs and collects what comes back: every shape written on the
page is checked against the shape the library returned (``shape_text``), every convention and
trap is found by experiment, every cost comes from ``attnlib.reference.cost``. ``cheatsheet_figure()`` draws
the page (an A4 landscape matplotlib Figure) and refuses to when text would overlap, run off the
page or be set under ``MIN_FONT``; ``export(directory)`` writes cheatsheet.pdf and a 200-dpi
cheatsheet.png, the same bytes on every run; ``python -m attnlib cheatsheet [--out DIR]``
regenerates the copies the repository ships in ``cheatsheet/``.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..reference import cost
from ..reference.attention import scaled_dot_product_attention
from ..reference.gqa import grouped_query_attention
from ..reference.heads import merge_heads, multi_head_attention, split_heads
from ..reference.masks import causal_mask, padding_attention_mask, padding_mask, sliding_window_mask
from ..reference.rope import apply_rope, half_order
from ..reference.tiled import tiled_attention

#: where the repository keeps the shipped copies (next to the package in a clone)
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "cheatsheet"
FILES = ("cheatsheet.pdf", "cheatsheet.png")

#: the tiny sizes every shape is computed with; every axis of one array has its own size, so a
#: swapped axis shows. The page writes only the symbols; shape_text checks them against these.
SIZES: dict[str, int] = {"b": 2, "h": 8, "h_kv": 4, "n": 6, "n_q": 5, "n_k": 7, "d_model": 24, "d_head": 3, "d_k": 3, "d_v": 4}

#: the masks drawn on the sheet: n tokens, a window, and the lengths of a padded batch
MASK_N, MASK_WINDOW, MASK_LENGTHS = 6, 3, (6, 4)

#: the model the notebook's cost table is computed for: the shape of Llama 2 7B (Touvron et al., 2023)
COST_MODEL: dict[str, int] = {"n_layers": 32, "n_heads": 32, "head_dim": 128, "n": 4096, "window": 1024, "bytes": 2}
#: grouped-query and multi-query variants of it: key/value heads
GQA_KV_HEADS, MQA_KV_HEADS = 8, 1
#: a real model's KV cache per token: Llama 2 70B, 80 layers, 8 KV heads of 128 (Touvron et al., 2023)
LLAMA2_70B = {"n_layers": 80, "n_kv_heads": 8, "head_dim": 128}
#: Mistral 7B's sliding window, in tokens (Jiang et al., 2023)
MISTRAL_WINDOW = 4096

PAGE = (11.69, 8.27)  # A4 landscape, inches
DPI_PNG = 200
MIN_FONT = 8.0
BODY = 8.5
INK = "#1d1d2b"
ACCENT = "#31688e"  # viridis(0.35)
MUTED = "#4a4a5e"
SHADE = "#eef1f6"
MONO = "DejaVu Sans Mono"
SANS = "DejaVu Sans"
LEADING, ROW = 1.3, 1.42  # line spacing of text and of table rows, in font sizes
#: the two colours of a boolean mask: viridis' ends, with a legend on the page
ALLOWED, BLOCKED = "#fde725", "#440154"

_RC = {
    "font.family": SANS,
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 3,  # glyphs drawn by matplotlib itself (42 would subset through fontTools, not pinned)
    "pdf.compression": 6,
    "axes.linewidth": 0.6,
    "savefig.facecolor": "white",
    # no hinting: text widths then scale exactly with the dpi, so what is measured at 100 dpi fits at 200
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


def spec_text(spec: Sequence[str], shape: Sequence[int], sizes: dict[str, int] | None = None, lead: bool = False) -> str:
    """Return e.g. "(b, n_k)": the symbolic half of ``shape_text``, checked the same way.

    With ``lead`` the first axis (a batch axis of the test call) is written "...": the function
    takes any leading axes.
    """
    text = shape_text(spec, shape, sizes).split(" = ")[0]
    return "(..., " + text[1:].split(", ", 1)[1] if lead else text


@dataclass
class ShapeRow:
    """One row of the shape table: the call, what it takes, the weights it returns, its output."""

    call: str
    takes: str
    weights: str
    out: str

    def cells(self) -> list[str]:
        return [self.call, self.takes, self.weights, self.out]


@dataclass
class Trap:
    """One mistake the course teaches to avoid: what goes wrong, the fix, and whether it was seen to happen."""

    trap: str
    fix: str
    verified: bool


@dataclass
class Facts:
    """Everything the sheet shows, computed: shapes, masks, conventions, costs, RoPE, the online softmax, traps."""

    shapes: list[ShapeRow]
    agree_with_torch: bool
    blocked_row: dict[str, str]
    masks: list[tuple[str, str, str, np.ndarray]]
    conventions: list[tuple[str, str, str, str]]
    conversion_checked: bool
    variants: list[tuple[str, ...]]
    costs: list[str]
    rope: dict[str, bool]
    online: bool
    traps: list[Trap]
    numbers: dict[str, float] = field(default_factory=dict)


def _spec(spec: str, array: object, name: str = "", lead: bool = False) -> str:
    """Return '[name ](spec)' for an array (numpy or torch), checked against its shape."""
    text = spec_text(spec.split(), tuple(array.shape), lead=lead)
    return f"{name} {text}" if name else text


def _rng_arrays(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _torch(*arrays: np.ndarray):
    import torch

    return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


def _mha_layer(d_model: int, h: int):
    """Return a float64 nn.MultiheadAttention made without touching torch's global random state."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torch.nn.MultiheadAttention(d_model, h, bias=False, batch_first=True, dtype=torch.float64)


def _shape_rows() -> tuple[list[ShapeRow], bool]:
    """Return the shape table (symbols, each checked against the library's shapes) and whether attnlib and PyTorch agree."""
    import torch
    import torch.nn.functional as F

    S = SIZES
    b, h, h_kv, n, n_q, n_k, d_model, d_head, d_k, d_v = (S[k] for k in ("b", "h", "h_kv", "n", "n_q", "n_k", "d_model", "d_head", "d_k", "d_v"))
    rows: list[ShapeRow] = []
    agree = True

    q, k, v = _rng_arrays(1, (b, n_q, d_k), (b, n_k, d_k), (b, n_k, d_v))
    out, w = scaled_dot_product_attention(q, k, v)
    agree &= bool(np.allclose(out, F.scaled_dot_product_attention(*_torch(q, k, v)).numpy()))
    rows.append(ShapeRow("scaled_dot_product_attention(q, k, v, mask)",
                         f"{_spec('b n_q d_k', q, 'q', True)}, {_spec('b n_k d_k', k, 'k', True)}, {_spec('b n_k d_v', v, 'v', True)}",
                         _spec("b n_q n_k", w, lead=True), _spec("b n_q d_v", out, lead=True)))

    (x,) = _rng_arrays(2, (b, n, d_model))
    heads = split_heads(x, h)
    agree &= bool(np.array_equal(merge_heads(heads), x))
    rows.append(ShapeRow("split_heads(x, h) / merge_heads(x)", _spec("b n d_model", x, "x"), "", _spec("b h n d_head", heads) + "; back"))

    W_q, W_k, W_v, W_o = _rng_arrays(3, *[(d_model, d_model)] * 4)
    x_q, x_kv = _rng_arrays(4, (b, n_q, d_model), (b, n_k, d_model))
    out, w = multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, h)
    out_self, w_self = multi_head_attention(x, x, W_q, W_k, W_v, W_o, h)
    assert w_self.shape[-2:] == (n, n) and out_self.shape == x.shape
    rows.append(ShapeRow("multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, h)",
                         f"{_spec('b n_q d_model', x_q, 'x_q')}, {_spec('b n_k d_model', x_kv, 'x_kv')}",
                         _spec("b h n_q n_k", w), _spec("b n_q d_model", out)))

    mha = _mha_layer(d_model, h)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_q.T, W_k.T, W_v.T])))  # x @ W in attnlib is x W^T in torch
        mha.out_proj.weight.copy_(torch.from_numpy(W_o.T))
        xq_t, xkv_t = _torch(x_q, x_kv)
        out_t, w_mean = mha(xq_t, xkv_t, xkv_t)
        _, w_heads = mha(xq_t, xkv_t, xkv_t, average_attn_weights=False)
    agree &= bool(np.allclose(out_t.numpy(), out)) and bool(np.allclose(w_heads.numpy(), w))
    agree &= bool(np.allclose(w_mean.numpy(), w.mean(axis=1)))
    rows.append(ShapeRow("nn.MultiheadAttention(d_model, h, batch_first=True)", "query: x_q, key = value: x_kv",
                         f"{_spec('b n_q n_k', w_mean)} mean; {_spec('b h n_q n_k', w_heads)} *", _spec("b n_q d_model", out_t)))

    q, k, v = _rng_arrays(5, (b, h, n_q, d_head), (b, h, n_k, d_head), (b, h, n_k, d_head))
    out_t = F.scaled_dot_product_attention(*_torch(q, k, v))
    agree &= bool(np.allclose(out_t.numpy(), scaled_dot_product_attention(q, k, v)[0]))
    rows.append(ShapeRow("F.scaled_dot_product_attention(q, k, v)",
                         f"{_spec('b h n_q d_head', q, 'q')}, {_spec('b h n_k d_head', k, 'k, v')}", "not returned", _spec("b h n_q d_head", out_t)))

    q, k, v = _rng_arrays(6, (b, h, n, d_head), (b, h_kv, n, d_head), (b, h_kv, n, d_head))
    out, w = grouped_query_attention(q, k, v)
    agree &= bool(np.allclose(out, F.scaled_dot_product_attention(*_torch(q, k, v), enable_gqa=True).numpy()))
    out1, _ = grouped_query_attention(q, k[:, :1], v[:, :1])
    agree &= bool(np.allclose(out1, F.scaled_dot_product_attention(*_torch(q, k[:, :1], v[:, :1]), enable_gqa=True).numpy()))
    rows.append(ShapeRow("grouped_query_attention(q, k, v)",
                         f"{_spec('b h n d_head', q, 'q')}, {_spec('b h_kv n d_head', k, 'k, v')}", _spec("b h n n", w), _spec("b h n d_head", out)))

    (x,) = _rng_arrays(10, (b, n, d_head + 1))
    rotated = apply_rope(x, np.arange(n))
    rows.append(ShapeRow("apply_rope(x, positions)", f"{spec_text(['b', 'n', 'd'], x.shape, {**S, 'd': d_head + 1}, lead=True).replace('(', 'x (', 1)}, positions (n,)",
                         "", spec_text(["b", "n", "d"], rotated.shape, {**S, "d": d_head + 1}, lead=True)))
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
    mha = _mha_layer(4, 1)
    with torch.no_grad():
        x = torch.from_numpy(q)[None]
        _, mha_w = mha(x, x, x, attn_mask=torch.from_numpy(~mask))  # True = blocked here

    def what(row: np.ndarray) -> str:
        return "NaN" if np.isnan(row).all() else "zeros" if np.all(row == 0) else "other"

    return {"attnlib": what(w[1]), "attnlib_out": what(out[1]), "torch": what(torch_out[1]), "plain": what(plain[1]),
            "mha_weights": what(mha_w.numpy()[0, 1])}


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

    mha = _mha_layer(d_model, h)
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
    """Return (title, rule, caption, mask) for the small masks drawn on the sheet, each shape checked.

    The padding panel draws what the padding does to attention in one sequence, the (n_q, n_k)
    mask padding_attention_mask gives it: padding_mask itself is (b, n), one row per sequence.
    """
    n, w = MASK_N, MASK_WINDOW
    lengths = list(MASK_LENGTHS)
    short = lengths[1]
    sizes = {"n": n, "b": len(lengths), "w": w, "n_q": n, "n_k": n}
    causal = causal_mask(n)
    window = sliding_window_mask(n, w)
    keep = padding_mask(lengths, n)
    pad = padding_attention_mask(lengths, n)[1]
    both = causal & pad
    total = n * n

    def allowed(mask: np.ndarray) -> str:
        return f"{int(mask.sum())}/{total}"

    keep_shape = spec_text(["b", "n"], keep.shape, sizes)
    return [
        (f"causal_mask({n})", f"j <= i: {allowed(causal)}", "bool " + spec_text(["n", "n"], causal.shape, sizes), causal),
        ("padding_mask", f"{short} real tokens: {allowed(pad)}",
         f"{keep_shape}, drawn for one sequence as {spec_text(['n_q', 'n_k'], pad.shape, sizes)}", pad),
        (f"window {w}", f"i-{w} < j <= i: {allowed(window)}", "bool " + spec_text(["n", "n"], window.shape, sizes), window),
        ("causal & padding", f"both: {allowed(both)}", "combine masks with & and |", both),
    ]


def human_bytes(b: float) -> str:
    """Return a byte count as e.g. '512 MiB', '1.5 KiB' or '2 GiB' (1 KiB = 1024 bytes)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:,.0f} {unit}" if unit == "bytes" or b == int(b) else f"{b:.1f} {unit}"
        b /= 1024
    raise AssertionError("unreachable")


def _flops(x: float) -> str:
    return f"{x / 1e9:.3g} GFLOP"


def _variants() -> tuple[list[tuple[str, ...]], dict[str, float]]:
    """Return the variants table of notebook 09 (costs from attnlib.reference.cost and attnlib's masks) and the raw numbers."""
    M = COST_MODEL
    L, h, d, n, w, by = M["n_layers"], M["n_heads"], M["head_dim"], M["n"], M["window"], M["bytes"]
    per_head_full = cost.attention_flops(n, d)  # 4 n^2 d, all n^2 pairs

    def layer_flops(allowed_pairs: int) -> int:
        # 4 d per allowed (query, key) pair and head: attention_flops scaled to the allowed share
        return h * per_head_full * allowed_pairs // (n * n)

    full = n * n
    causal = int(np.count_nonzero(causal_mask(n)))
    window = int(np.count_nonzero(sliding_window_mask(n, w)))

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
    return rows, numbers


def _costs() -> tuple[list[str], dict[str, float]]:
    """Return the cost lines of the page (formulas, each checked against attnlib.reference.cost) and the numbers behind them."""
    n, d, r = 4096, 4096, 4  # any sizes: the formulas are checked against attnlib.reference.cost on them
    parts = cost.layer_flops(n, d, mlp_ratio=r)
    assert parts["attention"] == 4 * n * n * d
    assert parts["projections"] + parts["mlp"] == 24 * n * d * d
    crossover = cost.attention_crossover_n(d)
    assert crossover == 6 * d
    # causal attention needs only the allowed pairs, n(n + 1)/2 of n^2, about half: 2 n^2 d (for a
    # kernel that skips the masked ones), so it catches up with the rest at about twice the length
    causal_pairs = int(np.count_nonzero(causal_mask(64)))
    assert abs(causal_pairs / 64**2 - 0.5) < 0.01
    assert cost.layer_flops(n, d, causal=True)["attention"] == 2 * n * n * d
    causal_crossover = cost.attention_crossover_n(d, causal=True)
    L, h_kv, d_head, by = COST_MODEL["n_layers"], COST_MODEL["n_heads"], COST_MODEL["head_dim"], COST_MODEL["bytes"]
    per_token_7b = cost.kv_cache_bytes(L, h_kv, d_head, 1, bytes_per_element=by)
    assert per_token_7b == 2 * L * h_kv * d_head * by
    per_token_70b = cost.kv_cache_bytes(**LLAMA2_70B, seq_len=1)
    cache_4k = cost.kv_cache_bytes(L, h_kv, d_head, 4096)
    doubling = {
        "attention": cost.attention_flops(2 * n, d) / cost.attention_flops(n, d),
        "linear": (cost.layer_flops(2 * n, d)["projections"] + cost.layer_flops(2 * n, d)["mlp"]) / (parts["projections"] + parts["mlp"]),
        "cache": cost.kv_cache_bytes(L, h_kv, d_head, 2 * n) / cost.kv_cache_bytes(L, h_kv, d_head, n),
    }
    lines = [
        r"Per layer, $n$ tokens of width $d$ ($h$ heads of $d/h$); a multiply-add = 2 FLOPs:",
        r"  attention's two products: $4 n^2 d$   (causal, skipping the masked half: $\approx 2 n^2 d$)",
        r"  $Q, K, V, O$ projections $8 n d^2$ + MLP of width $4d$: $16 n d^2$  $=\ 24 n d^2$",
        rf"  attention = the rest at $n = {crossover / d:g}\,d$ (bidirectional), $n \approx {causal_crossover / d:g}\,d$ (causal)",
        rf"  doubling $n$: attention $\times{doubling['attention']:g}$, the rest $\times{doubling['linear']:g}$, KV cache $\times{doubling['cache']:g}$",
        r"Scores: $n^2$ numbers per head (fp16: 2 bytes each); FlashAttention never stores them.",
        r"KV cache per token: $2 \cdot L \cdot h_{kv} \cdot d_{head}$ numbers (fp16: 2 bytes each); MQA, GQA: $\div\, h / h_{kv}$",
        rf"  Llama 2 7B ($L$ = {L}, $h_{{kv}}$ = {h_kv}, $d_{{head}}$ = {d_head}, fp16): {human_bytes(per_token_7b)}; "
        rf"{human_bytes(cache_4k)} at 4,096 tokens",
        rf"  Llama 2 70B (GQA, $h_{{kv}}$ = {LLAMA2_70B['n_kv_heads']}, $L$ = {LLAMA2_70B['n_layers']}): {human_bytes(per_token_70b)} per token (Touvron et al., 2023)",
        r"Sliding window $w$: attention FLOPs $\approx 4 n w d$, cache at most $w$ tokens.",
    ]
    numbers = {"crossover": crossover / d, "causal_crossover": causal_crossover / d, "per_token_7b": per_token_7b,
               "per_token_70b": per_token_70b, "cache_4k": cache_4k, **{f"doubling_{k}": v for k, v in doubling.items()}}
    return lines, numbers


def _rope_facts() -> dict[str, bool]:
    """Return RoPE's properties, each checked numerically: scores see only the offset, the pairings agree, norms stay."""
    q, k = _rng_arrays(11, (16,), (16,))

    def score(i: int, j: int) -> float:
        return float(apply_rope(q[None], [i])[0] @ apply_rope(k[None], [j])[0])

    offset_only = np.ptp([score(3 + s, s) for s in (0, 5, 40, 300)]) < 1e-10
    x = _rng_arrays(12, (5, 16))[0]
    perm = half_order(16)
    pairings = bool(np.allclose(apply_rope(x[:, perm], np.arange(5), pairing="half"), apply_rope(x, np.arange(5))[:, perm]))
    norms = bool(np.allclose(np.linalg.norm(apply_rope(x, np.arange(5)), axis=-1), np.linalg.norm(x, axis=-1)))
    return {"offset only": bool(offset_only), "pairings agree": pairings, "norms kept": norms}


def _online_checked() -> bool:
    """Return whether attnlib.tiled_attention (the online softmax, block by block) equals full attention, causal too."""
    q, k, v = _rng_arrays(13, (37, 8), (37, 8), (37, 5))
    full = scaled_dot_product_attention(q, k, v)[0]
    causal = scaled_dot_product_attention(q, k, v, causal_mask(37))[0]
    return bool(np.allclose(tiled_attention(q, k, v, block_size=8), full)
                and np.allclose(tiled_attention(q, k, v, block_size=8, causal=True), causal))


def _traps() -> list[Trap]:
    """Return the traps of the course, each seen to happen (PyTorch and attnlib run on small inputs)."""
    import torch
    import torch.nn.functional as F

    b, h, h_kv, n, d_head = 2, 4, 2, 5, 3
    (x,) = _rng_arrays(14, (b, n, h * d_head))
    naive = x.reshape(b, h, n, d_head)
    reshape_trap = naive.shape == split_heads(x, h).shape and not np.allclose(naive, split_heads(x, h))
    right = torch.from_numpy(x).reshape(b, n, h, d_head).transpose(1, 2).numpy()
    reshape_trap &= bool(np.allclose(right, split_heads(x, h)))

    q, k, v = _torch(*_rng_arrays(15, (b, h, n, d_head), (b, h_kv, n, d_head), (b, h_kv, n, d_head)))
    reference = grouped_query_attention(q.numpy(), k.numpy(), v.numpy())[0]
    group = h // h_kv
    interleaved = F.scaled_dot_product_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)).numpy()
    tiled = F.scaled_dot_product_attention(q, k.repeat(1, group, 1, 1), v.repeat(1, group, 1, 1)).numpy()
    repeat_trap = bool(np.allclose(interleaved, reference)) and not np.allclose(tiled, reference)
    try:
        F.scaled_dot_product_attention(q, k, v)
        gqa_raises = False
    except RuntimeError:
        gqa_raises = True
    gqa_trap = gqa_raises and bool(np.allclose(F.scaled_dot_product_attention(q, k, v, enable_gqa=True).numpy(), reference))

    # is_causal=True with n_q != n_k: the mask is aligned to the top left, so one new query sees key 0 only
    one = torch.from_numpy(_rng_arrays(16, (1, 1, 1, d_head))[0])
    keys, values = (torch.from_numpy(a) for a in _rng_arrays(17, (1, 1, n, d_head), (1, 1, n, n)))
    eye_values = torch.eye(n, dtype=torch.float64)[None, None]
    weights_causal = F.scaled_dot_product_attention(one, keys, eye_values, is_causal=True).numpy()[0, 0, 0]
    weights_all = F.scaled_dot_product_attention(one, keys, eye_values).numpy()[0, 0, 0]
    causal_trap = bool(np.allclose(weights_causal, np.eye(n)[0])) and bool(np.all(weights_all > 0))

    qs = torch.from_numpy(_rng_arrays(18, (1, 1, n, 8))[0])
    default = F.scaled_dot_product_attention(qs, qs, qs)
    by_hand = torch.softmax(qs @ qs.transpose(-1, -2) / math.sqrt(8), dim=-1) @ qs
    mup = F.scaled_dot_product_attention(qs, qs, qs, scale=1 / 8)
    mup_hand = torch.softmax(qs @ qs.transpose(-1, -2) / 8, dim=-1) @ qs
    scale_trap = bool(torch.allclose(default, by_hand)) and bool(torch.allclose(mup, mup_hand))

    conventions, converted = _true_means()
    mha_blocked = dict(((api, arg), m) for api, arg, m, _ in conventions)[("nn.MultiheadAttention", "attn_mask")] == "blocked"
    return [
        Trap("x.reshape(b, h, n, d_head) gives the right shape but mixes tokens into heads",
             "x.reshape(b, n, h, d_head).transpose(1, 2)", reshape_trap),
        Trap("GQA with k.repeat(1, h/h_kv, 1, 1): query heads read key/value heads round robin",
             "k.repeat_interleave(h // h_kv, dim=1): head i reads i // (h/h_kv)", repeat_trap),
        Trap("F.scaled_dot_product_attention with fewer key/value heads than query heads raises",
             "pass enable_gqa=True", gqa_trap),
        Trap("is_causal=True with n_q != n_k aligns the mask top left: one new token (n_q = 1) sees key 0 only",
             "decoding with a cache: is_causal=False, or an explicit mask", causal_trap),
        Trap("nn.MultiheadAttention's attn_mask and key_padding_mask: True = blocked",
             "pass ~mask (attnlib and F.sdpa: True = may attend)", mha_blocked and converted),
        Trap("F.scaled_dot_product_attention scales by 1/sqrt(q.size(-1))",
             "scale=... for anything else (muP: 1/d)", scale_trap),
    ]


def sheet_facts() -> Facts:
    """Return every fact the sheet shows, computed now with attnlib (and PyTorch for its conventions and traps)."""
    shapes, agree = _shape_rows()
    conventions, converted = _true_means()
    variants, numbers = _variants()
    costs, cost_numbers = _costs()
    return Facts(
        shapes=shapes,
        agree_with_torch=agree,
        blocked_row=_blocked_row(),
        masks=_mask_pictures(),
        conventions=conventions,
        conversion_checked=converted,
        variants=variants,
        costs=costs,
        rope=_rope_facts(),
        online=_online_checked(),
        traps=_traps(),
        numbers={**numbers, **cost_numbers},
    )


# ============================================================================ drawing


class _Page:
    """Places text on a figure in inches measured from the page's top-left corner."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.w, self.h = fig.get_size_inches()
        self.renderer = fig.canvas.get_renderer()

    def text(self, x: float, y: float, s: str, size: float = BODY, **kw):
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
        """Draw a numbered section heading with a rule under it; return the y of the rule."""
        self.text(x, y, f"{number}  {title}", size=11, weight="bold", color=ACCENT)
        if note:
            self.text(x + w, y, note, size=MIN_FONT, color=MUTED, ha="right")
        self.rule(x, y + 0.07, w)
        return y + 0.07

    def lines(self, x: float, y: float, lines: Sequence[str], size: float = BODY, step: float | None = None, **kw) -> float:
        """Draw one line of text per entry, the first baseline at y; return the last baseline."""
        step = size / 72 * LEADING if step is None else step
        for i, line in enumerate(lines):
            self.text(x, y + i * step, line, size=size, **kw)
        return y + (len(lines) - 1) * step

    def table(self, x: float, y: float, width: float, header: Sequence[str], rows: Sequence[Sequence[str]],
              size: float = MIN_FONT, mono: Sequence[bool] = (), pad: float = 0.12) -> float:
        """Draw a table that fills ``width`` inches from its first baseline at y; return the y below it.

        Columns get their natural width plus an equal share of what is left. A table too wide
        for ``width`` raises ValueError: the font is never shrunk below MIN_FONT.
        """
        families = [MONO if (j < len(mono) and mono[j]) else SANS for j in range(len(header))]
        natural = [
            max(self.width(cell, size, family=families[j], weight="bold" if i == 0 else "normal")
                for i, cell in enumerate([header[j]] + [row[j] for row in rows]) if cell) + pad
            for j in range(len(header))
        ]
        if sum(natural) > width + 1e-9:
            raise ValueError(f"a table of the cheat sheet needs {sum(natural):.2f} in, only {width:.2f} in are free")
        spare = (width - sum(natural)) / len(natural)
        widths = [w + spare for w in natural]
        starts = [x + sum(widths[:j]) for j in range(len(widths))]
        row_h = size / 72 * ROW
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
                    self.text(starts[j] + 0.04, top + row_h * 0.72, cell, size=size, family=families[j])
        return y + 0.01 + len(rows) * row_h


def _draw_formula(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 1, "The formula")
    page.text(x + w / 2, y + 0.46,
              r"$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{Q K^{\top}}{\sqrt{d_k}} + M\right) V$",
              size=14, ha="center")
    blocked = facts.blocked_row
    if blocked["attnlib"] == blocked["torch"]:
        fully = (f"All keys of a row blocked: {blocked['attnlib']} in attnlib and F.sdpa (torch 2.5+), "
                 f"{blocked['plain']} in a plain softmax.")
    else:
        fully = f"All keys of a row blocked: {blocked['attnlib']} in attnlib, {blocked['torch']} in F.sdpa, {blocked['plain']} in a plain softmax."
    return page.lines(x, y + 0.8, step=0.178, lines=[
        r"$QK^{\top}$: a score per (query, key) pair, $(n_q, n_k)$: rows are queries, columns keys.",
        r"$1/\sqrt{d_k}$: $q \cdot k$ of unit-variance entries has variance $d_k$; scaled, it stays near 1.",
        r"$M$: 0 where the mask allows, $-\infty$ where it blocks, added before the softmax.",
        r"softmax over the keys (last axis): each row of weights is $\geq 0$ and sums to 1.",
        r"$\cdot\, V$: each query gets a weighted average of the values: out is $(n_q, d_v)$.",
        fully,
    ])


def _draw_masks(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 2, "Masks")
    for i, (colour, label) in enumerate(((ALLOWED, "True: may attend"), (BLOCKED, "False: blocked"))):
        lx = x + w - 2.6 + i * 1.35
        page.rect(lx, y - 0.17, 0.11, 0.11, facecolor=colour, edgecolor=MUTED, linewidth=0.4)
        page.text(lx + 0.16, y - 0.07, label, size=MIN_FONT)
    size = 0.45
    top = y + 0.28
    slots = [max(page.width(t, MIN_FONT, family=MONO), page.width(r, MIN_FONT)) for t, r, _, _ in facts.masks]
    gap = (w - sum(slots)) / len(slots)
    for index, (title, rule, _, mask) in enumerate(facts.masks):
        centre = x + gap / 2 + sum(slots[:index]) + index * gap + slots[index] / 2
        cell = size / mask.shape[1]
        for (i, j), allowed in np.ndenumerate(mask):  # vector squares: crisp in print, no raster image
            page.rect(centre - size / 2 + j * cell, top + i * cell, cell, cell, facecolor=ALLOWED if allowed else BLOCKED,
                      edgecolor="white", linewidth=0.5)
        page.text(centre, top - 0.07, title, size=MIN_FONT, ha="center", family=MONO)
        page.text(centre, top + size + 0.15, rule, size=MIN_FONT, ha="center")
    means = {(api, arg): m for api, arg, m, _ in facts.conventions}
    shapes = {(api, arg): s for api, arg, _, s in facts.conventions}
    padding_caption = facts.masks[1][2]
    return page.lines(x, top + size + 0.36, [
        "rows: queries i, columns: keys j; under each mask: the pairs it allows, of all.",
        f"padding_mask({list(MASK_LENGTHS)}, {MASK_N}) is {padding_caption}.",
        f"attnlib mask, F.sdpa attn_mask: True = {means[('attnlib', 'mask')]}, broadcast to (b, h, n_q, n_k).",
        f"nn.MultiheadAttention: True = {means[('nn.MultiheadAttention', 'attn_mask')]}, in attn_mask "
        f"{shapes[('nn.MultiheadAttention', 'attn_mask')].split(' or ')[0]} and key_padding_mask {shapes[('nn.MultiheadAttention', 'key_padding_mask')]}.",
        f"Float masks (both torch APIs): {means[('both torch APIs', 'float mask')]}, 0 keeps, $-\\infty$ blocks.",
    ], size=MIN_FONT)


def _draw_shapes(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 3, "Shapes: batch, heads, tokens, features",
                     note="(...) = any leading axes;  * with average_attn_weights=False;  every shape checked against what the library returns")
    header = ["call (attnlib; torch: F., nn.)", "takes", "weights", "returns"]
    end = page.table(x, y + 0.22, w, header, [r.cells() for r in facts.shapes], mono=(True, False, False, False))
    return page.lines(x, end + 0.2, [
        r"Multi-head: $\mathrm{head}_i = \mathrm{Attention}(X_q W_Q^{(i)}, X_{kv} W_K^{(i)}, X_{kv} W_V^{(i)})$, $i = 1 \ldots h$;  "
        r"out $= [\mathrm{head}_1, \ldots, \mathrm{head}_h]\, W_O$;  each head is $d_{head} = d_{model} / h$ wide: "
        r"$h$ heads cost the FLOPs of one of width $d_{model}$.",
    ])


def _draw_costs(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 4, "Costs")
    return page.lines(x, y + 0.22, facts.costs, size=MIN_FONT)


def _draw_rope(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 5, "RoPE", note="Su et al. (2021)")
    checked = "checked" if all(facts.rope.values()) else "NOT SO: check attnlib.reference.rope"
    return page.lines(x, y + 0.22, [
        r"pair $i$ of a query or key at position $p$ turns by $p\,\theta_i$,",
        r"$\theta_i = \mathrm{base}^{-2i/d}$, base = 10,000, $i = 0 \ldots d/2 - 1$:",
        r"$(x_{2i}, x_{2i+1}) \to (x_{2i} \cos p\theta_i - x_{2i+1} \sin p\theta_i,$",
        r"$\qquad\qquad\quad\ \ x_{2i} \sin p\theta_i + x_{2i+1} \cos p\theta_i)$",
        rf"$q_p \cdot k_r$ depends on $r - p$ only ({checked});",
        r"queries and keys only; keys are cached rotated.",
        r"interleaved $(2i, 2i{+}1)$: RoFormer, Llama; half",
        r"$(i, i{+}d/2)$: HF rotate_half; same model up to",
        rf"a permutation of the features ({checked}).",
    ], size=MIN_FONT)


def _draw_online(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 6, "Online softmax", note="Dao et al. (2022)")
    checked = "checked" if facts.online else "NOT SO: check attnlib.reference.tiled"
    return page.lines(x, y + 0.22, step=0.158, lines=[
        r"per query, a block of keys at a time",
        r"(scores $s_j$, values $v_j$); start $m = -\infty$,",
        r"$\ell = 0$, $a = 0$; for each block:",
        r"$m' = \mathrm{max}(m, \mathrm{max}\ s_j)$,   $\alpha = \exp(m - m')$",
        r"$\ell' = \alpha\,\ell + \Sigma_j \exp(s_j - m')$",
        r"$a' = \alpha\,a + \Sigma_j \exp(s_j - m')\, v_j$",
        rf"out $= a / \ell$: exact, never $n \times n$ ({checked}).",
        r"FlashAttention: a tile at a time in fast on-chip",
        r"memory; causal: skip the tiles in the future.",
    ], size=MIN_FONT)


def _draw_traps(page: _Page, facts: Facts, x: float, y: float, w: float) -> float:
    y = page.heading(x, y, w, 7, "Traps", note="each one made to happen when the page was drawn;  muP: Yang et al. (2022);  GQA: Ainslie et al. (2023)")
    rows = [[t.trap, t.fix if t.verified else "NOT REPRODUCED: check"] for t in facts.traps]
    return page.table(x, y + 0.22, w, ["what goes wrong", "do this"], rows, mono=(False, True))


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
        margin = 0.4
        inner = PAGE[0] - 2 * margin
        page.text(margin, 0.58, "Attention: the cheat sheet", size=18, weight="bold")
        page.text(PAGE[0] - margin, 0.58, "computed by attnlib when drawn  |  python -m attnlib cheatsheet  |  notebook 09",
                  size=MIN_FONT, color=MUTED, ha="right")
        gap = 0.24
        half = (inner - 0.35) / 2
        right_x = margin + half + 0.35
        top = 0.86
        end_left = _draw_formula(page, facts, margin, top, half)
        end_right = _draw_masks(page, facts, right_x, top, half)
        below = _draw_shapes(page, facts, margin, max(end_left, end_right) + gap + 0.05, inner)
        row = below + gap
        widths = (4.55, 3.1)
        xs = (margin, margin + widths[0] + 0.3, margin + widths[0] + widths[1] + 0.6)
        ends = [_draw_costs(page, facts, xs[0], row, widths[0]),
                _draw_rope(page, facts, xs[1], row, widths[1]),
                _draw_online(page, facts, xs[2], row, PAGE[0] - margin - xs[2])]
        below = _draw_traps(page, facts, margin, max(ends) + gap, inner)
        if below > PAGE[1] - 0.3 and check_layout:
            raise ValueError(f"the cheat sheet runs {below - PAGE[1] + 0.3:.2f} in past its page")
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
                                                  "Creator": "attnlib.figures.cheatsheet", "Title": "Attention: the cheat sheet"})
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
    parser = argparse.ArgumentParser(prog="python -m attnlib cheatsheet", description=main.__doc__)
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
