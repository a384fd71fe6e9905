"""Attention drawn as a directed graph of tokens: who sends a message to whom (matplotlib).

Each token is a node. A weight ``w[i, j] > 0`` is an arrow from token j (the key, whose value
is sent) to token i (the query, which receives the weighted sum of the values sent to it):
attention is message passing on a directed graph, and a mask removes edges.

How the pictures read, in every function of this module:

- The background is a very light grey, the tokens are white boxes with a dark border.
- An edge's **width and opacity** grow with its weight, and a legend beside the plot shows a
  few sample weights. Small weights stay visible (thin and faint), large ones are thick and
  solid; colour does not carry the weight, so the picture needs no colour bar. A boolean
  matrix draws the bare structure (which edges exist), every edge alike.
- Tokens of one sequence sit on a horizontal line in order. An arc **above** the line carries a
  message **forward** (from an earlier token to a later one), an arc **below** carries it
  **backward** (from a later token to an earlier one), and a small loop above a token is the
  token reading itself. This holds for every row of tokens, in every picture.
- Self-attention edges (within one sequence) are blue; cross-attention edges (from one sequence
  to another) are orange, and go straight up from the source row (below) to the target row
  (above).

Functions:

- ``attention_graph``: self-attention, tokens on a line.
- ``cross_attention_graph``: queries from one sequence (the target, top row), keys and values
  from another (the source, bottom row).
- ``encoder_decoder_graph``: the encoder's self graph (bottom row, bidirectional: arcs on both
  sides), the decoder's self graph (top row) and the cross edges from every encoder node up to
  every decoder node (T5, the original Transformer).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch

BACKGROUND = "#f5f5f5"        # very light grey
SELF_COLOUR = "#0072B2"       # self-attention edges (Okabe-Ito blue)
CROSS_COLOUR = "#D55E00"      # cross-attention edges (Okabe-Ito vermillion): colour-blind safe with the blue
STRUCTURE_COLOUR = SELF_COLOUR  # kept for older callers: the edges of a boolean (structure-only) self graph
TEXT_COLOUR = "0.2"           # row captions
LEGEND_WEIGHTS = (0.05, 0.25, 0.5, 1.0)  # the sample weights the legend shows
NODE_FONT = 9                   # points
_NODE_PAD = 2.5                 # points of padding inside a node's box
_RAD = 0.55                     # arc3 curvature of a self edge: the arc rises about rad / 2 * its length
_FORWARD_RAD = _RAD             # older name
_LOOP_R = 0.14                  # radius of a self loop, data units (one unit between tokens)
_LOOP_Y = 0.2                   # height of a loop's centre above its token


def _edge_matrix(name: str, weights: object, shape: tuple[int | None, int | None]) -> tuple[np.ndarray, bool]:
    """Return (weights as float64, whether they were boolean), or raise ValueError.

    weights: (n_q, n_k) attention weights in [0, 1], or a bool matrix of which edges exist.
    ``shape`` gives the expected (n_q, n_k); None leaves a size free.
    """
    arr = np.asarray(weights)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_q, n_k) matrix, got shape {arr.shape}")
    for axis, (got, want) in enumerate(zip(arr.shape, shape)):
        if want is not None and got != want:
            raise ValueError(f"{name} has shape {arr.shape}, but axis {axis} should have {want} entries (one per label)")
    is_bool = arr.dtype == bool
    if not is_bool and not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must hold weights or booleans, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite weights in [0, 1], got NaN or inf (shape {arr.shape})")
    if arr.size and (arr.min() < 0 or arr.max() > 1 + 1e-9):
        raise ValueError(f"{name} must hold weights in [0, 1] (attention weights), got values from {arr.min():.3g} to {arr.max():.3g}")
    return arr, is_bool


def _labels(name: str, labels: Sequence[str], n: int) -> list[str]:
    """Return the labels as strings, raising ValueError unless there is one per token."""
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels for {n} tokens")
    return [str(label) for label in labels]


def _style(w: float, is_bool: bool, colour: str = SELF_COLOUR) -> dict:
    """Return the colour, opacity, line width and arrow-head size of an edge of weight w in [0, 1].

    Width and opacity both grow with the weight, from thin and faint (still visible) at a weight
    near 0 to thick and solid at 1. A structure-only (bool) edge has one fixed style.
    """
    if is_bool:
        return {"color": colour, "alpha": 0.8, "lw": 1.2, "mutation_scale": 10}
    w = float(min(max(w, 0.0), 1.0))
    return {"color": colour, "alpha": 0.22 + 0.78 * w, "lw": 0.6 + 3.4 * w, "mutation_scale": 6 + 10 * w}


def _half_size(label: str) -> tuple[float, float]:
    """Return the approximate (half-width, half-height) in points of a node's box."""
    return 0.3 * NODE_FONT * max(len(label), 1) + _NODE_PAD + 1, 0.6 * NODE_FONT + _NODE_PAD + 1


