"""The attention graphs (attnlib.figures.graphs, notebook 03): self, cross and encoder-decoder graphs.

One arrow per edge, forward edges above a row and backward ones below, width and opacity growing
with the weight, bad input refused. Positional encodings are tested in tests/reference/test_positional.py,
the mask widgets' helpers in tests/figures/test_widgets.py.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch

from attnlib import causal_mask
from attnlib.figures.graphs import attention_graph, cross_attention_graph, encoder_decoder_graph


@pytest.mark.parametrize(
    "weights",
    [np.array([[1.0]]), np.zeros((3, 3)), causal_mask(4), np.full((3, 3), 1 / 3)],
    ids=["1x1", "zeros", "bool", "uniform"],
)
def test_attention_graph_draws_one_arrow_per_edge(weights):
    fig, ax = plt.subplots()
    labels = [f"t{i}" for i in range(weights.shape[0])]
    attention_graph(weights, labels, ax=ax, colorbar=False)
    assert ax.get_title()
    assert {t.get_text() for t in ax.texts} >= set(labels)
    plt.close(fig)


def test_cross_and_encoder_decoder_graphs_render():
    fig, axes = plt.subplots(1, 2)
    cross = np.full((2, 3), 1 / 3)
    cross_attention_graph(cross, ["a", "b"], ["x", "y", "z"], ax=axes[0])
    encoder_decoder_graph(np.full((3, 3), 1 / 3), cross, np.tril(np.ones((2, 2))) / [[1], [2]], ["x", "y", "z"], ["a", "b"], ax=axes[1])
    texts = {t.get_text() for ax in axes for t in ax.texts}
    assert {"a", "b", "x", "y", "z"} <= texts
    plt.close(fig)


def _arrows(ax):
    """Return the FancyArrowPatches of a graph's axes (one per edge that is not a loop)."""
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def _row_side(patch, y_row, ax):
    """Return +1 if the drawn edge lies above the row at y_row, -1 if below, 0 if straight along it."""
    ax.figure.canvas.draw()
    control = patch.get_path().vertices[1]  # data coordinates: the control point of the arc3 curve (the shaft)
    return 1 if control[1] > y_row + 0.05 else -1 if control[1] < y_row - 0.05 else 0


def test_attention_graph_draws_forward_above_and_backward_below():
    fig, ax = plt.subplots()
    w = np.zeros((3, 3))
    w[2, 0] = 1.0   # from token 0 to token 2: forward
    w[0, 1] = 0.5   # from token 1 to token 0: backward
    attention_graph(w, ["a", "b", "c"], ax=ax)
    sides = {tuple(np.round(p._posA_posB, 6).ravel()): _row_side(p, 0.0, ax) for p in _arrows(ax)}
    assert sides == {(0.0, 0.0, 2.0, 0.0): 1, (1.0, 0.0, 0.0, 0.0): -1}
    plt.close(fig)


def test_edge_width_and_opacity_grow_with_the_weight_and_a_legend_says_so():
    fig, ax = plt.subplots()
    w = np.array([[0.0, 0.0, 0.0], [0.01, 0.0, 0.0], [0.9, 0.0, 0.0]])
    attention_graph(w, ["a", "b", "c"], ax=ax)
    arrows = sorted(_arrows(ax), key=lambda p: p._posA_posB[1][0])  # by receiver: b (0.01), then c (0.9)
    faint, strong = arrows
    assert 0 < faint.get_alpha() < strong.get_alpha() <= 1
    assert 0 < faint.get_linewidth() < strong.get_linewidth()
    legend = ax.get_legend()
    assert legend is not None and "weight" in legend.get_title().get_text()
    assert np.mean(matplotlib.colors.to_rgb(ax.get_facecolor())) > 0.9, "a light background"
    plt.close(fig)
    fig, ax = plt.subplots()
    attention_graph(w, ["a", "b", "c"], ax=ax, colorbar=False)  # the older name of legend
    assert ax.get_legend() is None
    plt.close(fig)


def test_encoder_decoder_graph_keeps_above_forward_below_backward_in_both_rows():
    fig, ax = plt.subplots()
    n_s, n_t = 3, 2
    encoder_decoder_graph(np.ones((n_s, n_s), dtype=bool), np.ones((n_t, n_s), dtype=bool), causal_mask(n_t),
                          ["x", "y", "z"], ["a", "b"], ax=ax)
    rows = sorted({round(float(p._posA_posB[0][1]), 6) for p in _arrows(ax)})
    bottom, top = rows[0], rows[-1]
    counts = {"cross": 0, "forward": 0, "backward": 0}
    for p in _arrows(ax):
        (x0, y0), (x1, y1) = p._posA_posB
        if not np.isclose(y0, y1):
            assert np.isclose(y0, bottom) and np.isclose(y1, top), "cross edges go up from the encoder to the decoder"
            counts["cross"] += 1
            continue
        side = _row_side(p, y0, ax)
        assert side == (1 if x1 > x0 else -1), f"edge {(x0, y0)} -> {(x1, y1)} on the wrong side of its row"
        counts["forward" if x1 > x0 else "backward"] += 1
    # encoder: 3 forward + 3 backward; decoder (causal): 1 forward; cross: 2 x 3
    assert counts == {"cross": 6, "forward": 4, "backward": 3}
    plt.close(fig)


def test_encoder_decoder_graph_rejects_mixed_bool_and_weights():
    with pytest.raises(ValueError, match="all be weights or all be bool"):
        encoder_decoder_graph(np.ones((2, 2), dtype=bool), np.full((1, 2), 0.5), np.ones((1, 1)), ["x", "y"], ["a"])


@pytest.mark.parametrize(
    "weights, labels",
    [
        (np.ones((2, 3)), ["a", "b"]),  # not square
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), ["a", "b"]),
        (np.array([[2.0, 0.0], [0.0, 1.0]]), ["a", "b"]),  # outside [0, 1]
        (np.eye(2), ["a"]),  # wrong number of labels
    ],
)
def test_attention_graph_rejects_bad_input(weights, labels):
    with pytest.raises(ValueError):
        attention_graph(weights, labels)
