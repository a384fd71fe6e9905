"""Boolean attention masks, True = may attend (the convention of F.scaled_dot_product_attention).

nn.MultiheadAttention's ``attn_mask`` and ``key_padding_mask`` use the opposite convention
(True = blocked): pass ``~mask`` there.
"""
from __future__ import annotations

import numpy as np

from .validate import positive_int


def causal_mask(n: int) -> np.ndarray:
    """Return the bool (n, n) causal mask: entry [i, j] is True when j <= i (no peeking ahead)."""
    n = positive_int("n", n)
    return np.tril(np.ones((n, n), dtype=bool))


def _lengths(lengths: object, n: int) -> np.ndarray:
    """Return ``lengths`` as a 1-D int array with every entry in [0, n], or raise ValueError."""
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"lengths must be a non-empty 1-D sequence of integers (one per batch entry), "
            f"got {arr.dtype} array of shape {arr.shape}"
        )
    bad = arr[(arr < 0) | (arr > n)]
    if bad.size:
        raise ValueError(f"every length must lie in [0, n={n}], got {bad.tolist()}")
    return arr


def padding_mask(lengths: object, n: int) -> np.ndarray:
    """Return the bool (batch, n) padding mask: [b, j] is True when j < lengths[b] (a real token).

    lengths: (batch,) ints in [0, n], the number of real tokens at the start of each sequence.
    """
    n = positive_int("n", n)
    return np.arange(n)[None, :] < _lengths(lengths, n)[:, None]


def padding_attention_mask(lengths: object, n: int) -> np.ndarray:
    """Return the bool (batch, n, n) attention mask that hides padded keys: [b, i, j] = j < lengths[b].

    Padding is hidden from every query by blocking the padded *keys* (columns). Rows of padded
    queries stay as they are: their outputs are simply ignored later.
    """
    keys = padding_mask(lengths, n)  # (batch, n)
    return np.broadcast_to(keys[:, None, :], (keys.shape[0], keys.shape[1], keys.shape[1])).copy()


def sliding_window_mask(n: int, window: int) -> np.ndarray:
    """Return the bool (n, n) causal sliding-window mask: [i, j] is True when i - window < j <= i.

    Each position sees itself and the ``window - 1`` positions before it: a window of 4096 means
    4096 positions including the current one. This is the course's convention. Mistral 7B's paper
    reads both ways (Jiang et al. 2023, section 2 says positions i - W to i, W + 1 of them; the
    Figure 1 caption says at most W tokens), and implementations differ by one: FlashAttention's
    ``window_size=(W, 0)`` covers W + 1 positions.
    """
    n = positive_int("n", n)
    window = positive_int("window", window)
    offset = np.arange(n)[:, None] - np.arange(n)[None, :]  # i - j
    return (offset >= 0) & (offset < window)
