"""Interactive widgets for the notebooks (ipywidgets); each notebook shows a static figure beside them."""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..reference.attention import softmax
from .plots import weight_bars


def temperature_slider(scores: np.ndarray, labels: Sequence[str], query: str = "") -> widgets.Widget:
    """Return a widget: a log-scale temperature slider and the bar chart of softmax(scores / T).

    scores: (n_k,) one query's scores; labels: one per key. Small T sharpens the weights towards
    one-hot, large T flattens them towards uniform; T = 1 is the plain softmax.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(labels) != scores.shape[0]:
        raise ValueError(f"need one label per score: scores {scores.shape}, {len(labels)} labels")
    entropy_max = np.log(len(scores))

    def show(temperature: float) -> None:
        w = softmax(scores / temperature)
        entropy = -np.sum(w * np.log(np.where(w > 0, w, 1.0)))
        _, ax = plt.subplots(figsize=(6, 3))
        weight_bars(w, labels, ax=ax, title=f"{query} weights at T = {temperature:.2f} (entropy {entropy:.2f} of max {entropy_max:.2f})")
        plt.show()

    slider = widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.05, description="T",
                                    continuous_update=True, readout_format=".2f")
    return widgets.interactive(show, temperature=slider)


def draw_d_k_row(axes: Sequence[plt.Axes], d_k: int, n_keys: int = 8, seed: int = 0) -> None:
    """Draw one row of weights at this d_k on two axes: softmax(q · k) and softmax(q · k / sqrt(d_k)).

    The row is ``scaling.fixed_row_scores(d_k, n_keys, seed)``: one fixed query against n_keys
    fixed keys, using their first d_k components. Each title gives the entropy of the weights
    (ln n_keys for uniform weights, 0 for one-hot) and the spread (std) of the scores.
    """
    from ..reference.scaling import fixed_row_scores, softmax_entropy  # numpy only; kept local to this widget

    if len(axes) != 2:
        raise ValueError(f"need two axes (unscaled, scaled), got {len(axes)}")
    raw = fixed_row_scores(d_k, n_keys, seed)
    labels = [f"k{j}" for j in range(n_keys)]
    for ax, scores, name in ((axes[0], raw, "q·k"), (axes[1], raw / np.sqrt(d_k), "q·k / sqrt(d_k)")):
        w = softmax(scores)
        weight_bars(w, labels, ax=ax, title=(
            f"d_k = {d_k}, softmax({name})\nscore std {scores.std():.2f}, entropy {softmax_entropy(w):.2f} "
            f"(uniform {np.log(n_keys):.2f})"
        ))


def d_k_slider(n_keys: int = 8, seed: int = 0) -> widgets.Widget:
    """Return a widget: a d_k slider (1 to 1024) over one row of weights, unscaled beside scaled.

    Left: softmax(q · k), which turns one-hot as d_k grows; right: softmax(q · k / sqrt(d_k)),
    which keeps its spread. The query and keys are fixed (``seed``); d_k uses their first d_k
    components (see ``draw_d_k_row``).
    """
    def show(d_k: int) -> None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
        draw_d_k_row(axes, d_k, n_keys, seed)
        plt.tight_layout()
        plt.show()

    slider = widgets.SelectionSlider(options=[2**i for i in range(11)], value=64, description="d_k",
                                     continuous_update=True)
    return widgets.interactive(show, d_k=slider)


# ---------------------------------------------------------------- notebook 03: the mask explorer

#: the masks the explorer offers, in its menu's order
MASK_KINDS = ("none", "causal", "padding", "sliding window", "causal + padding", "sliding window + padding")


def toy_mask(kind: str, n: int, window: int = 3, length: int | None = None) -> np.ndarray:
    """Return the bool (n, n) mask of one sequence, True = may attend, for a kind in MASK_KINDS.

    window: the sliding window (each query sees itself and window - 1 earlier keys); length: the
    number of real tokens, the last n - length positions being padding (padding hides those keys).
    """
    from ..reference.masks import causal_mask, padding_attention_mask, sliding_window_mask

    if kind not in MASK_KINDS:
        raise ValueError(f"kind must be one of {MASK_KINDS}, got {kind!r}")
    length = n if length is None else length
    if not 0 <= length <= n:
        raise ValueError(f"length must lie in [0, n={n}], got {length}")
    mask = np.ones((n, n), dtype=bool)
    if "causal" in kind:
        mask &= causal_mask(n)
    if "sliding window" in kind:
        mask &= sliding_window_mask(n, window)
    if "padding" in kind:
        mask &= padding_attention_mask([length], n)[0]
    return mask


def draw_masking(axes: Sequence[plt.Axes], scores: np.ndarray, mask: np.ndarray, title: str = "",
                 labels: Sequence[str] | None = None) -> None:
    """Draw one sequence's weights before (axes[0]) and after (axes[1]) a mask, blocked entries crossed.

    Up to n = 8 the weights are written in the cells and the cross sits in a blocked cell's corner,
    clear of its number; past that the cross covers the cell.

    scores: (n, n) raw scores; mask: bool (n, n), True = may attend. Before: the softmax of the
    raw scores. After: blocked scores set to -inf before the softmax, so every row is
    renormalised over the keys it may still see (a row that may see none is all zeros).
    """
    from ..reference.attention import masked_softmax
    from .plots import attention_heatmap

    scores = np.asarray(scores, dtype=float)
    mask = np.asarray(mask)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or mask.shape != scores.shape or mask.dtype != bool:
        raise ValueError(f"need square scores (n, n) and a bool mask of the same shape, got scores {scores.shape}, mask {mask.shape} {mask.dtype}")
    n = scores.shape[0]
    annotate = n <= 8
    rows, cols = np.nonzero(~mask)
    for ax, weights, name in ((axes[0], softmax(scores), "before the mask"),
                              (axes[1], masked_softmax(scores, mask), f"after: {title}" if title else "after the mask")):
        attention_heatmap(weights, labels, labels, ax=ax, title=name, annotate=annotate)
        if annotate:  # numbers in the cells: a small cross in each blocked cell's top-right corner
            ax.scatter(cols + 0.3, rows - 0.3, marker="x", s=40, color="#e8413c", linewidths=1.6)
        else:         # no numbers: a cross over the whole cell
            ax.scatter(cols, rows, marker="x", s=2400 / max(n, 6), color="#e8413c", linewidths=1.6, alpha=0.85)


def mask_explorer(scores: np.ndarray, labels: Sequence[str] | None = None) -> widgets.Widget:
    """Return a widget: pick a mask, a length, a window and the padding; see the weights before and after.

    scores: (N, N) raw scores of a toy sequence; the widget shows the top-left (n, n) block for
    n from 2 to N. Left: the softmax of the raw scores, with the entries the mask blocks crossed
    out; right: the masked softmax, each row renormalised over the keys it may still see.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores must be a square (N, N) matrix with N >= 2, got shape {scores.shape}")
    big_n = scores.shape[0]
    if labels is not None and len(labels) != big_n:
        raise ValueError(f"need one label per position: scores {scores.shape}, {len(labels)} labels")

    def show(kind: str, n: int, window: int, padded: int) -> None:
        length = max(n - padded, 1)
        mask = toy_mask(kind, n, window, length)
        parts = [kind + " mask"]
        if "window" in kind:
            parts.append(f"window {window}")
        if "padding" in kind:
            parts.append(f"{n - length} padded")
        _, axes = plt.subplots(1, 2, figsize=(11, 4.4))
        draw_masking(axes, scores[:n, :n], mask, ", ".join(parts), None if labels is None else list(labels[:n]))
        plt.tight_layout()
        plt.show()

    return widgets.interactive(
        show,
        kind=widgets.Dropdown(options=MASK_KINDS, value="causal", description="mask"),
        n=widgets.IntSlider(value=min(6, big_n), min=2, max=big_n, description="length n"),
        window=widgets.IntSlider(value=3, min=1, max=big_n, description="window"),
        padded=widgets.IntSlider(value=2, min=0, max=big_n - 1, description="padded"),
    )


