"""Checks for notebook 01: softmax and scaled dot-product attention."""
from __future__ import annotations

import numpy as np

from ..reference import attention as ref
from .harness import Case, Check, Mistake
from .predictions import Prediction

# ------------------------------------------------------------------ softmax


def _other_axis(x: np.ndarray, axis: int) -> int:
    """Return an axis of x other than ``axis`` (the one a wrong-axis softmax would use)."""
    axis = axis % x.ndim
    return 0 if axis != 0 else x.ndim - 1


def _softmax_cases() -> list[Case]:
    rng = np.random.default_rng(101)
    return [
        Case("three scores", {"x": np.array([2.0, 1.0, 0.1])}),
        Case("a random batch of rows", {"x": rng.normal(size=(4, 6))}),
        Case("a random matrix, axis=0", {"x": rng.normal(size=(3, 5))}, {"axis": 0}),
        Case("a random 3-D array, axis=1", {"x": rng.normal(size=(2, 3, 4)) * 3}, {"axis": 1}),
        Case(
            "large scores",
            {"x": np.array([[1000.0, 999.0, 998.0], [1.0, 2.0, 3.0]])},
            hint="np.exp(1000) overflows to inf: subtract each row's maximum before np.exp.",
        ),
        Case(
            "rows on very different scales",
            {"x": np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]])},
            hint="subtract each row's own maximum (keepdims=True), not one maximum for the whole array.",
        ),
        Case(
            "a row spanning a wide range",
            {"x": np.array([[0.0, 800.0, 400.0]])},
            hint="np.exp overflows past about 709: subtract each row's maximum, so every exponent is <= 0.",
        ),
        Case("float32 input", {"x": rng.normal(size=(3, 4)).astype(np.float32)}),
    ]


def _softmax_wrong_axis(x, axis=-1):
    x = np.asarray(x, dtype=float)
    return ref.softmax(x, axis=_other_axis(x, axis)) if x.ndim > 1 else ref.softmax(x)


def _softmax_ignores_axis(x, axis=-1):
    return ref.softmax(x, axis=-1)