def _shrink(label: str, angle: float) -> float:
    """Return how far (points) an edge leaving/entering at ``angle`` (radians) must stop short of the node's centre."""
    half_w, half_h = _half_size(label)
    c, s = abs(np.cos(angle)), abs(np.sin(angle))
    return min(half_w / c if c > 1e-9 else np.inf, half_h / s if s > 1e-9 else np.inf) + 1.5


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], rad: float,
           start_label: str, end_label: str, style: dict, zorder: float) -> None:
    """Draw an arrow from ``start`` to ``end`` (data coordinates, equal aspect), curved by ``rad``."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    chord = np.arctan2(dy, dx)
    tilt = np.arctan(2 * rad)  # arc3 leaves and arrives at this angle to the chord
    ax.add_patch(FancyArrowPatch(
        start, end, connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
        shrinkA=_shrink(start_label, chord - tilt), shrinkB=_shrink(end_label, chord + tilt),
        zorder=zorder, **style,
    ))


def _nodes(ax: plt.Axes, xs: np.ndarray, y: float, labels: list[str]) -> None:
    """Draw one labelled node per token at (xs[k], y): white boxes with a dark border."""
    for x, label in zip(xs, labels):
        ax.text(x, y, label, ha="center", va="center", fontsize=NODE_FONT, zorder=10, color="black",
                bbox={"boxstyle": f"round,pad={_NODE_PAD / NODE_FONT:.3f}", "fc": "white", "ec": "0.15", "lw": 1.0})


def _self_edges(ax: plt.Axes, xs: np.ndarray, y: float, labels: list[str], w: np.ndarray, is_bool: bool,
                min_weight: float, zorder: float = 3.0) -> None:
    """Draw the edges j -> i of a self-attention matrix w (n, n) among nodes on one line at height y.

    Forward edges (j < i, to a later token) arc above the line, backward edges (j > i) below,
    and a token reading itself (i == j) is a loop just above it. Stronger edges lie on top.
    """
    edges = sorted((w[i, j], i, j) for i in range(w.shape[0]) for j in range(w.shape[1]) if w[i, j] > min_weight)
    for order, (weight, i, j) in enumerate(edges):
        style = _style(weight, is_bool)
        z = zorder + order / max(len(edges), 1)
        if i == j:
            ax.add_patch(Circle((xs[i], y + _LOOP_Y), _LOOP_R, fill=False, ec=style["color"], alpha=style["alpha"],
                                lw=style["lw"], zorder=z))
            continue
        # arc3 with rad < 0 bends a left-to-right edge (forward) up and a right-to-left one (backward) down
        _arrow(ax, (xs[j], y), (xs[i], y), -_RAD, labels[j], labels[i], style, z)


def _straight_edges(ax: plt.Axes, w: np.ndarray, xq: np.ndarray, yq: float, xk: np.ndarray, yk: float,
                    query_labels: list[str], key_labels: list[str], is_bool: bool, min_weight: float,
                    zorder: float = 2.0) -> None:
    """Draw the cross edges j -> i of w (n_q, n_k): straight arrows from key node (xk[j], yk) to query node (xq[i], yq)."""
    edges = sorted((w[i, j], i, j) for i in range(w.shape[0]) for j in range(w.shape[1]) if w[i, j] > min_weight)
    for order, (weight, i, j) in enumerate(edges):
        _arrow(ax, (xk[j], yk), (xq[i], yq), 0.0, key_labels[j], query_labels[i],
               _style(weight, is_bool, CROSS_COLOUR), zorder + order / max(len(edges), 1))


def _legend(ax: plt.Axes, is_bool: bool, kinds: Sequence[tuple[str, str]]) -> None:
    """Add the key beside the plot: what the colours (``kinds``: (colour, meaning) pairs) and widths mean.

    For weights, one sample line per weight of LEGEND_WEIGHTS, drawn in the edges' own style (in
    the edges' colour when there is one kind, in dark grey when the colours tell kinds apart).
    With one kind of weighted edge the colour says nothing more, so only the samples are shown.
    """
    handles, labels = [], []
    if is_bool or len(kinds) > 1:
        for colour, meaning in kinds:
            style = _style(1.0, True, colour)
            handles.append(Line2D([], [], color=colour, lw=2.0, alpha=style["alpha"]))
            labels.append(meaning)
    if not is_bool:
        sample_colour = kinds[0][0] if len(kinds) == 1 else "0.25"
        for w in LEGEND_WEIGHTS:
            style = _style(w, False, sample_colour)
            handles.append(Line2D([], [], color=style["color"], lw=style["lw"], alpha=style["alpha"]))
            labels.append(f"weight {w:g}")
    title = "edges (allowed)" if is_bool else "edge width and\nopacity = weight"
    ax.legend(handles, labels, title=title, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8,
              title_fontsize=8, frameon=True, facecolor="white", edgecolor="0.7", handlelength=2.4)


def _finish(ax: plt.Axes, title: str, xlabel: str, xlim: tuple, ylim: tuple) -> None:
    """Set the background, limits, title and caption of a graph's axes."""
    ax.set_facecolor(BACKGROUND)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("0.75")
    ax.set_title(title)
    ax.set_xlabel(xlabel, fontsize=9)


