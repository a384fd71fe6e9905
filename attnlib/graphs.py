"""Attention drawn as a directed graph of tokens: who sends a message to whom (matplotlib).

Each token is a node. A weight ``w[i, j] > 0`` is an arrow from token j (the key, whose value
is sent) to token i (the query, which receives the weighted sum of the values sent to it):
attention is message passing on a directed graph, and a mask removes edges. Edges are coloured
by their weight on viridis over a background of viridis' own zero colour, so a graph reads like
the heat map of the same weights: faint edges carry little, bright ones carry most. A boolean
matrix draws the bare structure (which edges exist) in one colour.

- ``attention_graph``: self-attention, tokens on a line; arcs above carry messages forward
  (from earlier to later tokens), arcs below carry them backward.
- ``cross_attention_graph``: queries from one sequence, keys and values from another.
- ``encoder_decoder_graph``: the encoder's self graph, the decoder's self graph, and the
  cross edges from every encoder node to every decoder node (T5, the original Transformer).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Circle, FancyArrowPatch

CMAP = plt.get_cmap("viridis")
BACKGROUND = CMAP(0.0)          # the colour of weight 0: an absent edge looks like the background
STRUCTURE_COLOUR = CMAP(0.85)   # edges of a boolean (structure-only) graph
NODE_FONT = 9                   # points
_NODE_PAD = 2.5                 # points of padding inside a node's box
_FORWARD_RAD = 0.55             # arc3 curvature of a self edge: the arc rises about rad / 2 * its length
_BACKWARD_RAD = 0.35            # a smaller arc for the other direction when both sit on one side


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
    if arr.min() < 0 or arr.max() > 1 + 1e-9:
        raise ValueError(f"{name} must hold weights in [0, 1] (attention weights), got values from {arr.min():.3g} to {arr.max():.3g}")
    return arr, is_bool


def _labels(name: str, labels: Sequence[str], n: int) -> list[str]:
    """Return the labels as strings, raising ValueError unless there is one per token."""
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels for {n} tokens")
    return [str(label) for label in labels]


def _style(w: float, is_bool: bool) -> dict:
    """Return the colour, line width and arrow-head size of an edge of weight w."""
    if is_bool:
        return {"color": STRUCTURE_COLOUR, "lw": 1.3, "mutation_scale": 10}
    return {"color": CMAP(w), "lw": 0.5 + 3.5 * w, "mutation_scale": 7 + 9 * w}


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
    """Draw one labelled node per token at (xs[k], y)."""
    for x, label in zip(xs, labels):
        ax.text(x, y, label, ha="center", va="center", fontsize=NODE_FONT, zorder=10,
                bbox={"boxstyle": f"round,pad={_NODE_PAD / NODE_FONT:.3f}", "fc": "white", "ec": "0.25", "lw": 0.8})


def _self_edges(ax: plt.Axes, xs: np.ndarray, y: float, labels: list[str], w: np.ndarray, is_bool: bool,
                min_weight: float, side: str) -> None:
    """Draw the edges j -> i of a self-attention matrix w (n, n) among nodes on one line.

    side: "split" puts forward edges (j < i) above the line and backward ones below; "above"
    or "below" puts both on one side (forward on the larger arc). Self edges become loops.
    """
    sign = {"split": 1, "above": 1, "below": -1}[side]
    edges = sorted(((w[i, j], i, j) for i in range(w.shape[0]) for j in range(w.shape[1]) if w[i, j] > min_weight))
    loop_r = 0.14
    for order, (weight, i, j) in enumerate(edges):
        style = _style(weight, is_bool)
        zorder = 2 + order / max(len(edges), 1)  # stronger edges on top
        if i == j:
            up = -1 if side == "below" else 1
            ax.add_patch(Circle((xs[i], y + up * 0.2), loop_r, fill=False, ec=style["color"], lw=style["lw"], zorder=zorder))
            continue
        forward = j < i
        if side == "split":
            rad = -_FORWARD_RAD  # arc3 bends a left-to-right edge up for rad < 0, a right-to-left one down
        elif forward:
            rad = -sign * _FORWARD_RAD
        else:
            rad = sign * _BACKWARD_RAD
        _arrow(ax, (xs[j], y), (xs[i], y), rad, labels[j], labels[i], style, zorder)


def _finish(ax: plt.Axes, title: str, xlabel: str, is_bool: bool, colorbar: bool, xlim: tuple, ylim: tuple) -> None:
    """Set the background, limits, title and caption, and add the weight colour bar."""
    ax.set_facecolor(BACKGROUND)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.set_xlabel(xlabel, fontsize=9)
    if colorbar and not is_bool:
        ax.figure.colorbar(ScalarMappable(Normalize(0.0, 1.0), CMAP), ax=ax, fraction=0.03, pad=0.02, label="weight")


def _arc_height(n: int, rad: float) -> float:
    """Return the height (data units) of the highest arc among n nodes one unit apart (0 for one node)."""
    return 0.45 * rad * (n - 1)  # a quadratic arc peaks at half its control offset, minus the shrink


def attention_graph(
    weights: np.ndarray,
    labels: Sequence[str],
    ax: plt.Axes | None = None,
    title: str = "Self-attention as a graph",
    min_weight: float = 0.0,
    colorbar: bool = True,
    symmetric: bool = False,
) -> plt.Axes:
    """Return the axes holding self-attention weights (n, n) drawn as a directed graph of n tokens.

    weights: (n, n), row i = query i; a bool (n, n) matrix draws only which edges exist.
    Tokens sit on a line in order. Each weight [i, j] > min_weight is an arrow from token j (the
    sender of its value) to token i (the receiver), coloured by the weight: arcs above the line
    run forward (j < i), arcs below run backward (j > i), and a loop marks a token reading itself.
    A causal mask leaves only the arcs above and the loops. The plot is only as tall as its
    arcs; ``symmetric=True`` keeps room for the longest arcs on both sides, so that graphs of
    the same length drawn one above the other share one scale.
    """
    w, is_bool = _edge_matrix("weights", weights, (len(labels), len(labels)))
    labels = _labels("labels", labels, w.shape[0])
    n = w.shape[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.9 * n, 1.2 + 0.55 * n))
    xs = np.arange(n, dtype=float)
    _self_edges(ax, xs, 0.0, labels, w, is_bool, min_weight, "split")
    _nodes(ax, xs, 0.0, labels)
    offset = np.arange(n)[:, None] - np.arange(n)[None, :]  # i - j: > 0 for a forward edge
    present = w > min_weight
    above = _arc_height(int(offset[present].max(initial=0)) + 1, _FORWARD_RAD)
    below = _arc_height(int(-offset[present].min(initial=0)) + 1, _FORWARD_RAD)
    if symmetric:
        above = below = _arc_height(n, _FORWARD_RAD)
    _finish(ax, title, "arrow j → i: token j sends its value to token i\nabove: from earlier tokens; below: from later tokens",
            is_bool, colorbar, (-0.7, n - 0.3), (-max(below, 0.2) - 0.35, max(above, 0.3) + 0.35))
    return ax


def cross_attention_graph(
    weights: np.ndarray,
    query_labels: Sequence[str],
    key_labels: Sequence[str],
    ax: plt.Axes | None = None,
    title: str = "Cross-attention as a graph",
    min_weight: float = 0.0,
    colorbar: bool = True,
) -> plt.Axes:
    """Return the axes holding cross-attention weights (n_q, n_k) drawn as a bipartite directed graph.

    weights: (n_q, n_k), row i = query i (bool: structure only). The key/value tokens (the
    source, e.g. the encoder's sentence) sit on the top row, the query tokens (the target) on
    the bottom row; each weight [i, j] > min_weight is an arrow from source token j down to
    target token i. Messages only ever flow from the source to the target.
    """
    w, is_bool = _edge_matrix("weights", weights, (len(query_labels), len(key_labels)))
    query_labels = _labels("query_labels", query_labels, w.shape[0])
    key_labels = _labels("key_labels", key_labels, w.shape[1])
    n_q, n_k = w.shape
    width = max(n_q, n_k)
    if ax is None:
        _, ax = plt.subplots(figsize=(2.0 + 0.9 * width, 3.2))
    xq = np.arange(n_q) - (n_q - 1) / 2
    xk = np.arange(n_k) - (n_k - 1) / 2
    top, bottom = 1.8, 0.0
    edges = sorted((w[i, j], i, j) for i in range(n_q) for j in range(n_k) if w[i, j] > min_weight)
    for order, (weight, i, j) in enumerate(edges):
        _arrow(ax, (xk[j], top), (xq[i], bottom), 0.0, key_labels[j], query_labels[i],
               _style(weight, is_bool), 2 + order / max(len(edges), 1))
    _nodes(ax, xk, top, key_labels)
    _nodes(ax, xq, bottom, query_labels)
    left = -width / 2 - 0.3
    for y, text in ((top, "source:\nkeys, values"), (bottom, "target:\nqueries")):
        ax.text(left - 0.2, y, text, ha="right", va="center", fontsize=9, color="white")
    _finish(ax, title, "arrow j → i: source token j sends its value to target token i",
            is_bool, colorbar, (left - 1.5, width / 2 + 0.3), (bottom - 0.5, top + 0.5))
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
    colorbar: bool = True,
) -> plt.Axes:
    """Return the axes holding the three attention graphs of an encoder-decoder model, in one picture.

    encoder_self: (n_s, n_s) weights or bool, the encoder's self-attention (arcs above the top
    row); decoder_self: (n_t, n_t), the decoder's self-attention (arcs below the bottom row);
    cross: (n_t, n_s), the decoder's cross-attention (arrows from every source node down to the
    target nodes). All three must be weights, or all three bool.
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
    top, bottom = 2.4, 0.0
    if ax is None:
        _, ax = plt.subplots(figsize=(2.0 + 0.9 * width, 2.0 + 0.55 * width))
    xs = np.arange(n_s) - (n_s - 1) / 2
    xt = np.arange(n_t) - (n_t - 1) / 2
    edges = sorted((crs[i, j], i, j) for i in range(n_t) for j in range(n_s) if crs[i, j] > min_weight)
    for order, (weight, i, j) in enumerate(edges):
        _arrow(ax, (xs[j], top), (xt[i], bottom), 0.0, source_labels[j], target_labels[i],
               _style(weight, enc_bool), 2 + order / max(len(edges), 1))
    _self_edges(ax, xs, top, source_labels, enc, enc_bool, min_weight, "above")
    _self_edges(ax, xt, bottom, target_labels, dec, dec_bool, min_weight, "below")
    _nodes(ax, xs, top, source_labels)
    _nodes(ax, xt, bottom, target_labels)
    left = -width / 2 - 0.3
    for y, text in ((top, "encoder\n(source)"), (bottom, "decoder\n(target)")):
        ax.text(left - 0.2, y, text, ha="right", va="center", fontsize=9, color="white")
    _finish(ax, title, "arrow j → i: token j sends its value to token i",
            enc_bool, colorbar, (left - 1.5, width / 2 + 0.3),
            (bottom - _arc_height(n_t, _FORWARD_RAD) - 0.5, top + _arc_height(n_s, _FORWARD_RAD) + 0.5))
    return ax