def _softmax_no_max(x, axis=-1):
    e = np.exp(np.asarray(x, dtype=float))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_min(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.min(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_global_max(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max())
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_no_keepdims(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis)


def _softmax_no_exp(x, axis=-1):
    x = np.asarray(x, dtype=float)
    return x / x.sum(axis=axis, keepdims=True)


def _softmax_unnormalised(x, axis=-1):
    x = np.asarray(x, dtype=float)
    return np.exp(x - x.max(axis=axis, keepdims=True))


softmax = Check(
    name="softmax",
    notebook="01",
    summary="a numerically stable softmax along any axis",
    reference=ref.softmax,
    cases=_softmax_cases,
    mistakes=[
        Mistake("your function ignores its `axis` argument: pass axis=axis to max and sum", _softmax_ignores_axis),
        Mistake(
            "your values sum to 1 along another axis than `axis`: normalise along the axis you are "
            "given, e.g. e.sum(axis=axis, keepdims=True)",
            _softmax_wrong_axis,
        ),
        Mistake(
            "np.exp overflows on large scores and gives NaN: subtract the maximum along `axis` "
            "(keepdims=True) before np.exp; the softmax does not change when every entry of a row "
            "is shifted by the same number",
            _softmax_no_max,
        ),
        Mistake(
            "you subtracted the minimum: that makes every exponent >= 0, so a row spanning more than "
            "about 709 still overflows. Subtract the maximum, so every exponent is <= 0",
            _softmax_min,
        ),
        Mistake(
            "you subtracted one maximum for the whole array, so a row far below it underflows to "
            "0/0 = NaN: subtract each row's own maximum, x.max(axis=axis, keepdims=True)",
            _softmax_global_max,
        ),
        Mistake(
            "you divided by sums taken without keepdims=True, so numpy lined them up along the wrong "
            "axis: use e.sum(axis=axis, keepdims=True)",
            _softmax_no_keepdims,
        ),
        Mistake("you divided the scores by their sum: the softmax exponentiates them first (np.exp)", _softmax_no_exp),
        Mistake("your values are exponentiated but not normalised: divide by their sum along `axis`", _softmax_unnormalised),
    ],
    success="stable and correct on every axis, including scores of 1000",
)

# ------------------------------------------------------------------ scaled dot-product attention


def _qkv(rng: np.random.Generator, batch: tuple, n_q: int, n_k: int, d_k: int, d_v: int, scale: float = 1.0):
    return {
        "q": rng.normal(size=batch + (n_q, d_k)) * scale,
        "k": rng.normal(size=batch + (n_k, d_k)),
        "v": rng.normal(size=batch + (n_k, d_v)),
    }


def _sdpa_cases() -> list[Case]:
    rng = np.random.default_rng(102)
    masked = _qkv(rng, (), 4, 5, 4, 3)
    row_blocked = np.array(
        [[True, False, False, False], [False, False, False, False], [True, True, False, True]]
    )
    return [
        Case("a small example without a mask", _qkv(rng, (), 3, 5, 4, 2)),
        Case("a batch with two heads", _qkv(rng, (2, 2), 4, 6, 8, 5)),
        Case("a random mask", masked, {"mask": rng.random((4, 5)) < 0.6},
             hint="set blocked scores (mask False) to -inf before the softmax."),
        Case(
            "a mask whose second row allows no key",
            _qkv(rng, (), 3, 4, 4, 2),
            {"mask": row_blocked},
            hint="a row with no allowed key must give zero weights and a zero output (the course's "
            "convention, and F.scaled_dot_product_attention's): set that row's weights to 0 instead of "
            "letting -inf - (-inf) or 0/0 make them NaN.",
        ),
        Case("a padding mask broadcast over queries", _qkv(rng, (2,), 3, 4, 4, 2),
             {"mask": np.array([[[True, True, True, False]], [[True, True, False, False]]])}),
        Case("large scores", _qkv(rng, (), 3, 4, 16, 2, scale=60.0),
             hint="the scores here reach the hundreds: use a stable softmax (subtract each row's maximum)."),
    ]


def _sdpa_with(score_fn, weight_fn=None):
    """Return an attention function that scores with ``score_fn`` and weights with ``weight_fn``."""

    def attention(q, k, v, mask=None):
        s = score_fn(np.asarray(q, float), np.asarray(k, float))
        w = weight_fn(s, mask) if weight_fn else ref.masked_softmax(s, mask)
        return w @ v, w

    return attention


def _scores(scale):
    return lambda q, k: q @ np.swapaxes(k, -1, -2) / scale(q, k)


_sqrt_dk = _scores(lambda q, k: np.sqrt(q.shape[-1]))


def _naive_masked(s, mask):
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _finite_masked(s, mask):
    return ref.softmax(np.where(mask, s, -1e9) if mask is not None else s)


# weight functions (scores, mask) -> weights that get a fully blocked row wrong, shared by the checks
SDPA_BLOCKED_ROW = {"nan": _naive_masked, "uniform": _finite_masked}


def _mask_after_softmax(s, mask):
    w = ref.softmax(s)
    return w * mask if mask is not None else w


def _sdpa_scaled_after_softmax(q, k, v, mask=None):
    q = np.asarray(q, dtype=float)
    s = q @ np.swapaxes(k, -1, -2)
    w = ref.masked_softmax(s, mask) / np.sqrt(q.shape[-1])
    return w @ v, w


def _sdpa_scaled_by_axis(axis):
    return _sdpa_with(_scores(lambda q, k: np.sqrt(q.shape[axis])))


def _sdpa_scaled_by_dv(q, k, v, mask=None):
    s = np.asarray(q) @ np.swapaxes(k, -1, -2) / np.sqrt(np.shape(v)[-1])
    w = ref.masked_softmax(s, mask)
    return w @ v, w


#: mistakes of dot-product attention by name; grouped-query attention reuses some of them
SDPA_MISTAKES = {
    "no scale": Mistake("the scores are not scaled: divide q·k by sqrt(d_k) before the softmax", _sdpa_with(_scores(lambda q, k: 1.0))),
    "scale by d": Mistake("you divided the scores by d_k; the scale is 1/sqrt(d_k) (np.sqrt(q.shape[-1]))", _sdpa_with(_scores(lambda q, k: q.shape[-1]))),
    **{
        f"d_k from axis {axis}": Mistake(
            "you took d_k from the wrong axis: d_k is the width of the queries and keys, q.shape[-1] "
            "(the last axis), whatever leading batch or head axes there are",
            _sdpa_scaled_by_axis(axis),
        )
        for axis in (0, 1, -2)
    },
    "scale after softmax": Mistake(
        "you scaled after the softmax, so the weights no longer sum to 1: divide the *scores* by "
        "sqrt(d_k), before the softmax",
        _sdpa_scaled_after_softmax,
    ),
    "scale by d_v": Mistake("you scaled by the width of the values d_v; the scale uses d_k, the width of q and k", _sdpa_scaled_by_dv),
    "wrong axis": Mistake(
        "your weights sum to 1 down each column (over the queries): take the softmax over the last "
        "axis, the keys, so that each query's row sums to 1",
        _sdpa_with(_sqrt_dk, lambda s, m: ref.softmax(np.where(m, s, -np.inf) if m is not None else s, axis=-2)),
    ),
    "mask inverted": Mistake(
        "your mask is inverted: True means *may attend* (as in F.scaled_dot_product_attention), so "
        "block the entries where the mask is False",
        _sdpa_with(_sqrt_dk, lambda s, m: ref.masked_softmax(s, ~m if m is not None else None)),
    ),
    "mask ignored": Mistake("the mask is ignored: set the scores where mask is False to -inf before the softmax", _sdpa_with(_sqrt_dk, lambda s, m: ref.softmax(s))),
    "mask after softmax": Mistake(
        "you zeroed the blocked weights after the softmax, so the rows no longer sum to 1: block "
        "the scores before the softmax (set them to -inf)",
        _sdpa_with(_sqrt_dk, _mask_after_softmax),
    ),
    "blocked row NaN": Mistake(
        "a query row whose mask allows no key gave NaN (its maximum is -inf, and -inf - (-inf) is NaN; "
        "without the maximum, 0/0): the course's convention, like PyTorch's "
        "F.scaled_dot_product_attention, is zero weights and a zero output for such a row",
        _sdpa_with(_sqrt_dk, _naive_masked),
    ),
    "blocked row uniform": Mistake(
        "a query row whose mask allows no key got uniform weights: a large negative number instead "
        "of -inf still leaves a softmax of equal values. Such a row must get zero weights",
        _sdpa_with(_sqrt_dk, _finite_masked),
    ),
}

scaled_dot_product_attention = Check(
    name="scaled_dot_product_attention",
    notebook="01",
    summary="softmax(q k^T / sqrt(d_k)) v with an optional bool mask, returning (out, weights)",
    reference=ref.scaled_dot_product_attention,
    cases=_sdpa_cases,
    mistakes=list(SDPA_MISTAKES.values()),
    output="pair",
    success="out and weights match on batched inputs, masks, an all-blocked row and large scores",
)

# ------------------------------------------------------------------ predictions (notebook 01)

HAND_SCORES = np.array([2.0, 1.0, 0.1])

hand_softmax = Prediction(
    name="hand_softmax",
    notebook="01",
    summary="predict, by hand, the softmax of the scores [2, 1, 0.1]",
    expected=lambda: ref.softmax(HAND_SCORES),
    tolerance=0.011,
    explain="exponentiate each score, then divide by the sum of the exponentials",
    wrong=[
        (lambda: ref.softmax(HAND_SCORES)[::-1], "the order matters: the first weight belongs to the first score, 2 (the largest)"),
        (lambda: HAND_SCORES / HAND_SCORES.sum(), "you divided the scores by their sum: exponentiate them first (e^2, e^1, e^0.1)"),
        (lambda: np.exp(HAND_SCORES), "those are the exponentials: now divide each by their sum so the weights add up to 1"),
    ],
)

sharpened_softmax = Prediction(
    name="sharpened_softmax",
    notebook="01",
    summary="predict the largest weight when the scores [2, 1, 0.1] are multiplied by 10",
    expected=lambda: ref.softmax(10 * HAND_SCORES)[0],
    tolerance=0.011,
    explain="multiplying the scores widens the gaps between them, and the softmax turns almost one-hot",
    wrong=[
        (lambda: ref.softmax(HAND_SCORES)[0], "that is the weight before scaling: multiplying every score by 10 widens the gaps tenfold, so the top weight grows"),
    ],
)
