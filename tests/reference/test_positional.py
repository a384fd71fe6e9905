"""Sinusoidal positional encodings (attnlib.reference.positional, notebooks 03 and 11).

They follow the formula, every position is distinct, and bad sizes are refused.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from attnlib.reference.positional import sinusoidal_positions


@pytest.mark.parametrize("n, d", [(1, 1), (5, 4), (7, 9), (50, 16)])
def test_sinusoidal_positions_follow_the_formula(n, d):
    pe = sinusoidal_positions(n, d)
    assert pe.shape == (n, d)
    for p in range(n):
        for i in range(d):
            angle = p / 10000 ** (2 * (i // 2) / d)
            assert pe[p, i] == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle), abs=1e-12)


def test_positions_are_distinct():
    pe = sinusoidal_positions(64, 16)
    distances = np.linalg.norm(pe[:, None] - pe[None, :], axis=-1)
    assert (distances + np.eye(64) > 1e-6).all()


@pytest.mark.parametrize("args, fragment", [((0, 4), "n"), ((4, 0), "d"), ((4, 4, 1.0), "base")])
def test_positions_reject_bad_sizes(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        sinusoidal_positions(*args)
