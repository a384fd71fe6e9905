"""The numpy references of attnlib against PyTorch, explicit loops and the course's numbers.

Contract: in float64 every reference agrees with PyTorch to 1e-10 on random shapes (leading
batch/head axes, n_q != n_k, d_k != d_v, ragged blocks); a query row with no allowed key gives
zero weights and zero output, never NaN; bad input raises ValueError naming the shapes/values.
bench's memory figures are tested in tests/measure/test_bench.py.
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib as A
from attnlib.measure import bench

TOL = 1e-10


def T(x: np.ndarray) -> torch.Tensor:
    """numpy -> torch without changing the dtype (float64 stays float64)."""
    return torch.from_numpy(np.ascontiguousarray(x))


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def random_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float = 0.7) -> np.ndarray:
    return rng.random(shape) < p


def assert_close(actual, expected, tol: float = TOL) -> None:
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert not np.isnan(actual).any()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol)


def torch_weights(q, k, mask=None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) in torch, blocked entries (mask False) at 0, empty rows all 0."""
    tq, tk = T(q), T(k)
    scores = tq @ tk.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~T(mask), float("-inf"))
    return torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)


# --------------------------------------------------------------------------- softmax

SOFTMAX_SHAPES = [(7,), (3, 5), (2, 3, 4), (2, 1, 4, 6)]


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
def test_softmax_matches_torch_on_every_axis(shape):
    rng = np.random.default_rng(len(shape))
    x = 3 * randn(rng, *shape)
    for axis in range(-len(shape), len(shape)):
        y = A.softmax(x, axis=axis)
        assert_close(y, torch.softmax(T(x), dim=axis))
        np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=0, atol=1e-12)
        assert (y >= 0).all() and (y <= 1).all()


def test_softmax_default_axis_is_last():
    x = np.random.default_rng(1).standard_normal((4, 5))
    np.testing.assert_array_equal(A.softmax(x), A.softmax(x, axis=-1))


def test_softmax_stable_for_huge_inputs():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0], [5000.0, 0.0, -5000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning would fail the test
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
            y = A.softmax(x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[0], A.softmax(np.array([0.0, 1.0, 2.0])), rtol=0, atol=1e-15)
    np.testing.assert_allclose(y[1], A.softmax(np.array([0.0, -1.0, -2.0])), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(y[2], [1.0, 0.0, 0.0])
    assert_close(y, torch.softmax(T(x), dim=-1))


def test_softmax_all_minus_inf_row_gives_zeros():
    x = np.array([[-np.inf] * 4, [0.0, 1.0, -np.inf, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = A.softmax(x)
    np.testing.assert_array_equal(y[0], np.zeros(4))
    assert y[1, 2] == 0.0
    np.testing.assert_allclose(y[1].sum(), 1.0, rtol=0, atol=1e-15)
    # along axis 0 the column that is -inf everywhere gives zeros too
    np.testing.assert_array_equal(A.softmax(x, axis=0)[:, 2], [0.0, 0.0])


def test_softmax_keeps_float32_and_accepts_integers():
    assert A.softmax(np.zeros(3, dtype=np.float32)).dtype == np.float32
    y = A.softmax(np.array([1, 2, 3]))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, A.softmax(np.array([1.0, 2.0, 3.0])), rtol=0, atol=0)


# --------------------------------------------------------------------------- scaled dot-product attention

# (batch of q, batch of k and v, n_q, n_k, d_k, d_v)
SDPA_SHAPES = [
    ((), (), 5, 5, 8, 8),
    ((), (), 1, 9, 4, 3),
    ((2,), (2,), 3, 7, 4, 6),
    ((2, 3), (2, 3), 6, 4, 5, 3),
    ((2, 3), (3,), 4, 6, 8, 2),  # k and v broadcast over the batch axis of q
]


@pytest.mark.parametrize("bq, bk, n_q, n_k, d_k, d_v", SDPA_SHAPES)
def test_sdpa_matches_torch_without_mask(bq, bk, n_q, n_k, d_k, d_v):
    rng = np.random.default_rng(n_q * 100 + n_k)
    q, k, v = randn(rng, *bq, n_q, d_k), randn(rng, *bk, n_k, d_k), randn(rng, *bk, n_k, d_v)
    out, w = A.scaled_dot_product_attention(q, k, v)
    batch = np.broadcast_shapes(bq, bk)
    assert out.shape == batch + (n_q, d_v) and w.shape == batch + (n_q, n_k)
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v)))
    assert_close(w, torch_weights(q, k))
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mask_shape", ["qk", "1qk", "b11k", "bhqk", "k"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sdpa_matches_torch_with_bool_mask(mask_shape, seed):
    rng = np.random.default_rng(seed)
    b, h, n_q, n_k, d_k, d_v = 2, 3, 5 + seed, 7 - seed, 4, 6
    q, k, v = randn(rng, b, h, n_q, d_k), randn(rng, b, h, n_k, d_k), randn(rng, b, h, n_k, d_v)
    shape = {"qk": (n_q, n_k), "1qk": (1, n_q, n_k), "b11k": (b, 1, 1, n_k),
             "bhqk": (b, h, n_q, n_k), "k": (n_k,)}[mask_shape]
    mask = random_mask(rng, shape, p=0.6)
    out, w = A.scaled_dot_product_attention(q, k, v, mask)
    torch_mask = np.broadcast_to(mask, (n_q, n_k)) if mask.ndim == 1 else mask  # torch wants >= 2 axes
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), attn_mask=T(torch_mask)))
    assert_close(w, torch_weights(q, k, mask))
    full = np.broadcast_to(mask, w.shape)
    assert (w[~full] == 0).all()  # blocked keys get exactly zero weight


