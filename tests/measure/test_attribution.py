"""Notebook 10's attribution (attnlib.measure.attribution): which input tokens an output depends on.

Weighted value norms by hand; occlusion and gradient x input agree on a linear function, and
gradient x input of a nonlinear one is autograd's.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.measure import attribution


def test_weighted_value_norms():
    w = np.array([[0.5, 0.5], [0.9, 0.1]])
    v = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(attribution.weighted_value_norms(w, v), [[2.5, 0.0], [4.5, 0.0]])
    batched = attribution.weighted_value_norms(np.ones((2, 3, 4)) / 4, np.ones((2, 4, 5)))
    assert batched.shape == (2, 3, 4)
    with pytest.raises(ValueError, match="one value per key"):
        attribution.weighted_value_norms(np.ones((3, 4)), np.ones((5, 2)))


def test_occlusion_and_gradient_times_input_agree_on_a_linear_function():
    rng = np.random.default_rng(14)
    a, x = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(attribution.occlusion(lambda z: float((a * z).sum()), x), (a * x).sum(axis=1))
    np.testing.assert_allclose(attribution.gradient_times_input(lambda z: (torch.from_numpy(a) * z).sum(), x), (a * x).sum(axis=1))
    np.testing.assert_allclose(attribution.occlusion(lambda z: float((a * z).sum()), x, features=[0]), a[:, 0] * x[:, 0])
    np.testing.assert_allclose(attribution.gradient_times_input(lambda z: (torch.from_numpy(a) * z).sum(), x, features=[1, 2]),
                               (a * x)[:, 1:].sum(axis=1))


def test_gradient_times_input_of_a_nonlinear_function_uses_autograd():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    # f = sum of squares: grad = 2x, so grad * x summed per row = 2 |x_j|^2
    np.testing.assert_allclose(attribution.gradient_times_input(lambda z: (z**2).sum(), x), 2 * (x**2).sum(axis=1))
    with pytest.raises(ValueError, match="one number"):
        attribution.gradient_times_input(lambda z: z.sum(0), x)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        attribution.occlusion(lambda z: 0.0, np.ones((2, 2, 2)))
