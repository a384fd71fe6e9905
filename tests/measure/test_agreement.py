"""attnlib.measure.agreement: printed bounds instead of rounding-level digits, asserted on the real value."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.measure import agreement


def test_below_returns_the_bound_when_it_holds():
    a = np.linspace(0, 1, 7)
    assert agreement.below(a, a + 1e-15) == "max |difference| < 1e-12"
    assert agreement.below(a, a, bound=1e-6, what="gap") == "gap < 1e-6"
    assert agreement.below(a, a, bound=1e-4) == "max |difference| < 1e-4"
    assert agreement.below(a, a, bound=0.01) == "max |difference| < 0.01"
    assert agreement.below(torch.ones(3), np.ones(3)) == "max |difference| < 1e-12"


def test_below_raises_with_the_real_difference():
    with pytest.raises(AssertionError, match=r"max \|difference\| = 0.001, not below 1e-12"):
        agreement.below(np.zeros(3), np.array([0.0, 1e-3, 0.0]))
    with pytest.raises(AssertionError, match="nan"):
        agreement.below(np.array([np.nan]), np.array([0.0]))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        agreement.below(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="positive"):
        agreement.below(np.zeros(2), np.zeros(2), bound=0)
    assert agreement.max_abs_difference(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
