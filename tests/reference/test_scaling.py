"""attnlib.reference.scaling: the measurement helpers of notebook 04, against torch and closed forms."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attnlib.reference import scaling
from attnlib import softmax, split_heads


def test_dot_product_variance_is_d_k_in_chunks():
    rng = np.random.default_rng(0)
    for d_k in (1, 16, 256):
        samples = scaling.dot_products(d_k, 40_000, rng)
        assert samples.shape == (40_000,)
        assert abs(samples.var() / d_k - 1) < 0.05
    # chunking must not change the result: a chunk of one row per draw gives the same numbers
    a = scaling.dot_products(4, 10, np.random.default_rng(1))
    q_k = np.random.default_rng(1)
    q, k = q_k.standard_normal((10, 4)), q_k.standard_normal((10, 4))
    np.testing.assert_allclose(a, (q * k).sum(-1))


def test_score_rows_shape_and_variance():
    rows = scaling.score_rows(64, 500, 8, np.random.default_rng(2))
    assert rows.shape == (500, 8)
    assert abs(rows.var() / 64 - 1) < 0.1


def test_fixed_row_scores_grow_by_adding_terms():
    small, big = scaling.fixed_row_scores(3, n_keys=5, seed=4), scaling.fixed_row_scores(4, n_keys=5, seed=4)
    rng = np.random.default_rng(4)
    q, k = rng.standard_normal(1024), rng.standard_normal((5, 1024))
    np.testing.assert_allclose(small, k[:, :3] @ q[:3])
    np.testing.assert_allclose(big - small, k[:, 3] * q[3])


def test_softmax_entropy_bounds():
    assert scaling.softmax_entropy(np.full(4, 0.25)) == pytest.approx(np.log(4))
    assert scaling.softmax_entropy(np.array([0.0, 1.0, 0.0])) == 0.0
    np.testing.assert_allclose(scaling.softmax_entropy(np.full((2, 3), 1 / 3), axis=-1), [np.log(3)] * 2)


def test_softmax_jacobian_matches_the_closed_form():
    s = np.random.default_rng(5).normal(size=(2, 3, 6))
    jac = scaling.softmax_jacobian(s)
    p = softmax(s)
    closed = np.einsum("...i,ij->...ij", p, np.eye(6)) - p[..., :, None] * p[..., None, :]
    np.testing.assert_allclose(jac, closed, atol=1e-12)
    np.testing.assert_allclose(scaling.softmax_jacobian_norms(s), np.sqrt((closed**2).sum((-2, -1))))
    # a saturated row has a (nearly) zero Jacobian
    assert scaling.softmax_jacobian_norms(np.array([0.0, 100.0, 0.0])) < 1e-20


@pytest.mark.parametrize("n_heads", [1, 2, 4])
def test_scaled_head_scores_match_torch_default_scale(n_heads):
    rng = np.random.default_rng(6)
    q, k = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 7, 8))
    scores = scaling.scaled_head_scores(q, k, n_heads)
    assert scores.shape == (2, n_heads, 5, 7)
    # torch's SDPA scales by 1/sqrt(head width) by default: recover its scores through the weights
    qh, kh = torch.from_numpy(split_heads(q, n_heads)), torch.from_numpy(split_heads(k, n_heads))
    eye = torch.eye(7, dtype=torch.float64).expand(2, n_heads, 7, 7)
    weights = F.scaled_dot_product_attention(qh, kh, eye)
    np.testing.assert_allclose(softmax(scores), weights.numpy(), atol=1e-12)
    assert scaling.scaled_head_scores(q.astype(np.float32), k.astype(np.float32), n_heads).dtype == np.float32


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: scaling.dot_products(0, 10, np.random.default_rng()), "d_k"),
        (lambda: scaling.dot_products(4, 10, 0), "Generator"),
        (lambda: scaling.fixed_row_scores(2048), "max_d_k"),
        (lambda: scaling.softmax_entropy(np.array([-0.5, 1.5])), "non-negative"),
        (lambda: scaling.scaled_head_scores(np.zeros((3, 6)), np.zeros((3, 6)), 4), "not divisible"),
        (lambda: scaling.scaled_head_scores(np.zeros((3, 6)), np.zeros((3, 8)), 2), "(3, 8)"),
    ],
)
def test_bad_input_names_the_culprit(call, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call()
