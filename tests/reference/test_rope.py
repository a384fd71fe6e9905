"""attnlib.apply_rope against independent implementations of both pairings, and its properties."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.reference import rope


def rope_complex(x, positions, base=10000.0):
    """RoFormer / Meta Llama's way: pairs (2i, 2i+1) as complex numbers times e^(i p theta_i)."""
    d = x.shape[-1]
    theta = 1.0 / (base ** (np.arange(0, d, 2)[: d // 2] / d))           # Llama's freqs
    z = x[..., 0::2] + 1j * x[..., 1::2]
    z = z * np.exp(1j * np.asarray(positions, float)[..., None] * theta)
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


def rope_rotate_half(x, positions, base=10000.0):
    """Hugging Face's way: x * cos + rotate_half(x) * sin, with the frequencies repeated over the two halves."""
    t = torch.from_numpy(x)
    d = t.shape[-1]
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = torch.as_tensor(positions, dtype=torch.float64)[..., None] * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    x1, x2 = t[..., : d // 2], t[..., d // 2:]
    rotate_half = torch.cat((-x2, x1), dim=-1)
    return (t * emb.cos() + rotate_half * emb.sin()).numpy()


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape, positions", [
    ((5, 8), np.arange(5)),
    ((2, 3, 6, 16), np.arange(20, 26)),
    ((2, 4, 6), RNG.integers(0, 1000, size=(2, 4))),
    ((7, 2), np.arange(7) * 11),
])
@pytest.mark.parametrize("base", [10000.0, 500.0])
def test_both_pairings_agree_with_independent_implementations(shape, positions, base):
    x = RNG.normal(size=shape)
    np.testing.assert_allclose(rope.apply_rope(x, positions, base), rope_complex(x, positions, base), atol=1e-12)
    np.testing.assert_allclose(rope.apply_rope(x, positions, base, pairing="half"), rope_rotate_half(x, positions, base), atol=1e-12)


def test_the_two_pairings_are_one_model_up_to_a_permutation():
    x, p = RNG.normal(size=(3, 9, 12)), np.arange(9)
    perm = rope.half_order(12)
    assert perm.tolist() == [0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]
    np.testing.assert_allclose(rope.apply_rope(x[..., perm], p, pairing="half"), rope.apply_rope(x, p)[..., perm], atol=1e-12)


def test_scores_depend_only_on_the_offset_and_norms_are_kept():
    q, k = RNG.normal(size=(2, 16))
    def score(i, j):
        return rope.apply_rope(q[None], [i])[0] @ rope.apply_rope(k[None], [j])[0]
    for offset in (0, 1, 5, 40):
        values = [score(start + offset, start) for start in (0, 3, 17, 250)]
        assert np.ptp(values) < 1e-10, values
    assert abs(score(3, 0) - score(0, 3)) > 1e-3  # the sign of the offset matters
    x = RNG.normal(size=(6, 16))
    np.testing.assert_allclose(np.linalg.norm(rope.apply_rope(x, np.arange(6)), axis=-1), np.linalg.norm(x, axis=-1))
    np.testing.assert_array_equal(rope.apply_rope(x, np.zeros(6, int)), x)  # position 0: no rotation


def test_inputs_are_untouched_and_float32_stays_float32():
    x = RNG.normal(size=(4, 8)).astype(np.float32)
    before = x.copy()
    out = rope.apply_rope(x, np.arange(4))
    np.testing.assert_array_equal(x, before)
    assert out.dtype == np.float32


def test_frequencies():
    np.testing.assert_allclose(rope.rope_frequencies(8), 10000.0 ** (-np.array([0, 2, 4, 6]) / 8))
    assert rope.rope_frequencies(2).tolist() == [1.0]


@pytest.mark.parametrize("call, words", [
    (lambda: rope.apply_rope(np.zeros((3, 5)), np.arange(3)), "even"),
    (lambda: rope.apply_rope(np.zeros((3, 4)), np.arange(4)), "(4,)"),
    (lambda: rope.apply_rope(np.zeros((3, 4)), np.array([0.5, 1, 2])), "whole numbers"),
    (lambda: rope.apply_rope(np.zeros((3, 4)), np.arange(3), pairing="halves"), "pairing"),
    (lambda: rope.apply_rope(np.zeros((3, 4)), np.arange(3), base=0), "base"),
    (lambda: rope.apply_rope(np.zeros(4), np.arange(1)), "at least 2 axes"),
])
def test_bad_input_is_named(call, words):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert words in str(info.value), str(info.value)