@pytest.mark.parametrize("n_q, n_k", [(6, 6), (4, 9), (9, 4)])
def test_sdpa_causal_mask_matches_is_causal(n_q, n_k):
    rng = np.random.default_rng(n_q + n_k)
    q, k, v = randn(rng, 2, n_q, 5), randn(rng, 2, n_k, 5), randn(rng, 2, n_k, 3)
    # torch's is_causal is top-left aligned: query i sees keys 0..i
    mask = A.causal_mask(n_q) if n_q == n_k else np.tril(np.ones((n_q, n_k), dtype=bool))
    out, w = A.scaled_dot_product_attention(q, k, v, mask)
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), is_causal=True))
    assert (np.triu(w, 1) == 0).all()
    # query 0 only sees key 0
    np.testing.assert_allclose(out[:, 0], v[:, 0], rtol=0, atol=TOL)


def test_sdpa_fully_masked_rows_give_zeros_like_torch():
    rng = np.random.default_rng(5)
    q, k, v = randn(rng, 2, 4, 3), randn(rng, 2, 6, 3), randn(rng, 2, 6, 5)
    mask = random_mask(rng, (2, 4, 6), p=0.8) | np.eye(4, 6, dtype=bool)
    mask[0, 1] = False
    mask[1, 3] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, w = A.scaled_dot_product_attention(q, k, v, mask)
    assert not np.isnan(out).any() and not np.isnan(w).any()
    for bi, i in [(0, 1), (1, 3)]:
        np.testing.assert_array_equal(w[bi, i], 0.0)
        np.testing.assert_array_equal(out[bi, i], 0.0)
    ref = F.scaled_dot_product_attention(T(q), T(k), T(v), attn_mask=T(mask))
    assert not torch.isnan(ref).any()  # torch 2.x on CPU gives zeros for such rows too
    assert (ref[0, 1] == 0).all() and (ref[1, 3] == 0).all()
    assert_close(out, ref)


def test_sdpa_float32_stays_float32():
    rng = np.random.default_rng(6)
    q, k, v = (randn(rng, 4, 8).astype(np.float32) for _ in range(3))
    out, w = A.scaled_dot_product_attention(q, k, v)
    assert out.dtype == np.float32 and w.dtype == np.float32
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v)), tol=1e-5)


# --------------------------------------------------------------------------- masks


@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_causal_mask_against_loop(n):
    m = A.causal_mask(n)
    assert m.dtype == bool and m.shape == (n, n)
    for i in range(n):
        for j in range(n):
            assert m[i, j] == (j <= i)


@pytest.mark.parametrize("lengths, n", [([3, 0, 5], 5), ((1,), 1), (np.array([2, 7, 4, 1]), 7)])
def test_padding_mask_against_loop(lengths, n):
    m = A.padding_mask(lengths, n)
    lengths = list(lengths)
    assert m.dtype == bool and m.shape == (len(lengths), n)
    for b, length in enumerate(lengths):
        for j in range(n):
            assert m[b, j] == (j < length)


