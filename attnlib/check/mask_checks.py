"""Checks for the mask exercises: causal, padding, padding as an attention mask, sliding window."""
from __future__ import annotations

import numpy as np

from .. import masks as ref
from .harness import Case, Check, Mistake

_CONVENTION = (
    "your mask is inverted: in this course (and in F.scaled_dot_product_attention) True means "
    "*may attend*; nn.MultiheadAttention's masks are the ones where True means blocked"
)


def _n_cases(*sizes: int) -> list[Case]:
    return [Case(f"n={n}", {"n": n}) for n in sizes]


causal_mask = Check(
    name="causal_mask",
    notebook="03",
    summary="the (n, n) bool mask where query i may see keys j <= i",
    reference=ref.causal_mask,
    cases=lambda: _n_cases(1, 2, 5, 8),
    mistakes=[
        Mistake("the diagonal is blocked: a position may attend to itself, so allow j <= i (np.tril with k=0)", lambda n: np.tril(np.ones((n, n), dtype=bool), k=-1)),
        Mistake("you allowed j >= i, the transpose: the future is visible and the past hidden. Query i (row i) may see keys j <= i: the lower triangle", lambda n: np.triu(np.ones((n, n), dtype=bool))),
        Mistake(_CONVENTION, lambda n: ~ref.causal_mask(n)),
        Mistake("nothing is blocked: a causal mask hides the future, the keys j > i", lambda n: np.ones((n, n), dtype=bool)),
    ],
)


def _padding_cases() -> list[Case]:
    return [
        Case("three sequences", {"lengths": np.array([3, 5, 1]), "n": 5}),
        Case("a sequence of length 0 and a full one", {"lengths": np.array([0, 4]), "n": 4}),
        Case("lengths given as a list", {"lengths": [2, 6, 3, 1], "n": 6}),
    ]


def _lengths(lengths) -> np.ndarray:
    return np.asarray(lengths)[:, None]


padding_mask = Check(
    name="padding_mask",
    notebook="03",
    summary="the (batch, n) bool mask that is True on the real tokens, j < lengths[b]",
    reference=ref.padding_mask,
    cases=_padding_cases,
    mistakes=[
        Mistake("your mask marks the padding, not the real tokens: True should mean a real token (j < length)", lambda lengths, n: ~ref.padding_mask(lengths, n)),
        Mistake("off by one: a sequence of length L has real tokens at positions 0 .. L-1, so use j < L, not j <= L", lambda lengths, n: np.arange(n)[None, :] <= _lengths(lengths)),
        Mistake("off by one: position L-1 is still a real token, so use j < L, not j < L-1", lambda lengths, n: np.arange(n)[None, :] < _lengths(lengths) - 1),
        Mistake("your mask has one row per position and one column per sequence: the shape is (batch, n), one row per sequence", lambda lengths, n: ref.padding_mask(lengths, n).T),
    ],
)

padding_attention_mask = Check(
    name="padding_attention_mask",
    notebook="03",
    summary="the (batch, n, n) attention mask that hides padded keys: [b, i, j] = j < lengths[b]",
    reference=ref.padding_attention_mask,
    cases=_padding_cases,
    mistakes=[
        Mistake(
            "you hid the padded *queries* (rows) instead of the padded *keys* (columns): every real "
            "token would still read from the padding. Block column j when j >= length",
            lambda lengths, n: np.swapaxes(ref.padding_attention_mask(lengths, n), -1, -2),
        ),
        Mistake(
            "you also blocked the rows of the padded queries: only the keys need hiding (the outputs "
            "at padded positions are ignored anyway, and a fully blocked row has no key left to attend to)",
            lambda lengths, n: ref.padding_attention_mask(lengths, n) & np.swapaxes(ref.padding_attention_mask(lengths, n), -1, -2),
        ),
        Mistake(_CONVENTION, lambda lengths, n: ~ref.padding_attention_mask(lengths, n)),
    ],
)


def _window_band(n: int, lo: int, hi: int) -> np.ndarray:
    """Return the bool (n, n) band lo <= i - j <= hi."""
    offset = np.arange(n)[:, None] - np.arange(n)[None, :]
    return (offset >= lo) & (offset <= hi)


sliding_window_mask = Check(
    name="sliding_window_mask",
    notebook="08",
    summary="the causal (n, n) bool mask where query i sees keys i - window < j <= i",
    reference=ref.sliding_window_mask,
    cases=lambda: [
        Case("n=6, window=3", {"n": 6, "window": 3}),
        Case("n=5, window=2", {"n": 5, "window": 2}),
        Case("window 1: each token sees only itself", {"n": 4, "window": 1}),
        Case("a window longer than the sequence", {"n": 4, "window": 10}, hint="when window >= n the mask is the plain causal mask."),
    ],
    mistakes=[
        Mistake("off by one: each position sees itself and window - 1 earlier positions, window in all, so allow 0 <= i - j < window (you allowed i - j <= window)", lambda n, window: _window_band(n, 0, window)),
        Mistake("off by one: each position sees itself and window - 1 earlier positions, window in all (you allowed only window - 1)", lambda n, window: _window_band(n, 0, window - 2)),
        Mistake("the future is visible: the sliding window is causal here, so keys j > i stay blocked", lambda n, window: _window_band(n, -(window - 1), window - 1)),
        Mistake("the diagonal is blocked: each position must see itself", lambda n, window: _window_band(n, 1, window - 1)),
        Mistake("you allowed the transpose (j >= i): the window looks back, at keys j <= i", lambda n, window: ref.sliding_window_mask(n, window).T),
        Mistake(_CONVENTION, lambda n, window: ~ref.sliding_window_mask(n, window)),
    ],
)