# ---------------------------------------------------------------- notebook 06: hand-set heads

def head_patterns_explorer(sentence: str, keyword: str, sharpness: float = 6.0) -> widgets.Widget:
    """Return a widget: type a sentence and a keyword, move the sharpness, see the three hand-set heads.

    The heads are ``head_patterns.hand_set_heads`` (previous token, same token, keyword), run
    through ``multi_head_attention``; one heat map (n, n) per head. Words are separated by spaces;
    a keyword that is not in the sentence, or an empty sentence, is reported instead of drawn.
    """
    from ..models.head_patterns import HEAD_NAMES, hand_set_heads
    from ..reference.heads import multi_head_attention
    from .plots import attention_heatmap

    def show(sentence: str, keyword: str, sharpness: float) -> None:
        tokens = sentence.lower().split()[:16]
        try:
            toy = hand_set_heads(tokens, keyword.strip().lower(), sharpness)
        except ValueError as exc:
            print(f"Cannot draw: {exc}")
            return
        _, weights = multi_head_attention(toy.x, toy.x, toy.W_q, toy.W_k, toy.W_v, toy.W_o, toy.n_heads)
        labels = [f"{t} {p}" for p, t in enumerate(tokens)]
        n = len(tokens)
        _, axes = plt.subplots(1, 3, figsize=(15, 1.6 + 0.42 * max(n, 5)))
        for h, ax in enumerate(axes):
            attention_heatmap(weights[h], labels, labels, ax=ax, annotate=n <= 8,
                              title=f"head {h}: {HEAD_NAMES[h]}")
        plt.tight_layout()
        plt.show()

    return widgets.interactive(
        show,
        sentence=widgets.Text(value=sentence, description="sentence", continuous_update=False,
                              layout=widgets.Layout(width="60%")),
        keyword=widgets.Text(value=keyword, description="keyword", continuous_update=False),
        sharpness=widgets.FloatSlider(value=sharpness, min=0.5, max=12.0, step=0.5, description="sharpness",
                                      continuous_update=False),
    )