@pytest.mark.parametrize("lengths, n", [([3, 0, 5], 5), ([4], 4), ([1, 6], 6)])
def test_padding_attention_mask_against_loop(lengths, n):
    m = A.padding_attention_mask(lengths, n)
    assert m.dtype == bool and m.shape == (len(lengths), n, n)
    for b, length in enumerate(lengths):
        for i in range(n):
            for j in range(n):
                assert m[b, i, j] == (j < length)
    m[0, 0, 0] = not m[0, 0, 0]  # a real array, not a read-only broadcast view


@pytest.mark.parametrize("n", [1, 4, 9])
def test_sliding_window_mask_against_loop(n):
    for window in range(1, n + 3):
        m = A.sliding_window_mask(n, window)
        assert m.dtype == bool and m.shape == (n, n)
        for i in range(n):
            for j in range(n):
                assert m[i, j] == (i - window < j <= i), (n, window, i, j)
            assert m[i].sum() == min(i + 1, window)  # itself and window - 1 before it
        if window >= n:
            np.testing.assert_array_equal(m, A.causal_mask(n))
    np.testing.assert_array_equal(A.sliding_window_mask(n, 1), np.eye(n, dtype=bool))


def test_sliding_window_mask_matches_torch_sdpa_window():
    rng = np.random.default_rng(7)
    n, window = 10, 3
    q, k, v = randn(rng, n, 4), randn(rng, n, 4), randn(rng, n, 4)
    mask = A.sliding_window_mask(n, window)
    out, _ = A.scaled_dot_product_attention(q, k, v, mask)
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), attn_mask=T(mask)))


# --------------------------------------------------------------------------- additive attention


def additive_by_loops(q, k, v, W_q, W_k, w, mask=None):
    """Explicit double loop over i, j of w . tanh(q_i W_q + k_j W_k), then a masked softmax."""
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    n_q, n_k = q.shape[-2], k.shape[-2]
    out = np.zeros(batch + (n_q, v.shape[-1]))
    weights = np.zeros(batch + (n_q, n_k))
    qb, kb, vb = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (q, k, v))
    mb = np.ones(batch + (n_q, n_k), bool) if mask is None else np.broadcast_to(mask, batch + (n_q, n_k))
    for idx in np.ndindex(*batch):
        for i in range(n_q):
            scores = [float(w @ np.tanh(qb[idx][i] @ W_q + kb[idx][j] @ W_k)) for j in range(n_k)]
            allowed = [j for j in range(n_k) if mb[idx][i, j]]
            if not allowed:
                continue
            top = max(scores[j] for j in allowed)
            e = {j: math.exp(scores[j] - top) for j in allowed}
            total = sum(e.values())
            for j in allowed:
                weights[idx][i, j] = e[j] / total
                out[idx][i] += weights[idx][i, j] * vb[idx][j]
    return out, weights


@pytest.mark.parametrize(
    "batch, n_q, n_k, d_q, d_k, d_h, d_v, masked",
    [
        ((), 4, 6, 3, 5, 7, 2, False),
        ((2,), 5, 3, 6, 4, 3, 5, False),
        ((2,), 5, 3, 6, 4, 3, 5, True),
        ((2, 2), 3, 4, 2, 2, 4, 3, True),
    ],
)
def test_additive_attention_against_double_loop(batch, n_q, n_k, d_q, d_k, d_h, d_v, masked):
    rng = np.random.default_rng(n_q * 10 + d_h)
    q, k, v = randn(rng, *batch, n_q, d_q), randn(rng, *batch, n_k, d_k), randn(rng, *batch, n_k, d_v)
    W_q, W_k, w = randn(rng, d_q, d_h), randn(rng, d_k, d_h), randn(rng, d_h)
    mask = None
    if masked:
        mask = random_mask(rng, batch + (n_q, n_k), p=0.6)
        mask[(0,) * len(batch) + (0,)] = False  # one query row sees nothing
    out, weights = A.additive_attention(q, k, v, W_q, W_k, w, mask)
    ref_out, ref_w = additive_by_loops(q, k, v, W_q, W_k, w, mask)
    assert_close(out, ref_out)
    assert_close(weights, ref_w)
    if masked:
        np.testing.assert_array_equal(out[(0,) * len(batch) + (0,)], 0.0)


