"""Notebook 10's hard attention (attnlib.models.hard_attention): soft and hard reads, and REINFORCE.

The soft read is compared with torch's softmax, the expected-reward gradient with autograd; the
REINFORCE estimates are unbiased for any baseline, and a baseline near the expected reward cuts
their variance.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.models import hard_attention
from attnlib.reference.attention import softmax


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
