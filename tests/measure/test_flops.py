"""count_matmul_flops (attnlib.measure.flops, notebook 08): the FLOPs of a function's matrix products.

Every kind of product is counted (@, einsum, dot, tensordot), the counting arrays change no
result and leave the inputs alone, and products hidden from it (np.asarray, torch) count 0.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib as A
from attnlib.measure.flops import count_matmul_flops


def test_count_matmul_flops_counts_every_kind_of_product_and_leaves_the_inputs_alone():
    rng = np.random.default_rng(22)
    q, k, v = rng.normal(size=(2, 8, 4)), rng.normal(size=(2, 8, 4)), rng.normal(size=(2, 8, 3))
    scores, values = 2 * 2 * 8 * 8 * 4, 2 * 2 * 8 * 8 * 3   # FLOPs of q k^T and of weights @ v
    kept = [x.copy() for x in (q, k, v)]

    def with_matmul(q, k, v):
        return A.softmax(q @ np.swapaxes(k, -1, -2)) @ v

    def with_einsum(q, k, v):
        return np.einsum("...qk,...kd->...qd", A.softmax(np.einsum("...qd,...kd->...qk", q, k)), v)

    def with_dot_and_tensordot(q, k, v):
        s = np.stack([np.dot(q[b], k[b].T) for b in range(2)])
        return np.stack([np.tensordot(A.softmax(s[b]), v[b], axes=1) for b in range(2)])

    for fn in (with_matmul, with_einsum, with_dot_and_tensordot):
        assert count_matmul_flops(fn, q, k, v) == scores + values, fn.__name__
    # the counting arrays do not change a result
    seen = []
    count_matmul_flops(lambda *qkv: seen.append(np.array(with_einsum(*qkv))), q, k, v)
    np.testing.assert_allclose(seen[0], with_matmul(q, k, v), rtol=1e-12)
    assert type(seen[0]) is np.ndarray
    for x, y in zip((q, k, v), kept):
        np.testing.assert_array_equal(x, y)
    # np.asarray on every input hides the products, torch too: 0
    assert count_matmul_flops(lambda q, k, v: with_matmul(*map(np.asarray, (q, k, v))), q, k, v) == 0
    assert count_matmul_flops(
        lambda q, k, v: F.scaled_dot_product_attention(*(torch.from_numpy(np.asarray(x)) for x in (q, k, v))), q, k, v) == 0
    with pytest.raises(ValueError, match="q must be a float array, got dtype int64"):
        count_matmul_flops(with_matmul, np.ones((3, 2), dtype=np.int64), k[0], v[0])