# --------------------------------------------------------------------------- heads


@pytest.mark.parametrize("shape", [(5, 12), (2, 5, 12), (2, 3, 4, 24)])
def test_split_and_merge_heads(shape):
    rng = np.random.default_rng(len(shape))
    x = randn(rng, *shape)
    d_model = shape[-1]
    for h in [hh for hh in range(1, d_model + 1) if d_model % hh == 0]:
        d_head = d_model // h
        s = A.split_heads(x, h)
        assert s.shape == shape[:-2] + (h, shape[-2], d_head)
        for head in range(h):
            np.testing.assert_array_equal(s[..., head, :, :], x[..., head * d_head:(head + 1) * d_head])
        ref = T(x).view(*shape[:-1], h, d_head).transpose(-3, -2)
        np.testing.assert_array_equal(s, ref.numpy())
        np.testing.assert_array_equal(A.merge_heads(s), x)
        y = randn(rng, *shape[:-2], h, shape[-2], d_head)
        np.testing.assert_array_equal(A.split_heads(A.merge_heads(y), h), y)


def torch_mha(W_q, W_k, W_v, W_o, n_heads):
    d_model = W_q.shape[0]
    mha = torch.nn.MultiheadAttention(d_model, n_heads, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([T(W_q.T), T(W_k.T), T(W_v.T)]))
        mha.out_proj.weight.copy_(T(W_o.T))
    return mha.eval()


@pytest.mark.parametrize("n_heads", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["self", "cross", "self-causal", "cross-mask", "key-padding"])
def test_multi_head_attention_matches_torch(n_heads, kind):
    rng = np.random.default_rng(n_heads)
    b, d_model = 2, 12
    n_q = 6
    n_kv = n_q if kind.startswith("self") or kind == "key-padding" else 9
    x_q = randn(rng, b, n_q, d_model)
    x_kv = x_q if kind.startswith("self") else randn(rng, b, n_kv, d_model)
    W_q, W_k, W_v, W_o = (randn(rng, d_model, d_model) / math.sqrt(d_model) for _ in range(4))
    mha = torch_mha(W_q, W_k, W_v, W_o, n_heads)
    mask, kwargs = None, {}
    if kind == "self-causal":
        mask = A.causal_mask(n_q)
        kwargs["attn_mask"] = T(~mask)  # torch: True = blocked
    elif kind == "cross-mask":
        mask = random_mask(rng, (n_q, n_kv), p=0.5)
        mask[np.arange(n_q), rng.integers(0, n_kv, n_q)] = True  # no fully-masked row
        kwargs["attn_mask"] = T(~mask)
    elif kind == "key-padding":
        pad = A.padding_mask([4, 6], n_kv)  # (b, n_kv)
        mask = pad[:, None, None, :]  # (b, 1, 1, n_kv): over heads and queries
        kwargs["key_padding_mask"] = T(~pad)
    out, w = A.multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, n_heads, mask)
    ref_out, ref_w = mha(T(x_q), T(x_kv), T(x_kv), need_weights=True, average_attn_weights=False, **kwargs)
    assert out.shape == (b, n_q, d_model) and w.shape == (b, n_heads, n_q, n_kv)
    assert_close(out, ref_out)
    assert_close(w, ref_w)
    if mask is not None:
        assert (w[~np.broadcast_to(mask, w.shape)] == 0).all()


def test_multi_head_attention_is_split_attend_merge():
    rng = np.random.default_rng(11)
    x = randn(rng, 5, 8)
    W_q, W_k, W_v, W_o = (randn(rng, 8, 8) for _ in range(4))
    out, w = A.multi_head_attention(x, x, W_q, W_k, W_v, W_o, 2)
    heads = []
    for h in range(2):
        cols = slice(4 * h, 4 * h + 4)
        o, _ = A.scaled_dot_product_attention(x @ W_q[:, cols], x @ W_k[:, cols], x @ W_v[:, cols])
        heads.append(o)
    np.testing.assert_allclose(out, np.concatenate(heads, axis=-1) @ W_o, rtol=0, atol=TOL)


