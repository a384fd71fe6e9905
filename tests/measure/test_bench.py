"""tiled_attention's benchmark (attnlib.measure.bench): memory only, never timings.

bench's memory figure for tiled against naive attention (deterministic: tracemalloc), and its
naive attention against PyTorch.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from attnlib.measure import bench

TOL = 1e-10


def T(x: np.ndarray) -> torch.Tensor:
    """numpy -> torch without changing the dtype (float64 stays float64)."""
    return torch.from_numpy(np.ascontiguousarray(x))


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def assert_close(actual, expected, tol: float = TOL) -> None:
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert not np.isnan(actual).any()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol)


def test_bench_memory_ratio_tiled_vs_naive():
    """bench's memory figure, float32, d=64 (deterministic: tracemalloc, no timings).

    The working memory of tiled_attention beyond Q, K, V, O is O(block_size^2), the same for
    every n, so the ratio falls towards 1 as n grows: with the bench's block of 256 it is 1.16x
    at n=4096 but 1.04x at the bench's n=16384. At this modest n a block of 128 is used.
    """
    n, d, block = 4096, 64, 128
    tiled_ratio = bench.peak_memory_ratio(bench.tiled(block), n, d)
    assert 1.0 <= tiled_ratio <= bench.MEMORY_LIMIT  # inputs + output alone are exactly 1.0
    naive_ratio = bench.peak_memory_ratio(bench.naive_attention, n, d)
    assert naive_ratio > 10
    # the bytes beyond Q, K, V, O do not grow with n (they would grow 4x with n x n scores)
    extra_n = (tiled_ratio - 1) * 4 * n * d * 4
    extra_half = (bench.peak_memory_ratio(bench.tiled(block), n // 2, d) - 1) * 4 * (n // 2) * d * 4
    assert 0 < extra_n <= 1.25 * extra_half


def test_bench_naive_attention_is_correct():
    rng = np.random.default_rng(17)
    q, k, v = (randn(rng, 12, 8).astype(np.float32) for _ in range(3))
    out = bench.naive_attention(q, k, v)
    assert out.dtype == np.float32
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v)), tol=1e-5)
