"""Notebook 10's references: attention entropy (attnlib.reference.entropy) and Hopfield networks (.hopfield).

References are compared with torch where torch has the operation: Categorical.entropy for the
entropy, F.scaled_dot_product_attention (with ``scale=beta``) for the Hopfield update. Notebook
10's hard attention, attribution, widgets and checks are tested in tests/models/test_hard_attention.py,
tests/measure/test_attribution.py, tests/figures/test_beyond_widgets.py and tests/check/test_beyond_checks.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib
from attnlib.reference import hopfield
from attnlib.reference.attention import softmax
from attnlib.reference.entropy import attention_entropy, max_entropy
from attnlib.reference.scaling import softmax_entropy


def random_weights(rng, shape, spread=1.0):
    return softmax(rng.normal(size=shape) * spread, axis=-1)


# =========================================================================== entropy


@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 4, 6), (2, 3, 4, 4)])
def test_attention_entropy_matches_torch_categorical(shape):
    w = random_weights(np.random.default_rng(0), shape, 2.0)
    expected = torch.distributions.Categorical(probs=torch.from_numpy(w)).entropy().numpy()
    got = attention_entropy(w)
    assert got.shape == shape[:-1]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_attention_entropy_with_zeros_matches_torch_and_is_never_nan():
    w = attnlib.reference.attention.masked_softmax(np.random.default_rng(1).normal(size=(6, 6)), attnlib.causal_mask(6))
    expected = torch.distributions.Categorical(probs=torch.from_numpy(w)).entropy().numpy()
    np.testing.assert_allclose(attention_entropy(w), expected, atol=1e-12)
    assert attention_entropy(w)[0] == 0.0  # the first row of a causal mask is one-hot


def test_attention_entropy_endpoints_and_sign():
    for n in (1, 2, 8, 1000):
        assert attention_entropy(np.full((1, n), 1 / n))[0] == pytest.approx(math.log(n))
        assert max_entropy(n) == pytest.approx(math.log(n))
    one_hot = attention_entropy(np.eye(5))
    assert np.all(one_hot == 0.0) and not np.any(np.signbit(one_hot))  # 0.0, not -0.0
    assert attention_entropy(np.zeros((2, 4))).tolist() == [0.0, 0.0]  # fully masked rows
    assert attention_entropy(np.array([0.5, 0.5])).shape == ()  # one row -> a 0-d array


def test_attention_entropy_agrees_with_notebook_04s_and_keeps_float32():
    w = random_weights(np.random.default_rng(2), (3, 4, 9))
    np.testing.assert_allclose(attention_entropy(w), softmax_entropy(w))
    assert attention_entropy(w.astype(np.float32)).dtype == np.float32


def test_attention_entropy_rejects_bad_weights():
    with pytest.raises(ValueError, match="non-negative"):
        attention_entropy(np.array([[0.5, -0.1, 0.6]]))
    with pytest.raises(ValueError, match="NaN"):
        attention_entropy(np.array([[0.5, np.nan]]))
    with pytest.raises(ValueError, match="n_keys"):
        max_entropy(0)


# =========================================================================== Hopfield


@pytest.mark.parametrize(
    "p_shape, q_shape",
    [((8, 16), (16,)), ((5, 6), (3, 6)), ((2, 4, 3), (2, 3)), ((2, 1, 5, 4), (2, 3, 4)), ((6, 64), (4, 64))],
)
@pytest.mark.parametrize("beta", [0.05, 0.25, 1.0, 7.0])
def test_hopfield_update_is_torch_attention_with_scale_beta(p_shape, q_shape, beta):
    rng = np.random.default_rng(3)
    patterns, query = rng.normal(size=p_shape), rng.normal(size=q_shape)
    got = hopfield.hopfield_update(patterns, query, beta)
    batch = np.broadcast_shapes(p_shape[:-2], q_shape[:-1])
    assert got.shape == batch + (p_shape[-1],)
    q = torch.from_numpy(np.broadcast_to(query, batch + q_shape[-1:]).copy())[..., None, :]  # (..., 1, d)
    k = torch.from_numpy(np.broadcast_to(patterns, batch + p_shape[-2:]).copy())
    expected = F.scaled_dot_product_attention(q, k, k, scale=beta)[..., 0, :].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_hopfield_update_equals_attnlib_attention_at_beta_one_over_sqrt_d():
    rng = np.random.default_rng(4)
    patterns, query = rng.normal(size=(7, 9)), rng.normal(size=9)
    out, weights = attnlib.scaled_dot_product_attention(query[None], patterns, patterns)
    np.testing.assert_allclose(hopfield.hopfield_update(patterns, query, 1 / 3), out[0])
    np.testing.assert_allclose(hopfield.hopfield_weights(patterns, query, 1 / 3), weights[0])


def test_hopfield_update_loop_matches_and_weights_sum_to_one():
    rng = np.random.default_rng(5)
    patterns, query = rng.normal(size=(6, 5)), rng.normal(size=5)
    weights = hopfield.hopfield_weights(patterns, query, 0.7)
    assert weights.shape == (6,) and weights.sum() == pytest.approx(1.0)
    loop = sum(w * x for w, x in zip(weights, patterns))
    np.testing.assert_allclose(hopfield.hopfield_update(patterns, query, 0.7), loop)


def test_hopfield_beta_limits_average_and_nearest_and_stability():
    names, X = hopfield.glyph_patterns()
    noisy = hopfield.corrupt(X[2], 10, np.random.default_rng(6))
    np.testing.assert_allclose(hopfield.hopfield_update(X, noisy, 1e-9), X.mean(axis=0), atol=1e-6)
    np.testing.assert_array_equal(hopfield.hopfield_update(X, noisy, 50.0), X[2])  # huge beta: no overflow, nearest
    assert hopfield.hopfield_update(X.astype(np.float32), noisy.astype(np.float32), 2.0).dtype == np.float32


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0, 10.0])
def test_hopfield_energy_never_rises_and_is_non_negative(beta):
    rng = np.random.default_rng(7)
    patterns = rng.normal(size=(2, 10, 8))
    states = hopfield.hopfield_trajectory(patterns, rng.normal(size=(2, 8)) * 3, beta, steps=8)
    assert states.shape == (9, 2, 8)
    energies = hopfield.hopfield_energy(patterns, states, beta)
    assert energies.shape == (9, 2)
    assert np.all(np.diff(energies, axis=0) <= 1e-9)
    assert np.all(energies >= -1e-9)


def test_hopfield_energy_formula_and_fixed_point_value():
    rng = np.random.default_rng(8)
    patterns, xi, beta = rng.normal(size=(5, 4)), rng.normal(size=4), 0.6
    lse = torch.logsumexp(torch.from_numpy(beta * patterns @ xi), 0).item() / beta
    m = np.linalg.norm(patterns, axis=1).max()
    expected = -lse + 0.5 * xi @ xi + math.log(5) / beta + 0.5 * m**2
    assert hopfield.hopfield_energy(patterns, xi, beta) == pytest.approx(expected)
    names, X = hopfield.glyph_patterns()
    assert hopfield.hopfield_energy(X, X[0], 1.0) == pytest.approx(math.log(len(names)), abs=1e-6)


def test_hopfield_input_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"query \(5,\).*patterns \(3, 4\)"):
        hopfield.hopfield_update(np.ones((3, 4)), np.ones(5), 1.0)
    with pytest.raises(ValueError, match="leading axes"):
        hopfield.hopfield_update(np.ones((2, 3, 4)), np.ones((3, 4)), 1.0)
    with pytest.raises(ValueError, match="beta"):
        hopfield.hopfield_update(np.ones((3, 4)), np.ones(4), 0.0)
    with pytest.raises(ValueError, match="at least 2 axes"):
        hopfield.hopfield_update(np.ones(4), np.ones(4), 1.0)


def test_classical_network_hebbian_weights_energy_and_recall():
    rng = np.random.default_rng(9)
    pattern = np.where(rng.random((1, 32)) < 0.5, -1.0, 1.0)
    W = hopfield.hebbian_weights(pattern)
    assert np.allclose(W, W.T) and np.all(np.diag(W) == 0)
    noisy = hopfield.corrupt(pattern[0], 6, rng)
    np.testing.assert_array_equal(hopfield.classical_recall(W, noisy, 2), pattern[0])  # one pattern: always recalled
    # the asynchronous update never raises the Ising energy, even above capacity
    names, X = hopfield.glyph_patterns()
    W = hopfield.hebbian_weights(X)
    state = np.where(rng.random((5, 64)) < 0.5, -1.0, 1.0)
    energies = [hopfield.classical_energy(W, state)]
    for _ in range(4):
        state = hopfield.classical_recall(W, state, 1)
        energies.append(hopfield.classical_energy(W, state))
    assert np.all(np.diff(np.array(energies), axis=0) <= 1e-9)
    with pytest.raises(ValueError, match="weights must be"):
        hopfield.classical_recall(np.eye(3), np.ones(4))


def test_glyphs_corrupt_and_occlude():
    names, X = hopfield.glyph_patterns()
    assert X.shape == (len(hopfield.GLYPHS), 64) and set(np.unique(X)) == {-1.0, 1.0}
    assert len({tuple(x) for x in X}) == len(names)  # all different
    assert hopfield.glyph_patterns(("T", "A"))[1].shape == (2, 64)
    with pytest.raises(ValueError, match="unknown glyphs"):
        hopfield.glyph_patterns(("Z",))
    noisy = hopfield.corrupt(X[0], 12, np.random.default_rng(0))
    assert (noisy != X[0]).sum() == 12 and (X[0] == hopfield.glyph_patterns()[1][0]).all()  # input untouched
    blank = hopfield.occlude(X[0], 3)
    assert np.all(blank.reshape(8, 8)[-3:] == -1) and np.array_equal(blank.reshape(8, 8)[:5], X[0].reshape(8, 8)[:5])
    with pytest.raises(ValueError):
        hopfield.corrupt(X[0], 65, np.random.default_rng(0))
