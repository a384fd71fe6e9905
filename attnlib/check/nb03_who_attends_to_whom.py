"""Checks for notebook 03 (who attends to whom): the causal mask, padding, padding as an attention mask.

Also two predictions: how many keys each query of a causal mask sees, and what a
causal mask does to one row of weights (the allowed weights are renormalised).
"""
from __future__ import annotations

import numpy as np

from ..reference import masks as ref
from ..reference.attention import masked_softmax
from .harness import Case, Check, Mistake
from .predictions import Prediction

MASK_CONVENTION = (
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
        Mistake(MASK_CONVENTION, lambda n: ~ref.causal_mask(n)),
        Mistake("nothing is blocked: a causal mask hides the future, the keys j > i", lambda n: np.ones((n, n), dtype=bool)),
    ],
)


#: the sequence length of the by-hand causal grid (notebook 03)
GRID_N = 5

causal_row_counts = Prediction(
    name="causal_row_counts",
    notebook="03",
    summary=f"count, by hand, how many keys each query of a {GRID_N} x {GRID_N} causal mask may attend to",
    expected=lambda: ref.causal_mask(GRID_N).sum(axis=1),
    tolerance=0.01,
    explain="query i sees keys 0 .. i, itself included: i + 1 keys, so the counts grow by one per row",
    wrong=[
        (lambda: ref.causal_mask(GRID_N).sum(axis=1) - 1, "you blocked the diagonal: a token may attend to itself, so query i sees keys 0 .. i, i + 1 of them"),
        (lambda: ref.causal_mask(GRID_N).sum(axis=1)[::-1], "that is the transpose, where query i sees the keys after it: a causal mask hides the future, so the first query sees the fewest keys"),
        (lambda: (~ref.causal_mask(GRID_N)).sum(axis=1), "you counted the blocked entries of each row: count the keys each query may still attend to"),
        (lambda: np.full(GRID_N, GRID_N), "that is the unmasked count: without a mask every query sees all keys, but the causal mask hides the keys after the query"),
    ],
)

#: the weights of query 1 over four keys before the causal mask (notebook 03)
ROW_WEIGHTS = np.array([0.1, 0.2, 0.3, 0.4])
ROW_QUERY = 1


def _renormalised() -> np.ndarray:
    """Return the causal-masked weights of query ROW_QUERY: the softmax of log(ROW_WEIGHTS) over the keys it may see."""
    return masked_softmax(np.log(ROW_WEIGHTS), ref.causal_mask(ROW_WEIGHTS.size)[ROW_QUERY])


renormalised_row = Prediction(
    name="renormalised_row",
    notebook="03",
    summary="predict the weights [0.1, 0.2, 0.3, 0.4] of query 1 after a causal mask",
    expected=_renormalised,
    tolerance=0.011,
    explain="the blocked weights drop to 0 and the allowed ones are rescaled to sum to 1, keeping their ratio (1 : 2)",
    wrong=[
        (lambda: np.where(ref.causal_mask(ROW_WEIGHTS.size)[ROW_QUERY], ROW_WEIGHTS, 0.0),
         "you zeroed the blocked weights but did not renormalise: the mask acts before the softmax, so the weights that are left still sum to 1"),
        (lambda: masked_softmax(np.log(ROW_WEIGHTS), ~ref.causal_mask(ROW_WEIGHTS.size)[ROW_QUERY]),
         "you kept the future keys (2 and 3) and blocked the past: query 1 may see keys 0 and 1"),
        (lambda: masked_softmax(np.log(ROW_WEIGHTS), np.arange(ROW_WEIGHTS.size) < ROW_QUERY),
         "you blocked the diagonal: query 1 may see key 1 (itself) as well as key 0"),
        (lambda: np.where(ref.causal_mask(ROW_WEIGHTS.size)[ROW_QUERY], 0.5, 0.0),
         "the allowed keys do not share the weight equally: renormalising keeps their ratio, 0.1 : 0.2"),
    ],
)


def _padding_cases() -> list[Case]:
    return [
        Case("three sequences", {"lengths": np.array([3, 5, 1]), "n": 5}),
        Case("a sequence of length 0 and a full one", {"lengths": np.array([0, 4]), "n": 4}),
        Case("lengths given as a list", {"lengths": [2, 6, 3, 1], "n": 6}),
        Case("no sequence fills the width n", {"lengths": np.array([2, 3]), "n": 5},
             hint="the mask is n wide whatever the lengths: padding runs up to n, not up to the longest sequence."),
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
        Mistake(MASK_CONVENTION, lambda lengths, n: ~ref.padding_attention_mask(lengths, n)),
    ],
)