# --------------------------------------------------------------------------- grouped-query attention


@pytest.mark.parametrize("h_q, h_kv", [(4, 1), (4, 2), (4, 4), (6, 3), (8, 2), (1, 1)])
@pytest.mark.parametrize("masked", [False, True])
def test_grouped_query_attention_matches_torch(h_q, h_kv, masked):
    rng = np.random.default_rng(h_q * 10 + h_kv)
    b, n_q, n_k, d, d_v = 2, 5, 7, 8, 3
    q, k, v = randn(rng, b, h_q, n_q, d), randn(rng, b, h_kv, n_k, d), randn(rng, b, h_kv, n_k, d_v)
    mask = random_mask(rng, (b, 1, n_q, n_k), p=0.6) if masked else None
    out, w = A.grouped_query_attention(q, k, v, mask)
    kwargs = {} if mask is None else {"attn_mask": T(mask)}
    ref = F.scaled_dot_product_attention(T(q), T(k), T(v), enable_gqa=True, **kwargs)
    assert out.shape == (b, h_q, n_q, d_v) and w.shape == (b, h_q, n_q, n_k)
    assert_close(out, ref)
    # query head i uses key/value head i // (h_q // h_kv): torch's repeat_interleave
    k_rep = np.repeat(k, h_q // h_kv, axis=1)
    assert_close(w, torch_weights(q, k_rep, mask))
    if h_kv == h_q:  # MHA: nothing shared
        assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), **kwargs))


# --------------------------------------------------------------------------- tiled attention

# (batch, n_q, n_k, d_k, d_v, block_size)
TILED_SHAPES = [
    ((), 37, 37, 8, 8, 8),  # ragged last block
    ((), 64, 64, 16, 16, 16),  # blocks divide n
    ((), 10, 10, 4, 4, 64),  # block_size larger than n
    ((), 7, 5, 3, 2, 1),  # block_size 1
    ((2,), 20, 33, 5, 7, 6),  # n_q < n_k
    ((2, 3), 33, 20, 4, 6, 7),  # n_q > n_k
    ((2, 3), 19, 19, 4, 3, 5),
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("batch, n_q, n_k, d_k, d_v, block", TILED_SHAPES)
def test_tiled_attention_matches_torch(batch, n_q, n_k, d_k, d_v, block, causal):
    rng = np.random.default_rng(n_q * n_k + block)
    q, k, v = randn(rng, *batch, n_q, d_k), randn(rng, *batch, n_k, d_k), randn(rng, *batch, n_k, d_v)
    out = A.tiled_attention(q, k, v, block_size=block, causal=causal)
    assert out.dtype == np.float64
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), is_causal=causal))


def test_tiled_attention_broadcasts_batch_axes():
    rng = np.random.default_rng(12)
    q, k, v = randn(rng, 2, 3, 9, 4), randn(rng, 3, 11, 4), randn(rng, 3, 11, 5)
    out = A.tiled_attention(q, k, v, block_size=4)
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v)))


def test_tiled_attention_equals_reference_for_any_block_size():
    rng = np.random.default_rng(13)
    q, k, v = randn(rng, 23, 6), randn(rng, 23, 6), randn(rng, 23, 4)
    ref, _ = A.scaled_dot_product_attention(q, k, v, A.causal_mask(23))
    for block in [1, 2, 3, 5, 8, 22, 23, 24, 100]:
        np.testing.assert_allclose(A.tiled_attention(q, k, v, block, causal=True), ref, rtol=0, atol=TOL)


def test_tiled_attention_is_stable_for_huge_scores():
    """The online softmax rescales the running sums: scores in the thousands must not overflow."""
    rng = np.random.default_rng(14)
    q, k, v = 40 * randn(rng, 2, 30, 8), 40 * randn(rng, 2, 30, 8), randn(rng, 2, 30, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = A.tiled_attention(q, k, v, block_size=7, causal=True)
    assert np.abs(q @ np.swapaxes(k, -1, -2)).max() / math.sqrt(8) > 1000
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), is_causal=True))