def _arc_height(n: int, rad: float = _RAD) -> float:
    """Return the height (data units) of the highest arc among n nodes one unit apart (0 for one node)."""
    return 0.45 * rad * (n - 1)  # a quadratic arc peaks at half its control offset, minus the shrink


def _reach(w: np.ndarray, min_weight: float) -> tuple[float, float]:
    """Return the heights (data units) the arcs of a self matrix w (n, n) need above and below its line.

    Above: the longest forward arc, or the loops; below: the longest backward arc (0 if none).
    """
    n = w.shape[0]
    offset = np.arange(n)[:, None] - np.arange(n)[None, :]  # i - j: > 0 for a forward edge
    present = w > min_weight
    forward = int(offset[present].max(initial=0))
    backward = int(-offset[present].min(initial=0))
    loops = bool(np.any(np.diag(present)))
    above = max(_arc_height(forward + 1) if forward else 0.0, _LOOP_Y + _LOOP_R if loops else 0.0)
    below = _arc_height(backward + 1) if backward else 0.0
    return above, below


_SELF_CAPTION = ("arrow j → i: token j sends its value to token i\n"
                 "above the line: forward (to a later token); below: backward (to an earlier one); loop: to itself")


def attention_graph(
    weights: np.ndarray,
    labels: Sequence[str],
    ax: plt.Axes | None = None,
    title: str = "Self-attention as a graph",
    min_weight: float = 0.0,
    colorbar: bool | None = None,
    symmetric: bool = False,
    legend: bool = True,
) -> plt.Axes:
    """Return the axes holding self-attention weights (n, n) drawn as a directed graph of n tokens.

    weights: (n, n), row i = query i; a bool (n, n) matrix draws only which edges exist.
    Tokens sit on a line in order. Each weight [i, j] > min_weight is an arrow from token j (the
    sender of its value) to token i (the receiver), its width and opacity growing with the
    weight: arcs above the line run forward (j < i), arcs below run backward (j > i), and a loop
    marks a token reading itself. A causal mask leaves only the arcs above and the loops.
    The plot is only as tall as its arcs; ``symmetric=True`` keeps room for the longest arcs on
    both sides, so that graphs of the same length drawn one above the other share one scale.
    ``legend`` adds the key to width and opacity beside the plot (``colorbar`` is its older name).
    """
    w, is_bool = _edge_matrix("weights", weights, (len(labels), len(labels)))
    labels = _labels("labels", labels, w.shape[0])
    n = w.shape[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 + 0.9 * n, 1.2 + 0.55 * n))
    xs = np.arange(n, dtype=float)
    _self_edges(ax, xs, 0.0, labels, w, is_bool, min_weight)
    _nodes(ax, xs, 0.0, labels)
    above, below = _reach(w, min_weight)
    if symmetric:
        above = below = _arc_height(n)
    _finish(ax, title, _SELF_CAPTION, (-0.7, n - 0.3), (-max(below, 0.2) - 0.35, max(above, 0.3) + 0.35))
    if legend if colorbar is None else colorbar:
        _legend(ax, is_bool, [(SELF_COLOUR, "j may send to i" if is_bool else "self-attention")])
    return ax


