"""Positional encodings, the attention graphs and the mask widgets' helpers (notebooks 03 and 04)."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from attnlib import causal_mask, padding_attention_mask, sliding_window_mask
from attnlib.graphs import attention_graph, cross_attention_graph, encoder_decoder_graph
from attnlib.positional import sinusoidal_positions
from attnlib.widgets import MASK_KINDS, d_k_slider, mask_explorer, temperature_slider, toy_mask


@pytest.mark.parametrize("n, d", [(1, 1), (5, 4), (7, 9), (50, 16)])
def test_sinusoidal_positions_follow_the_formula(n, d):
    pe = sinusoidal_positions(n, d)
    assert pe.shape == (n, d)
    for p in range(n):
        for i in range(d):
            angle = p / 10000 ** (2 * (i // 2) / d)
            assert pe[p, i] == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle), abs=1e-12)


def test_positions_are_distinct():
    pe = sinusoidal_positions(64, 16)
    distances = np.linalg.norm(pe[:, None] - pe[None, :], axis=-1)
    assert (distances + np.eye(64) > 1e-6).all()


@pytest.mark.parametrize("args, fragment", [((0, 4), "n"), ((4, 0), "d"), ((4, 4, 1.0), "base")])
def test_positions_reject_bad_sizes(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        sinusoidal_positions(*args)


def test_toy_masks_are_the_attnlib_masks():
    n = 6
    assert toy_mask("none", n).all()
    np.testing.assert_array_equal(toy_mask("causal", n), causal_mask(n))
    np.testing.assert_array_equal(toy_mask("sliding window", n, window=2), sliding_window_mask(n, 2))
    np.testing.assert_array_equal(toy_mask("padding", n, length=4), padding_attention_mask([4], n)[0])
    np.testing.assert_array_equal(
        toy_mask("sliding window + padding", n, window=3, length=5),
        sliding_window_mask(n, 3) & padding_attention_mask([5], n)[0],
    )
    assert set(MASK_KINDS) >= {"causal", "padding", "sliding window"}
    with pytest.raises(ValueError, match="kind"):
        toy_mask("diagonal", n)
    with pytest.raises(ValueError, match="length"):
        toy_mask("padding", n, length=7)


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


def test_widgets_build():
    for widget in (
        temperature_slider(np.array([2.0, 1.0, 0.1]), ["a", "b", "c"]),
        d_k_slider(),
        mask_explorer(np.random.default_rng(0).normal(size=(6, 6))),
    ):
        assert widget.children, "a widget with controls and an output"
    plt.close("all")