@pytest.mark.parametrize("causal", [False, True])
def test_tiled_attention_float32(causal):
    rng = np.random.default_rng(15)
    q, k, v = (randn(rng, 2, 50, 16).astype(np.float32) for _ in range(3))
    out = A.tiled_attention(q, k, v, block_size=16, causal=causal)
    assert out.dtype == np.float32
    assert_close(out, F.scaled_dot_product_attention(T(q), T(k), T(v), is_causal=causal), tol=1e-5)
    ref64 = F.scaled_dot_product_attention(*(T(a.astype(np.float64)) for a in (q, k, v)), is_causal=causal)
    assert_close(out, ref64, tol=1e-5)


def test_tiled_attention_never_holds_the_n_by_n_scores():
    rng = np.random.default_rng(16)
    n, d, block = 2048, 16, 64
    q, k, v = randn(rng, n, d), randn(rng, n, d), randn(rng, n, d)
    scores_bytes = n * n * 8
    tiled_peak = bench.peak_call_bytes(lambda: A.tiled_attention(q, k, v, block_size=block))
    # the output alone is n * d * 8 bytes, so the peak is at least that and far below n^2
    assert n * d * 8 <= tiled_peak < scores_bytes / 8, tiled_peak
    # the same measurement sees the naive reference build the full score matrix
    naive_peak = bench.peak_call_bytes(lambda: A.scaled_dot_product_attention(q, k, v))
    assert naive_peak > scores_bytes, naive_peak


# --------------------------------------------------------------------------- cost


@pytest.mark.parametrize("n, d", [(1, 1), (7, 3), (1024, 64), (4096, 128)])
def test_attention_flops_and_score_bytes(n, d):
    assert A.attention_flops(n, d) == 4 * n * n * d
    assert A.attention_flops(2 * n, d) == 4 * A.attention_flops(n, d)
    for b in (2, 4, 0.5):
        assert A.attention_score_bytes(n, b) == n * n * b
        assert A.attention_score_bytes(2 * n, b) == 4 * A.attention_score_bytes(n, b)


def test_kv_cache_bytes():
    assert A.kv_cache_bytes(80, 8, 128, 1) == 327680 == 320 * 1024  # Llama 2 70B, fp16, per token
    for L, H, D, S, B, nbytes in [(32, 32, 128, 4096, 1, 2), (2, 3, 5, 7, 11, 4), (80, 8, 128, 4096, 8, 1)]:
        assert A.kv_cache_bytes(L, H, D, S, B, nbytes) == 2 * L * H * D * S * B * nbytes
        assert A.kv_cache_bytes(L, H, D, 2 * S, B, nbytes) == 2 * A.kv_cache_bytes(L, H, D, S, B, nbytes)


# --------------------------------------------------------------------------- errors

Q = np.zeros((2, 3, 4))
W12 = np.zeros((12, 12))

