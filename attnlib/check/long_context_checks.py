"""Checks for notebook 08 beyond the catalogue: predictions on the KV cache and on sliding windows.

- ``kv_cache_shrink``: by how many times GQA and MQA shrink the KV cache of Llama 2 70B's shape
  against multi-head attention;
- ``sliding_window_reach``: how far back a token of the third layer can read with a window of 4.

Every expected answer is computed (from ``attnlib.model_configs`` and by composing
``attnlib.masks.sliding_window_mask`` as reachability), never typed in.
"""
from __future__ import annotations

import numpy as np

from .. import masks, model_configs
from .predictions import Prediction

# ------------------------------------------------------------------ KV cache: MHA against GQA and MQA


def _cache_ratios(numerator=model_configs.LLAMA2_70B_MHA) -> list[float]:
    """Return [cache of ``numerator`` / cache of GQA 70B, cache of ``numerator`` / cache of MQA 70B]."""
    per_token = numerator.kv_cache_bytes()
    return [per_token / model_configs.LLAMA2_70B.kv_cache_bytes(), per_token / model_configs.LLAMA2_70B_MQA.kv_cache_bytes()]


kv_cache_shrink = Prediction(
    name="kv_cache_shrink",
    notebook="08",
    summary=(
        "predict how many times smaller the KV cache of Llama 2 70B's shape (64 query heads) is with 8 "
        "key/value heads (GQA) and with 1 (MQA) than with 64 (MHA)"
    ),
    expected=_cache_ratios,
    tolerance=0.05,
    explain=(
        "the cache holds one key and one value vector per key/value head, so it is proportional to "
        "n_kv_heads: 64 / 8 = 8 times smaller with GQA, 64 / 1 = 64 times smaller with MQA; the number of "
        "query heads does not enter"
    ),
    wrong=[
        (lambda: [1 / r for r in _cache_ratios()], "those are the fractions that remain (GQA's cache over MHA's): the question asks how many times *smaller*, MHA's cache divided by the other"),
        (lambda: [1 - 1 / r for r in _cache_ratios()], "those are the fractions saved; the question asks how many times smaller the cache gets, MHA's cache divided by the other"),
        (lambda: list(reversed(_cache_ratios())), "the two are swapped: GQA keeps 8 key/value heads (8 times fewer than 64), MQA keeps 1 (64 times fewer)"),
        (lambda: [_cache_ratios()[0], _cache_ratios()[0]], "GQA's factor is right; MQA keeps a single key/value head for all 64 query heads, 64 times fewer than MHA"),
        (lambda: [1.0, 1.0], "the number of query heads does not change, but the cache stores keys and values only, one pair per key/value head: fewer key/value heads, smaller cache"),
    ],
)


# ------------------------------------------------------------------ sliding windows: the receptive field

#: the question of sliding_window_reach: a window of 4 positions (the token itself included), 3 layers
REACH_WINDOW, REACH_LAYERS = 4, 3


def reachable(n: int, window: int, n_layers: int) -> np.ndarray:
    """Return the bool (n, n) matrix: [i, j] is True when input position j can reach position i after n_layers.

    One layer of sliding-window attention lets position i read positions j with
    ``sliding_window_mask(n, window)[i, j]``; stacking layers composes these one-step links, so
    the reachability after L layers is the L-th boolean matrix power of the mask.
    """
    mask = masks.sliding_window_mask(n, window).astype(np.int64)
    reach = np.eye(n, dtype=np.int64)
    for _ in range(n_layers):
        reach = (mask @ reach > 0).astype(np.int64)
    return reach.astype(bool)


def reach_back(window: int, n_layers: int) -> int:
    """Return how many positions back the last token of layer ``n_layers`` can read, by reachability."""
    n = n_layers * window + 2  # long enough for the reach not to hit position 0
    row = reachable(n, window, n_layers)[-1]
    return int(n - 1 - np.argmax(row))  # the first True in the last row is the farthest position


sliding_window_reach = Prediction(
    name="sliding_window_reach",
    notebook="08",
    summary=(
        f"predict how many positions back a token can read after {REACH_LAYERS} layers of sliding-window "
        f"attention with a window of {REACH_WINDOW} (the token itself included)"
    ),
    expected=lambda: reach_back(REACH_WINDOW, REACH_LAYERS),
    tolerance=0.2,
    explain=(
        f"one layer reaches window - 1 = {REACH_WINDOW - 1} positions back, and each further layer reads "
        f"tokens that have already read {REACH_WINDOW - 1} further back: {REACH_LAYERS} x {REACH_WINDOW - 1} = "
        f"{REACH_LAYERS * (REACH_WINDOW - 1)}"
    ),
    wrong=[
        (lambda: REACH_LAYERS * REACH_WINDOW, f"a window of {REACH_WINDOW} holds the token itself and only {REACH_WINDOW - 1} before it, so each layer reaches {REACH_WINDOW - 1} positions further back, not {REACH_WINDOW}"),
        (lambda: REACH_LAYERS * (REACH_WINDOW - 1) + 1, "that counts the positions the token can read, itself included; the question asks how far back the farthest one is"),
        (lambda: REACH_WINDOW - 1, "that is the reach of one layer; each further layer reads tokens that already saw window - 1 further back, so the reach adds up over the layers"),
        (lambda: REACH_WINDOW, "that is the size of one window; stacking layers lets the reach grow by window - 1 per layer"),
        (lambda: REACH_WINDOW**REACH_LAYERS, "the reach adds up layer by layer (window - 1 more per layer); it does not multiply"),
        (lambda: (REACH_WINDOW - 1) ** REACH_LAYERS, "the reach adds up layer by layer (window - 1 more per layer); it does not multiply"),
    ],
)
