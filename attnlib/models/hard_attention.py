"""Hard attention and how it is trained: reading one value, and the REINFORCE estimator (notebook 10).

Soft attention reads a weighted mix of all the values; hard attention reads the value of one
position, chosen by argmax or by sampling from the softmax of the scores. A sampled choice
has no gradient with respect to the scores, so hard attention is trained with the
score-function (REINFORCE) estimator of Williams (1992): for a position j sampled from
p = softmax(theta) and its reward r_j,

    g = (r_j - b) * d ln p_j / d theta = (r_j - b) * (onehot(j) - p),

an unbiased estimate of the gradient of the expected reward J(theta) = sum_j p_j r_j for any
baseline b that does not depend on the sampled j; a good baseline (close to J) makes its
variance much smaller. Xu et al. (2015, "Show, Attend and Tell") trained their hard attention
this way, with a moving-average baseline.
"""
from __future__ import annotations

import numpy as np

from ..reference.validate import float_array, positive_int
from ..reference.attention import softmax


def soft_read(scores: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return softmax(scores) @ values, a mix of every value: (..., d_v).

    scores: (..., n) one query's scores; values: (..., n, d_v).
    """
    scores = float_array("scores", scores, 1)
    values = float_array("values", values, 2)
    if scores.shape[-1] != values.shape[-2]:
        raise ValueError(f"need one score per value: scores {scores.shape}, values {values.shape}")
    return (softmax(scores, axis=-1)[..., None, :] @ values)[..., 0, :]


def hard_read(scores: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the value at the argmax of the scores (the first one on a tie): (..., d_v).

    scores: (..., n); values: (..., n, d_v). Only one value row is read per query.
    """
    scores = float_array("scores", scores, 1)
    values = float_array("values", values, 2)
    if scores.shape[-1] != values.shape[-2]:
        raise ValueError(f"need one score per value: scores {scores.shape}, values {values.shape}")
    index = np.argmax(scores, axis=-1)
    values = np.broadcast_to(values, scores.shape[:-1] + values.shape[-2:])
    return np.take_along_axis(values, index[..., None, None], axis=-2)[..., 0, :]


def expected_reward(logits: np.ndarray, rewards: np.ndarray) -> float:
    """Return J = sum_j softmax(logits)_j r_j, the expected reward of sampling a position.

    logits: (n,) the scores; rewards: (n,) the reward of reading each position.
    """
    logits, rewards = _logits_and_rewards(logits, rewards)
    return float(softmax(logits) @ rewards)


def expected_reward_gradient(logits: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """Return the exact gradient dJ/dlogits = p * (r - J) of the expected reward: (n,).

    logits: (n,); rewards: (n,); p = softmax(logits), J = p . r.
    """
    logits, rewards = _logits_and_rewards(logits, rewards)
    p = softmax(logits)
    return p * (rewards - p @ rewards)


def reinforce_estimates(
    logits: np.ndarray, rewards: np.ndarray, n_samples: int, rng: np.random.Generator, baseline: float = 0.0
) -> np.ndarray:
    """Return ``n_samples`` single-sample REINFORCE estimates of dJ/dlogits: (n_samples, n).

    Each row samples j ~ softmax(logits) with ``rng`` and is (r_j - baseline) (onehot(j) - p).
    Their mean tends to ``expected_reward_gradient`` whatever the baseline; their variance
    depends on it.
    """
    logits, rewards = _logits_and_rewards(logits, rewards)
    n_samples = positive_int("n_samples", n_samples)
    p = softmax(logits)
    picks = rng.choice(len(p), size=n_samples, p=p)
    onehot = np.eye(len(p))[picks]
    return (rewards[picks] - float(baseline))[:, None] * (onehot - p)


def estimator_variance(estimates: np.ndarray) -> float:
    """Return the total variance of a set of gradient estimates (n_samples, n): the sum over components."""
    estimates = float_array("estimates", estimates, 2)
    return float(estimates.var(axis=0).sum())


def _logits_and_rewards(logits: object, rewards: object) -> tuple[np.ndarray, np.ndarray]:
    """Return logits and rewards as float (n,) arrays of the same length, or raise ValueError."""
    logits = float_array("logits", logits, 1)
    rewards = float_array("rewards", rewards, 1)
    if logits.ndim != 1 or logits.shape != rewards.shape:
        raise ValueError(f"need logits (n,) and rewards (n,) of one length, got {logits.shape} and {rewards.shape}")
    return logits, rewards
