"""Notebook 10's helpers (entropy, Hopfield networks, hard attention, attribution, widgets) and its checks.

References are compared with torch where torch has the operation: Categorical.entropy for the
entropy, F.scaled_dot_product_attention (with ``scale=beta``) for the Hopfield update, autograd
for the expected-reward gradient and for gradient x input. The checks get hand-written learner
answers, right and wrong, on top of the registry-wide tests of tests/test_checks.py.
"""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib
from attnlib.measure import attribution
from attnlib.figures import beyond_widgets
from attnlib.models import hard_attention
from attnlib.reference import hopfield
from attnlib.reference.attention import softmax
from attnlib.check import nb10_beyond as beyond_checks, hopfield_update as check_hopfield, attention_entropy as check_entropy
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


# =========================================================================== hard attention and REINFORCE


def test_soft_and_hard_read():
    rng = np.random.default_rng(10)
    scores, values = rng.normal(size=(3, 5)), rng.normal(size=(5, 2))
    expected = (torch.softmax(torch.from_numpy(scores), -1) @ torch.from_numpy(values)).numpy()
    np.testing.assert_allclose(hard_attention.soft_read(scores, values), expected)
    np.testing.assert_array_equal(hard_attention.hard_read(scores, values), values[np.argmax(scores, axis=-1)])
    assert hard_attention.hard_read(np.array([1.0, 3.0, 3.0]), np.eye(3)).tolist() == [0.0, 1.0, 0.0]  # first on a tie
    batched = rng.normal(size=(2, 4, 3))
    s2 = rng.normal(size=(2, 4))
    np.testing.assert_array_equal(hard_attention.hard_read(s2, batched), batched[np.arange(2), np.argmax(s2, -1)])
    with pytest.raises(ValueError, match="one score per value"):
        hard_attention.soft_read(np.ones(3), np.ones((4, 2)))


def test_expected_reward_gradient_is_autograds():
    rng = np.random.default_rng(11)
    theta, rewards = rng.normal(size=6), rng.random(6)
    t = torch.tensor(theta, requires_grad=True)
    (torch.softmax(t, -1) @ torch.tensor(rewards)).backward()
    np.testing.assert_allclose(hard_attention.expected_reward_gradient(theta, rewards), t.grad.numpy())
    assert hard_attention.expected_reward(theta, rewards) == pytest.approx(float(softmax(theta) @ rewards))


@pytest.mark.parametrize("baseline", [0.0, 0.5, -2.0])
def test_reinforce_is_unbiased_for_any_baseline(baseline):
    theta, rewards = np.array([0.5, 1.0, 0.0, -0.5, 0.2]), np.array([0.6, 0.9, 0.5, 0.2, 0.7])
    est = hard_attention.reinforce_estimates(theta, rewards, 40_000, np.random.default_rng(12), baseline)
    assert est.shape == (40_000, 5)
    np.testing.assert_allclose(est.sum(axis=1), 0.0, atol=1e-12)  # onehot - p sums to 0
    stderr = np.sqrt(est.var(axis=0) / len(est))
    assert np.all(np.abs(est.mean(axis=0) - hard_attention.expected_reward_gradient(theta, rewards)) < 5 * stderr + 1e-12)


def test_a_baseline_near_the_expected_reward_cuts_the_variance():
    theta, rewards = np.zeros(4), np.array([1.0, 1.2, 0.8, 1.1])
    J = hard_attention.expected_reward(theta, rewards)
    plain = hard_attention.estimator_variance(hard_attention.reinforce_estimates(theta, rewards, 5000, np.random.default_rng(13)))
    based = hard_attention.estimator_variance(hard_attention.reinforce_estimates(theta, rewards, 5000, np.random.default_rng(13), J))
    assert based < plain / 10
    with pytest.raises(ValueError, match="logits"):
        hard_attention.expected_reward(np.zeros(3), np.zeros(4))


# =========================================================================== attribution


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


# =========================================================================== widgets


def test_entropy_drawing_and_slider():
    scores = np.array([0.3, -1.0, 2.0, 0.5])
    fig, axes = plt.subplots(1, 2)
    beyond_widgets.draw_entropy_at_scale(axes, scores, list("abcd"), 1.0)
    h = float(attention_entropy(softmax(scores)))
    assert f"entropy {h:.2f}" in axes[0].get_title()
    plt.close(fig)
    assert beyond_widgets.entropy_scale_slider(scores, list("abcd")).children[0].description == "scale"
    plt.close("all")
    with pytest.raises(ValueError, match="one label per score"):
        beyond_widgets.draw_entropy_at_scale(axes, scores, list("abc"), 1.0)


