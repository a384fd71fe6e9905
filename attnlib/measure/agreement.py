"""Say how closely two results agree, without printing digits that come from rounding.

Two exact methods (a loop and its vectorised twin, a cached and an uncached decoder, attnlib and
PyTorch) agree only up to rounding, and the digits of that rounding depend on the CPU: which BLAS
kernel ran, in which order a sum was added up. A notebook that printed ``max |difference| = 1.6e-15``
would print ``1.1e-15`` on another machine. So the notebooks print a bound instead, and the bound
is asserted here on the real value.
"""
from __future__ import annotations

import numpy as np


def max_abs_difference(a, b) -> float:
    """Return max |a - b| over all entries, for arrays (or tensors) a and b of the same shape."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    return float(np.abs(a - b).max()) if a.size else 0.0


def below(a, b, bound: float = 1e-12, what: str = "max |difference|") -> str:
    """Return e.g. ``"max |difference| < 1e-12"`` for arrays a and b, after checking that it holds.

    Raises AssertionError with the real difference when max |a - b| >= bound: the bound is a claim
    the notebook prints, so it must be true wherever the notebook runs.
    """
    if not bound > 0:
        raise ValueError(f"bound must be a positive number, got {bound!r}")
    diff = max_abs_difference(a, b)
    if not diff < bound:  # also catches NaN
        raise AssertionError(f"{what} = {diff:.3g}, not below {_short(bound)}")
    return f"{what} < {_short(bound)}"


def _short(bound: float) -> str:
    """Return a bound as people write it: 1e-12, 1e-4, 0.01, 0.5."""
    return f"{bound:g}" if bound >= 1e-3 else f"{bound:.0e}".replace("e-0", "e-")