def cross_attention_graph(
    weights: np.ndarray,
    query_labels: Sequence[str],
    key_labels: Sequence[str],
    ax: plt.Axes | None = None,
    title: str = "Cross-attention as a graph",
    min_weight: float = 0.0,
    colorbar: bool | None = None,
    legend: bool = True,
) -> plt.Axes:
    """Return the axes holding cross-attention weights (n_q, n_k) drawn as a bipartite directed graph.

    weights: (n_q, n_k), row i = query i (bool: structure only). The key/value tokens (the
    source, e.g. the encoder's sentence) sit on the bottom row, the query tokens (the target)
    on the top row; each weight [i, j] > min_weight is a straight arrow up from source token j
    to target token i, its width and opacity growing with the weight. Messages only ever flow
    from the source to the target. ``legend`` adds the key beside the plot (``colorbar`` is its
    older name).
    """
    w, is_bool = _edge_matrix("weights", weights, (len(query_labels), len(key_labels)))
    query_labels = _labels("query_labels", query_labels, w.shape[0])
    key_labels = _labels("key_labels", key_labels, w.shape[1])
    n_q, n_k = w.shape
    width = max(n_q, n_k)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6 + 0.9 * width, 3.2))
    xq = np.arange(n_q) - (n_q - 1) / 2
    xk = np.arange(n_k) - (n_k - 1) / 2
    top, bottom = 1.8, 0.0
    _straight_edges(ax, w, xq, top, xk, bottom, query_labels, key_labels, is_bool, min_weight)
    _nodes(ax, xk, bottom, key_labels)
    _nodes(ax, xq, top, query_labels)
    left = -width / 2 - 0.3
    for y, text in ((top, "target:\nqueries"), (bottom, "source:\nkeys, values")):
        ax.text(left - 0.2, y, text, ha="right", va="center", fontsize=9, color=TEXT_COLOUR)
    _finish(ax, title, "arrow j → i: source token j sends its value up to target token i",
            (left - 1.5, width / 2 + 0.3), (bottom - 0.5, top + 0.5))
    if legend if colorbar is None else colorbar:
        _legend(ax, is_bool, [(CROSS_COLOUR, "j may send to i" if is_bool else "cross-attention")])
    return ax


def encoder_decoder_graph(
    encoder_self: np.ndarray,
    cross: np.ndarray,
    decoder_self: np.ndarray,
    source_labels: Sequence[str],
    target_labels: Sequence[str],
    ax: plt.Axes | None = None,
    title: str = "Encoder-decoder attention as one graph",
    min_weight: float = 0.0,
    colorbar: bool | None = None,
    legend: bool = True,
) -> plt.Axes:
    """Return the axes holding the three attention graphs of an encoder-decoder model, in one picture.

    encoder_self: (n_s, n_s) weights or bool, the encoder's self-attention, drawn on the bottom
    row; decoder_self: (n_t, n_t), the decoder's self-attention, on the top row; cross: (n_t, n_s),
    the decoder's cross-attention: orange arrows straight up from the source nodes to the target
    nodes. Both rows keep the rule of ``attention_graph``: a forward arc (to a later token) lies
    above its row, a backward arc below it. So a bidirectional encoder has arcs on both sides of
    the bottom row (the forward ones rise into the space between the rows, the backward ones hang
    below it), and a causal decoder has arcs only above the top row. All three must be weights,
    or all three bool. ``legend`` adds the key beside the plot (``colorbar`` is its older name).
    """
    n_s, n_t = len(source_labels), len(target_labels)
    enc, enc_bool = _edge_matrix("encoder_self", encoder_self, (n_s, n_s))
    dec, dec_bool = _edge_matrix("decoder_self", decoder_self, (n_t, n_t))
    crs, crs_bool = _edge_matrix("cross", cross, (n_t, n_s))
    if not enc_bool == dec_bool == crs_bool:
        raise ValueError("encoder_self, cross and decoder_self must all be weights or all be bool matrices")
    source_labels = _labels("source_labels", source_labels, n_s)
    target_labels = _labels("target_labels", target_labels, n_t)
    width = max(n_s, n_t)
    enc_above, enc_below = _reach(enc, min_weight)
    dec_above, dec_below = _reach(dec, min_weight)
    bottom = 0.0
    top = bottom + enc_above + dec_below + 1.5  # room between the rows for both sets of arcs, and the cross edges
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6 + 0.9 * width, 2.0 + 0.55 * width))
    xs = np.arange(n_s) - (n_s - 1) / 2
    xt = np.arange(n_t) - (n_t - 1) / 2
    _straight_edges(ax, crs, xt, top, xs, bottom, target_labels, source_labels, enc_bool, min_weight, zorder=2.0)
    _self_edges(ax, xs, bottom, source_labels, enc, enc_bool, min_weight, zorder=3.0)
    _self_edges(ax, xt, top, target_labels, dec, dec_bool, min_weight, zorder=3.0)
    _nodes(ax, xs, bottom, source_labels)
    _nodes(ax, xt, top, target_labels)
    left = -width / 2 - 0.3
    for y, text in ((top, "decoder\n(target)"), (bottom, "encoder\n(source)")):
        ax.text(left - 0.2, y, text, ha="right", va="center", fontsize=9, color=TEXT_COLOUR)
    caption = ("arrow j → i: token j sends its value to token i\n"
               "in each row: above = forward (to a later token), below = backward (to an earlier one)")
    _finish(ax, title, caption, (left - 1.5, width / 2 + 0.3),
            (bottom - max(enc_below, 0.2) - 0.4, top + max(dec_above, 0.3) + 0.4))
    if legend if colorbar is None else colorbar:
        _legend(ax, enc_bool, [(SELF_COLOUR, "self-attention\n(within a row)"),
                               (CROSS_COLOUR, "cross-attention\n(encoder → decoder)")])
    return ax
