"""attnlib.reference.scoring (notebook 05): the score functions against loops and torch, their counts against
torch's FLOP counter and torch modules, their errors. Notebook 05's widget is tested in tests/figures/test_widgets.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import attnlib as A
from attnlib.reference import scoring

RNG = np.random.default_rng(505)


def loop_scores(kind, q, k, W=None, W_q=None, W_k=None, w=None):
    """Return the (n_q, n_k) scores of one sequence, one pair at a time."""
    out = np.zeros((q.shape[0], k.shape[0]))
    for i in range(q.shape[0]):
        for j in range(k.shape[0]):
            if kind == "dot":
                out[i, j] = q[i] @ k[j]
            elif kind == "scaled_dot":
                out[i, j] = q[i] @ k[j] / np.sqrt(q.shape[1])
            elif kind == "general":
                out[i, j] = q[i] @ W @ k[j]
            else:
                out[i, j] = w @ np.tanh(q[i] @ W_q + k[j] @ W_k)
    return out


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_scores_match_loops(batch):
    q, k = RNG.normal(size=batch + (3, 4)), RNG.normal(size=batch + (5, 4))
    k2 = RNG.normal(size=batch + (5, 6))
    W, W_q, W_k, w = RNG.normal(size=(4, 6)), RNG.normal(size=(4, 7)), RNG.normal(size=(6, 7)), RNG.normal(size=7)
    got = {
        "dot": scoring.dot_scores(q, k),
        "scaled_dot": scoring.scaled_dot_scores(q, k),
        "general": scoring.general_scores(q, k2, W),
        "additive": scoring.additive_scores(q, k2, W_q, W_k, w),
    }
    for idx in np.ndindex(*batch):
        assert np.allclose(got["dot"][idx], loop_scores("dot", q[idx], k[idx]))
        assert np.allclose(got["scaled_dot"][idx], loop_scores("scaled_dot", q[idx], k[idx]))
        assert np.allclose(got["general"][idx], loop_scores("general", q[idx], k2[idx], W=W))
        assert np.allclose(got["additive"][idx], loop_scores("additive", q[idx], k2[idx], W_q=W_q, W_k=W_k, w=w))
    for s in got.values():
        assert s.shape == batch + (3, 5)


def test_scaled_dot_scores_are_sdpas_scores_and_keep_float32():
    q, k, v = (RNG.normal(size=(2, 4, 8)).astype(np.float32) for _ in range(3))
    s = scoring.scaled_dot_scores(q, k)
    assert s.dtype == np.float32
    _, weights = A.scaled_dot_product_attention(q, k, v)
    assert np.allclose(A.softmax(s), weights, atol=1e-6)
    expected = torch.from_numpy(q) @ torch.from_numpy(k).transpose(-1, -2) / np.sqrt(8)
    assert np.allclose(s, expected.numpy(), atol=1e-5)


def test_general_score_relations():
    q, k = RNG.normal(size=(3, 5)), RNG.normal(size=(4, 5))
    assert np.allclose(scoring.general_scores(q, k, np.eye(5)), scoring.dot_scores(q, k))
    x, y = RNG.normal(size=(3, 8)), RNG.normal(size=(4, 8))
    W_Q, W_K = RNG.normal(size=(8, 2)), RNG.normal(size=(8, 2))
    assert np.allclose(scoring.dot_scores(x @ W_Q, y @ W_K), scoring.general_scores(x, y, W_Q @ W_K.T))
    # torch's nn.Bilinear computes x W y (one output, no bias): the same score for every pair
    bilinear = torch.nn.Bilinear(5, 5, 1, bias=False).double()
    W = bilinear.weight.detach().numpy()[0]
    with torch.no_grad():
        pairs = bilinear(torch.from_numpy(np.repeat(q, 4, axis=0)), torch.from_numpy(np.tile(k, (3, 1))))
    assert np.allclose(scoring.general_scores(q, k, W), pairs.numpy().reshape(3, 4))


def _torch_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("n_q, n_k, d_q, d_k, d_h", [(3, 5, 4, 4, 6), (16, 8, 32, 32, 8), (7, 9, 5, 5, 11)])
def test_flops_against_torchs_flop_counter(n_q, n_k, d_q, d_k, d_h):
    q, k = torch.randn(n_q, d_q), torch.randn(n_k, d_k)
    W, W_q, W_k, w = torch.randn(d_q, d_k), torch.randn(d_q, d_h), torch.randn(d_k, d_h), torch.randn(d_h, 1)
    assert scoring.score_flops("dot", n_q, n_k, d_q, d_k) == _torch_flops(lambda: q @ k.T)
    assert scoring.score_flops("scaled_dot", n_q, n_k, d_q, d_k) == _torch_flops(lambda: q @ k.T) + n_q * n_k
    assert scoring.score_flops("general", n_q, n_k, d_q, d_k) == _torch_flops(lambda: (q @ W) @ k.T)
    # torch counts the matrix products only; the additive count adds one addition and one tanh per hidden unit
    matmuls = _torch_flops(lambda: torch.tanh((q @ W_q)[:, None, :] + (k @ W_k)[None, :, :]) @ w)
    assert scoring.score_flops("additive", n_q, n_k, d_q, d_k, d_h) == matmuls + 2 * n_q * n_k * d_h


def test_flops_ratio_tends_to_2_dh_over_d():
    ratio = scoring.score_flops("additive", 2**16, 2**16, 64, 64, 32) / scoring.score_flops("dot", 2**16, 2**16, 64, 64)
    assert abs(ratio - 2 * 32 / 64) < 1e-3
    assert scoring.score_flops("dot", 128, 128, 64, 64) * 2 == A.attention_flops(128, 64)


def test_params_against_torch_modules():
    d_q, d_k, d_h = 6, 10, 4
    additive = [torch.nn.Linear(d_q, d_h, bias=False), torch.nn.Linear(d_k, d_h, bias=False), torch.nn.Linear(d_h, 1, bias=False)]
    assert scoring.score_params("additive", d_q, d_k, d_h) == sum(p.numel() for m in additive for p in m.parameters())
    assert scoring.score_params("general", d_q, d_k) == torch.nn.Bilinear(d_q, d_k, 1, bias=False).weight.numel()
    assert scoring.score_params("dot", 8, 8) == scoring.score_params("scaled_dot", 8, 8) == 0


def test_intermediate_sizes():
    assert scoring.score_intermediate_size("dot", 3, 5, 4, 4) == 15
    assert scoring.score_intermediate_size("general", 3, 2, 4, 7) == 21
    assert scoring.score_intermediate_size("additive", 3, 5, 4, 6, 8) == 3 * 5 * 8
    hidden = np.tanh(RNG.normal(size=(3, 1, 8)) + RNG.normal(size=(1, 5, 8)))
    assert hidden.size == scoring.score_intermediate_size("additive", 3, 5, 4, 4, 8)


def test_row_spread():
    assert scoring.row_spread(np.full((4, 5), 0.2)) == 0.0
    assert np.isclose(scoring.row_spread(np.eye(4)), 1 - 1 / 4)
    weights = A.softmax(RNG.normal(size=(2, 3, 6)))
    assert 0 < scoring.row_spread(weights) < 1 - 1 / 3


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: scoring.dot_scores(np.ones((2, 3)), np.ones((4, 5))), ["same width", "(2, 3)", "(4, 5)"]),
        (lambda: scoring.scaled_dot_scores(np.ones(3), np.ones((4, 3))), ["at least 2 axes"]),
        (lambda: scoring.dot_scores(np.ones((2, 2, 3)), np.ones((3, 4, 3))), ["broadcast"]),
        (lambda: scoring.general_scores(np.ones((2, 3)), np.ones((4, 5)), np.ones((5, 3))), ["(d_q, d_k) = (3, 5)", "(5, 3)"]),
        (lambda: scoring.additive_scores(np.ones((2, 3)), np.ones((4, 3)), np.ones((3, 2)), np.ones((3, 4)), np.ones(2)), ["d_h"]),
        (lambda: scoring.score_flops("cosine", 2, 2, 3, 3), ["kind", "cosine"]),
        (lambda: scoring.score_flops("dot", 2, 2, 3, 4), ["d_q == d_k"]),
        (lambda: scoring.score_flops("additive", 2, 2, 3, 4), ["d_h"]),
        (lambda: scoring.score_flops("dot", 0, 2, 3, 3), ["n_q", "positive"]),
        (lambda: scoring.score_params("additive", 3, 4, -1), ["d_h", "positive"]),
        (lambda: scoring.score_intermediate_size("general", 2, 2, 2.5, 3), ["d_q"]),
        (lambda: scoring.row_spread(np.ones(4)), ["weights", "2 axes"]),
    ],
)
def test_bad_inputs_raise_value_errors_that_name_them(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)
