"""Widgets of notebook 10 (ipywidgets), each with the drawing function its static figure uses.

- ``entropy_scale_slider``: one row of weights softmax(scale * scores) and its entropy, from
  diffuse (small scale) to one-hot (large scale);
- ``hopfield_beta_slider``: a corrupted glyph, what one modern Hopfield update retrieves at an
  inverse temperature beta, and the weight of each stored pattern.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..reference.attention import softmax
from ..reference.entropy import attention_entropy
from ..reference.hopfield import hopfield_update, hopfield_weights
from .plots import weight_bars

#: the scales the entropy curve is drawn over (log-spaced)
SCALES = np.geomspace(0.01, 100.0, 161)


def draw_entropy_at_scale(axes: Sequence[plt.Axes], scores: np.ndarray, labels: Sequence[str], scale: float) -> None:
    """Draw softmax(scale * scores) as bars (axes[0]) and the entropy against the scale (axes[1]).

    scores: (n,) one query's scores; labels: one per key; scale: the factor applied to the scores
    before the softmax (an inverse temperature). The curve runs from ln n (uniform) down to 0
    (one-hot); a dot marks ``scale``.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(labels) != scores.shape[0]:
        raise ValueError(f"need one label per score: scores {scores.shape}, {len(labels)} labels")
    if len(axes) != 2:
        raise ValueError(f"need two axes (weights, entropy curve), got {len(axes)}")
    n = scores.shape[0]
    w = softmax(scale * scores)
    h = float(attention_entropy(w))
    weight_bars(w, labels, ax=axes[0], title=f"scale {scale:.3g}: entropy {h:.2f} nats (max ln {n} = {np.log(n):.2f})")
    curve = attention_entropy(softmax(SCALES[:, None] * scores, axis=-1))
    ax = axes[1]
    ax.plot(SCALES, curve, color=plt.get_cmap("viridis")(0.35), lw=2)
    ax.axhline(np.log(n), color="grey", ls=":", lw=1)
    ax.text(SCALES[0], np.log(n) - 0.12, f"uniform: ln {n} = {np.log(n):.2f}", fontsize=9, color="dimgrey", va="top")
    ax.axhline(0, color="grey", ls=":", lw=1)
    ax.text(SCALES[-1], 0.06, "one-hot: 0", fontsize=9, color="dimgrey", ha="right")
    ax.plot([scale], [h], "o", color="black", ms=8)
    ax.set_xscale("log")
    ax.set_ylim(-0.1, np.log(n) + 0.2)
    ax.set_xlabel("scale applied to the scores (inverse temperature)")
    ax.set_ylabel("entropy (nats)")
    ax.set_title("diffuse (left) to over-concentrated (right)")


def entropy_scale_slider(scores: np.ndarray, labels: Sequence[str]) -> widgets.Widget:
    """Return a widget: a log-scale slider for the scale of the scores, the weights and their entropy."""
    scores = np.asarray(scores, dtype=float)

    def show(scale: float) -> None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        draw_entropy_at_scale(axes, scores, labels, scale)
        plt.tight_layout()
        plt.show()

    slider = widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.05, description="scale",
                                    continuous_update=True, readout_format=".3g")
    return widgets.interactive(show, scale=slider)


def _image(ax: plt.Axes, vector: np.ndarray, title: str, shape: tuple[int, int]) -> plt.cm.ScalarMappable:
    """Draw a state of +-1 pixels (any value in [-1, 1]) as a grey image; return the image."""
    image = ax.imshow(np.asarray(vector).reshape(shape), cmap="gray_r", vmin=-1, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return image


def draw_hopfield_retrieval(
    axes: Sequence[plt.Axes],
    patterns: np.ndarray,
    query: np.ndarray,
    beta: float,
    names: Sequence[str],
    shape: tuple[int, int] = (8, 8),
) -> None:
    """Draw the query (axes[0]), one update's result (axes[1]) and the weights of the patterns (axes[2]).

    patterns: (N, d) stored +-1 images, one per row; query: (d,) the corrupted image; beta: the
    inverse temperature; names: one per pattern. Pixels run from -1 (white) to +1 (black); the
    retrieved state is a mix, so it can be grey.
    """
    patterns = np.asarray(patterns, dtype=float)
    if len(axes) != 3 or len(names) != patterns.shape[0]:
        raise ValueError(f"need three axes and one name per pattern: {len(axes)} axes, {len(names)} names for {patterns.shape[0]} patterns")
    w = hopfield_weights(patterns, query, beta)
    _image(axes[0], query, "query (corrupted)", shape)
    _image(axes[1], hopfield_update(patterns, query, beta), f"one update, beta = {beta:.3g}", shape)
    weight_bars(w, list(names), ax=axes[2], title=f"weights softmax(beta X xi): entropy {float(attention_entropy(w)):.2f}")


def hopfield_beta_slider(patterns: np.ndarray, query: np.ndarray, names: Sequence[str],
                         shape: tuple[int, int] = (8, 8)) -> widgets.Widget:
    """Return a widget: a log-scale beta slider, the retrieved image and the weights of the stored patterns."""
    def show(beta: float) -> None:
        _, axes = plt.subplots(1, 3, figsize=(11, 3.2), gridspec_kw={"width_ratios": [1, 1, 2.2]})
        draw_hopfield_retrieval(axes, patterns, query, beta, names, shape)
        plt.tight_layout()
        plt.show()

    slider = widgets.FloatLogSlider(value=0.125, base=10, min=-2.5, max=0.5, step=0.05, description="beta",
                                    continuous_update=True, readout_format=".3g")
    return widgets.interactive(show, beta=slider)