def test_hopfield_drawing_and_slider():
    names, X = hopfield.glyph_patterns()
    fig, axes = plt.subplots(1, 3)
    beyond_widgets.draw_hopfield_retrieval(axes, X, X[0], 1.0, names)
    assert "entropy 0.00" in axes[2].get_title()
    plt.close(fig)
    assert beyond_widgets.hopfield_beta_slider(X, X[1], names).children[0].description == "beta"
    plt.close("all")
    with pytest.raises(ValueError, match="one name per pattern"):
        beyond_widgets.draw_hopfield_retrieval(axes, X, X[0], 1.0, names[:3])


# =========================================================================== checks: learners' own answers


def assert_passed(result):
    assert result.status == "passed", str(result)


def assert_failed(result, *words):
    assert result.status == "failed", str(result)
    assert "could not finish" not in result.message, result.message
    for word in words:
        assert word in result.message, f"{word!r} not in: {result.message}"


def test_entropy_learner_versions_that_are_right():
    def with_where(weights):
        logs = np.log(weights, where=weights > 0, out=np.zeros_like(weights))
        return -(weights * logs).sum(axis=-1)

    def with_eps(weights):
        return -(weights * np.log(weights + 1e-12)).sum(axis=-1)

    def with_nan_to_num(weights):
        with np.errstate(all="ignore"):
            return -np.nan_to_num(weights * np.log(weights)).sum(axis=-1)

    def with_torch(weights):
        return torch.special.entr(torch.from_numpy(np.asarray(weights))).sum(-1).numpy()

    for fn in (with_where, with_eps, with_nan_to_num, with_torch):
        assert_passed(check_entropy(fn))


def test_entropy_learner_versions_that_are_wrong():
    assert_failed(check_entropy(lambda w: -(w * np.log(w)).sum(axis=-1)), "NaN", "0 * np.log(0)")
    assert_failed(check_entropy(lambda w: -(w * np.log2(w + 1e-12)).sum(axis=-1)), "log base 2")
    assert_failed(check_entropy(lambda w: (w * np.log(w + 1e-12)).sum(axis=-1)), "negative")
    assert_failed(check_entropy(lambda w: -(w * np.log(w + 1e-12)).sum(axis=0)), "axis=0")
    assert_failed(check_entropy(lambda w: -(w * np.log(w + 1e-12)).sum()), "every axis")
    # a large epsilon changes the values: told where, not misnamed
    assert_failed(check_entropy(lambda w: -(w * np.log(w + 1e-2)).sum(axis=-1)), "differs from the expected values")


def test_hopfield_learner_versions_that_are_right():
    def with_einsum(patterns, query, beta):
        weights = softmax(beta * np.einsum("...nd,...d->...n", patterns, query), axis=-1)
        return np.einsum("...n,...nd->...d", weights, patterns)

    def through_attention(patterns, query, beta):
        d = query.shape[-1]
        out, _ = attnlib.scaled_dot_product_attention(beta * math.sqrt(d) * query[..., None, :], patterns, patterns)
        return out[..., 0, :]

    for fn in (with_einsum, through_attention):
        assert_passed(check_hopfield(fn))


def test_hopfield_learner_versions_that_are_wrong():
    def with_dot_T(patterns, query, beta):  # .T reverses every axis: breaks on batches of pattern sets
        return softmax(beta * query @ patterns.T) @ patterns

    assert_failed(check_hopfield(with_dot_T), "raised", "swapaxes")

    def paper_convention(patterns, query, beta):  # X as (d, N), written for rows
        return patterns @ softmax(beta * patterns.T @ query)

    assert_failed(check_hopfield(paper_convention), "as columns", "N = d")

    def temperature(patterns, query, beta):
        weights = softmax((patterns @ query[..., None])[..., 0] / beta)
        return (weights[..., None, :] @ patterns)[..., 0, :]

    assert_failed(check_hopfield(temperature), "inverse")

    def weights_only(patterns, query, beta):
        return softmax(beta * (patterns @ query[..., None])[..., 0])

    assert_failed(check_hopfield(weights_only), "returned the weights")


def test_probed_check_leaves_stubs_and_crashes_to_the_usual_flow():
    def stub(patterns, query, beta):
        raise NotImplementedError()

    assert check_hopfield(stub).status == "not attempted"

    def crashes(patterns, query, beta):
        raise KeyError("oops")

    assert_failed(check_hopfield(crashes), "KeyError")
    assert isinstance(check_hopfield, beyond_checks.ProbedCheck)
    assert check_hopfield.probe_mistakes and all(m in check_hopfield.mistakes for m in check_hopfield.probe_mistakes)
