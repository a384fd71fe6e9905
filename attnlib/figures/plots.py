"""Plots of attention weights: heat maps with labelled axes and a colour bar (viridis)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

COURSE_STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "figure.dpi": 90,
    "image.cmap": "viridis",
}


def use_course_style() -> None:
    """Set matplotlib's defaults for the course: readable fonts, viridis, modest figure size."""
    plt.rcParams.update(COURSE_STYLE)


def attention_heatmap(
    weights: np.ndarray,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    ax: plt.Axes | None = None,
    title: str = "Attention weights",
    annotate: bool = True,
    colorbar: bool = True,
) -> plt.Axes:
    """Return the axes holding a heat map of ``weights`` (n_q, n_k): rows are queries, columns keys.

    Colours run from 0 to 1 on viridis with a colour bar; ``annotate`` writes each weight in its
    cell (for small matrices). Blocked entries (weight exactly 0) read as 0.00.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2:
        raise ValueError(f"weights must be a (n_q, n_k) matrix, got shape {weights.shape}")
    n_q, n_k = weights.shape
    for name, labels, size in (("query_labels", query_labels, n_q), ("key_labels", key_labels, n_k)):
        if labels is not None and len(labels) != size:
            raise ValueError(f"{name} has {len(labels)} labels for {size} rows/columns of weights {weights.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.6 * n_k, 0.8 + 0.5 * n_q))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n_k), key_labels if key_labels is not None else range(n_k), rotation=45, ha="right")
    ax.set_yticks(range(n_q), query_labels if query_labels is not None else range(n_q))
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title)
    if annotate and n_q * n_k <= 144:
        for i in range(n_q):
            for j in range(n_k):
                colour = "black" if weights[i, j] > 0.6 else "white"
                ax.text(j, i, f"{weights[i, j]:.2f}", ha="center", va="center", color=colour, fontsize=8)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="weight")
    return ax


def weight_bars(
    weights: np.ndarray, labels: Sequence[str], ax: plt.Axes | None = None, title: str = ""
) -> plt.Axes:
    """Return the axes holding a bar chart of one row of weights (n_k,), with each value written."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1 or len(labels) != weights.shape[0]:
        raise ValueError(f"need one label per weight: weights {weights.shape}, {len(labels)} labels")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    bars = ax.bar(range(len(weights)), weights, color=plt.get_cmap("viridis")(0.35))
    ax.bar_label(bars, fmt="%.2f", fontsize=9)
    ax.set_xticks(range(len(weights)), labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("weight")
    ax.set_title(title)
    return ax