BAD_INPUTS = {
    "sdpa d_k mismatch": (lambda: A.scaled_dot_product_attention(Q, np.zeros((2, 5, 6)), np.zeros((2, 5, 6))),
                          ["d_k", "(2, 3, 4)", "(2, 5, 6)"]),
    "sdpa n_k mismatch": (lambda: A.scaled_dot_product_attention(Q, np.zeros((2, 5, 4)), np.zeros((2, 6, 4))),
                          ["n_k", "(2, 5, 4)", "(2, 6, 4)"]),
    "sdpa mask does not broadcast": (
        lambda: A.scaled_dot_product_attention(Q, Q, Q, np.ones((3, 4), bool)), ["(3, 4)", "(2, 3, 3)"]),
    "sdpa mask bad batch": (
        lambda: A.scaled_dot_product_attention(Q, Q, Q, np.ones((5, 1, 3), bool)), ["(5, 1, 3)", "(2, 3, 3)"]),
    "sdpa float mask": (lambda: A.scaled_dot_product_attention(Q, Q, Q, np.ones((3, 3))), ["bool", "float64"]),
    "sdpa int mask": (lambda: A.scaled_dot_product_attention(Q, Q, Q, np.ones((3, 3), int)), ["bool", "int64"]),
    "sdpa batch mismatch": (lambda: A.scaled_dot_product_attention(Q, np.zeros((5, 3, 4)), np.zeros((5, 3, 4))),
                            ["(2, 3, 4)", "(5, 3, 4)"]),
    "sdpa empty q": (lambda: A.scaled_dot_product_attention(np.zeros((0, 4)), Q[0], Q[0]), ["(0, 4)"]),
    "sdpa zero d_k": (lambda: A.scaled_dot_product_attention(np.zeros((3, 0)), np.zeros((3, 0)), Q[0]), ["(3, 0)"]),
    "sdpa 1-D q": (lambda: A.scaled_dot_product_attention(np.zeros(4), Q[0], Q[0]), ["(4,)"]),
    "sdpa bool q": (lambda: A.scaled_dot_product_attention(np.ones((3, 4), bool), Q[0], Q[0]), ["dtype bool"]),
    "softmax axis": (lambda: A.softmax(np.zeros((2, 3)), axis=2), ["axis 2", "(2, 3)"]),
    "softmax empty": (lambda: A.softmax(np.zeros((2, 0))), ["(2, 0)"]),
    "causal n=0": (lambda: A.causal_mask(0), ["n must", "got 0"]),
    "causal n<0": (lambda: A.causal_mask(-3), ["n must", "-3"]),
    "causal n=True": (lambda: A.causal_mask(True), ["n must", "True"]),
    "causal n float": (lambda: A.causal_mask(2.5), ["n must", "2.5"]),
    "window=0": (lambda: A.sliding_window_mask(5, 0), ["window", "got 0"]),
    "window<0": (lambda: A.sliding_window_mask(5, -2), ["window", "-2"]),
    "window n=0": (lambda: A.sliding_window_mask(0, 3), ["n must", "got 0"]),
    "padding length > n": (lambda: A.padding_mask([2, 7], 5), ["n=5", "[7]"]),
    "padding negative length": (lambda: A.padding_mask([-1, 2], 5), ["[-1]"]),
    "padding no lengths": (lambda: A.padding_mask([], 5), ["(0,)"]),
    "padding float lengths": (lambda: A.padding_mask([1.5, 2.0], 5), ["float64"]),
    "padding 2-D lengths": (lambda: A.padding_mask([[1, 2]], 5), ["(1, 2)"]),
    "padding n=0": (lambda: A.padding_mask([0], 0), ["n must", "got 0"]),
    "padding attention length > n": (lambda: A.padding_attention_mask([3, 9], 4), ["n=4", "[9]"]),
    "additive W_q rows": (lambda: A.additive_attention(Q, Q, Q, np.zeros((5, 2)), np.zeros((4, 2)), np.zeros(2)),
                          ["(2, 3, 4)", "W_q (5, 2)"]),
    "additive d_h mismatch": (lambda: A.additive_attention(Q, Q, Q, np.zeros((4, 2)), np.zeros((4, 3)), np.zeros(2)),
                              ["(4, 2)", "(4, 3)", "(2,)"]),
    "additive n_k mismatch": (lambda: A.additive_attention(Q, Q, np.zeros((2, 5, 4)), np.zeros((4, 2)),
                                                           np.zeros((4, 2)), np.zeros(2)), ["n_k", "(2, 5, 4)"]),
    "additive mask": (lambda: A.additive_attention(Q, Q, Q, np.zeros((4, 2)), np.zeros((4, 2)), np.zeros(2),
                                                   np.ones((2, 2), bool)), ["(2, 2)", "(2, 3, 3)"]),
    "split d_model": (lambda: A.split_heads(np.zeros((5, 10)), 3), ["d_model=10", "n_heads=3"]),
    "split n_heads=0": (lambda: A.split_heads(np.zeros((5, 10)), 0), ["n_heads", "got 0"]),
    "split n_heads<0": (lambda: A.split_heads(np.zeros((5, 10)), -2), ["n_heads", "-2"]),
    "merge 2-D": (lambda: A.merge_heads(np.zeros((5, 10))), ["(5, 10)"]),
    "mha d_model": (lambda: A.multi_head_attention(np.zeros((2, 5, 10)), np.zeros((2, 5, 10)), np.zeros((10, 10)),
                                                   np.zeros((10, 10)), np.zeros((10, 10)), np.zeros((10, 10)), 4),
                    ["d_model=10", "n_heads=4"]),
    "mha n_heads=0": (lambda: A.multi_head_attention(np.zeros((5, 12)), np.zeros((5, 12)), W12, W12, W12, W12, 0),
                      ["n_heads", "got 0"]),
    "mha x_kv width": (lambda: A.multi_head_attention(np.zeros((5, 12)), np.zeros((5, 8)), W12, W12, W12, W12, 2),
                       ["(5, 12)", "(5, 8)"]),
    "mha W_k shape": (lambda: A.multi_head_attention(np.zeros((5, 12)), np.zeros((5, 12)), W12, np.zeros((8, 12)),
                                                     W12, W12, 2), ["W_k", "(8, 12)"]),
    "mha empty tokens": (lambda: A.multi_head_attention(np.zeros((0, 12)), np.zeros((5, 12)), W12, W12, W12, W12, 2),
                         ["(0, 12)"]),
    "mha mask": (lambda: A.multi_head_attention(np.zeros((5, 12)), np.zeros((6, 12)), W12, W12, W12, W12, 2,
                                                np.ones((5, 5), bool)), ["(5, 5)", "(2, 5, 6)"]),
    "gqa h_q not multiple": (lambda: A.grouped_query_attention(np.zeros((1, 3, 4, 8)), np.zeros((1, 2, 4, 8)),
                                                               np.zeros((1, 2, 4, 8))), ["h_q=3", "h_kv=2"]),
    "gqa h_kv > h_q": (lambda: A.grouped_query_attention(np.zeros((1, 2, 4, 8)), np.zeros((1, 4, 4, 8)),
                                                         np.zeros((1, 4, 4, 8))), ["h_q=2", "h_kv=4"]),
    "gqa k/v heads": (lambda: A.grouped_query_attention(np.zeros((1, 4, 4, 8)), np.zeros((1, 2, 4, 8)),
                                                        np.zeros((1, 1, 4, 8))), ["(1, 2, 4, 8)", "(1, 1, 4, 8)"]),
    "gqa d_k mismatch": (lambda: A.grouped_query_attention(np.zeros((1, 4, 3, 8)), np.zeros((1, 2, 5, 6)),
                                                           np.zeros((1, 2, 5, 6))), ["d_k", "(1, 4, 3, 8)", "d_k=6"]),
    "gqa 2-D": (lambda: A.grouped_query_attention(np.zeros((4, 8)), np.zeros((4, 8)), np.zeros((4, 8))), ["(4, 8)"]),
    "tiled block 0": (lambda: A.tiled_attention(Q, Q, Q, block_size=0), ["block_size", "got 0"]),
    "tiled block <0": (lambda: A.tiled_attention(Q, Q, Q, block_size=-4), ["block_size", "-4"]),
    "tiled d_k mismatch": (lambda: A.tiled_attention(Q, np.zeros((2, 5, 6)), np.zeros((2, 5, 6))),
                           ["d_k", "(2, 3, 4)", "(2, 5, 6)"]),
    "tiled n_k mismatch": (lambda: A.tiled_attention(Q, np.zeros((2, 5, 4)), np.zeros((2, 6, 4))),
                           ["n_k", "(2, 5, 4)", "(2, 6, 4)"]),
    "tiled n=0": (lambda: A.tiled_attention(np.zeros((2, 0, 4)), Q, Q), ["(2, 0, 4)"]),
    "flops n=0": (lambda: A.attention_flops(0, 64), ["n must", "got 0"]),
    "flops d<0": (lambda: A.attention_flops(8, -1), ["d must", "-1"]),
    "score bytes 0": (lambda: A.attention_score_bytes(8, 0), ["bytes_per_element", "got 0"]),
    "score bytes n<0": (lambda: A.attention_score_bytes(-8, 2), ["n must", "-8"]),
    "kv heads 0": (lambda: A.kv_cache_bytes(80, 0, 128, 1), ["n_kv_heads", "got 0"]),
    "kv seq_len<0": (lambda: A.kv_cache_bytes(80, 8, 128, -1), ["seq_len", "-1"]),
    "kv batch 0": (lambda: A.kv_cache_bytes(80, 8, 128, 1, batch=0), ["batch", "got 0"]),
    "kv bytes<0": (lambda: A.kv_cache_bytes(80, 8, 128, 1, bytes_per_element=-2), ["bytes_per_element", "-2"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_value_error_naming_the_culprit(case):
    fn, needles = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=re.escape(needles[0])) as excinfo:
        fn()
    message = str(excinfo.value)
    for needle in needles[1:]:
        assert needle in message, f"{needle!r} not in {message!r}"