# ---------------------------------------------------------------- notebook 05: a query moving along a line

from collections.abc import Callable  # noqa: E402 (this section is appended to the module)


def draw_query_on_a_line(
    axes: Sequence[plt.Axes],
    key_positions: np.ndarray,
    weight_fns: dict[str, Callable[[float], np.ndarray]],
    query: float,
) -> None:
    """Draw one bar chart per scorer: the weights (n_k,) of keys on a line for a query at ``query``.

    key_positions: (n_k,) increasing positions of the keys; weight_fns: scorer name -> function
    of the query position returning the (n_k,) weights; one axes per scorer. A dashed line marks
    where the query sits among the keys.
    """
    key_positions = np.asarray(key_positions, dtype=float)
    if key_positions.ndim != 1 or np.any(np.diff(key_positions) <= 0):
        raise ValueError(f"key_positions must be increasing positions (n_k,), got {key_positions}")
    if len(axes) != len(weight_fns):
        raise ValueError(f"need one axes per scorer: {len(axes)} axes for {len(weight_fns)} scorers")
    labels = [f"{x:g}" for x in key_positions]
    where = np.interp(query, key_positions, np.arange(len(key_positions)))
    for ax, (name, fn) in zip(axes, weight_fns.items()):
        weights = np.asarray(fn(query), dtype=float)
        weight_bars(weights, labels, ax=ax, title=f"{name}\nquery at {query:+.1f}: top key {labels[int(np.argmax(weights))]}")
        ax.axvline(where, color="grey", ls="--", lw=1.5)
        ax.set_xlabel("key position (dashed: the query)")


def query_on_a_line_slider(
    key_positions: np.ndarray,
    weight_fns: dict[str, Callable[[float], np.ndarray]],
    q_min: float = -3.0,
    q_max: float = 3.0,
) -> widgets.Widget:
    """Return a widget: a slider for the query's position and, per scorer, the weights of the keys.

    See ``draw_query_on_a_line`` for the arguments; the query moves from q_min to q_max.
    """
    if not q_min < q_max:
        raise ValueError(f"need q_min < q_max, got {q_min} and {q_max}")

    def show(query: float) -> None:
        _, axes = plt.subplots(1, len(weight_fns), figsize=(5.2 * len(weight_fns), 3.6), sharey=True)
        draw_query_on_a_line(np.atleast_1d(axes), key_positions, weight_fns, query)
        plt.tight_layout()
        plt.show()

    slider = widgets.FloatSlider(value=0.5, min=q_min, max=q_max, step=0.1, description="query at",
                                 continuous_update=True, readout_format="+.1f")
    return widgets.interactive(show, query=slider)
