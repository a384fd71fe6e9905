"""tiled_attention (attnlib.reference.tiled, notebook 08) skipping the future tiles, counted.

With causal=True the reference skips the key tiles wholly in the future: count_matmul_flops counts
exactly the tiles on or below the diagonal, and skipping them changes nothing in the result
(against the reference without skipping and torch's is_causal).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib as A
from attnlib.measure.flops import count_matmul_flops


def test_the_reference_skips_the_future_tiles_and_counts_them_exactly():
    rng = np.random.default_rng(21)
    n, d, d_v, block = 96, 5, 3, 16                      # 6 x 6 tiles
    q, k, v = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, d_v))
    per_tile = 2 * block * block * (d + d_v)             # q_blk @ k_blk^T and p @ v_blk
    count = lambda **kw: count_matmul_flops(A.tiled_attention, q, k, v, block_size=block, **kw)
    assert count() == 36 * per_tile
    assert count(causal=True, skip_future=False) == 36 * per_tile
    assert count(causal=True) == 21 * per_tile           # 6 * 7 / 2: the tiles on or below the diagonal
    expected = A.scaled_dot_product_attention(q, k, v, A.causal_mask(n))[0]
    for skip in (True, False):
        np.testing.assert_allclose(A.tiled_attention(q, k, v, block, causal=True, skip_future=skip), expected,
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_q, n_k", [(10, 10), (7, 12), (12, 7)])
def test_skipping_the_future_tiles_changes_nothing_in_the_result(n_q, n_k):
    rng = np.random.default_rng(n_q * n_k)
    q, k, v = rng.normal(size=(2, n_q, 4)), rng.normal(size=(2, n_k, 4)), rng.normal(size=(2, n_k, 3))
    for block in (1, 3, 4, 16):
        a = A.tiled_attention(q, k, v, block, causal=True)
        b = A.tiled_attention(q, k, v, block, causal=True, skip_future=False)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        torch_out = F.scaled_dot_product_attention(*(torch.from_numpy(x) for x in (q, k, v)), is_causal=True).numpy()
        np.testing.assert_allclose(a, torch_out, rtol=1e-10, atol=1e-12)
