"""Notebook 08's toy decoder (attnlib.models.kv_cache): decoding token by token through a KV cache.

Decoding with the cache equals full recomputation (MHA, GQA, MQA, sliding windows, several layers),
the forward pass matches torch's F.scaled_dot_product_attention with enable_gqa, the cache holds
attnlib.kv_cache_bytes bytes, a rolling buffer holds the window, and errors name the problem.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib as A
from attnlib.models import kv_cache


CONFIGS = [
    pytest.param(dict(), id="MHA"),
    pytest.param(dict(n_kv_heads=2), id="GQA"),
    pytest.param(dict(n_kv_heads=1), id="MQA"),
    pytest.param(dict(window=3), id="window3"),
    pytest.param(dict(n_layers=3, n_kv_heads=2, window=5), id="GQA-window5-3layers"),
    pytest.param(dict(window=1, n_layers=1), id="window1"),
]


@pytest.mark.parametrize("kw", CONFIGS)
def test_decoding_with_a_cache_equals_full_recomputation(kw):
    model = kv_cache.toy_decoder(**kw)
    x = np.random.default_rng(3).standard_normal((13, model.d_model))
    full = kv_cache.forward(model, x)
    np.testing.assert_allclose(kv_cache.decode(model, x), full, rtol=1e-10, atol=1e-12)
    # prefill a prompt in one pass, then decode the rest
    cache = kv_cache.new_cache(model, len(x))
    head = kv_cache.forward(model, x[:8], cache)
    tail = np.stack([kv_cache.decode_step(model, x_t, cache) for x_t in x[8:]])
    np.testing.assert_allclose(np.vstack([head, tail]), full, rtol=1e-10, atol=1e-12)
    assert cache.length == len(x)
    assert cache.n_cached == (len(x) if model.window is None else model.window)


@pytest.mark.parametrize("kw", CONFIGS)
def test_generation_with_and_without_cache_agree(kw):
    model = kv_cache.toy_decoder(**kw)
    prompt = np.random.default_rng(4).standard_normal((4, model.d_model))
    a = kv_cache.generate(model, prompt, 25, use_cache=True)
    b = kv_cache.generate(model, prompt, 25, use_cache=False)
    assert a.shape == (25, model.d_model)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.sqrt((a**2).mean(-1)), 1.0)


def _torch_forward(model: kv_cache.ToyDecoder, x: np.ndarray) -> np.ndarray:
    """The toy decoder in torch, the oracle: F.scaled_dot_product_attention with enable_gqa."""
    n, d_head = x.shape[0], model.d_head
    mask = torch.from_numpy(A.causal_mask(n) if model.window is None else A.sliding_window_mask(n, model.window))
    h = torch.from_numpy(x)
    for layer in range(model.n_layers):
        def heads(W, count):
            return (h @ torch.from_numpy(W[layer])).reshape(n, count, d_head).transpose(0, 1)[None]

        q, k, v = heads(model.W_q, model.n_heads), heads(model.W_k, model.n_kv_heads), heads(model.W_v, model.n_kv_heads)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)[0]
        h = h + out.transpose(0, 1).reshape(n, -1) @ torch.from_numpy(model.W_o[layer])
    return h.numpy()


@pytest.mark.parametrize("kw", CONFIGS)
def test_forward_matches_torch(kw):
    model = kv_cache.toy_decoder(**kw, seed=5)
    x = np.random.default_rng(6).standard_normal((9, model.d_model))
    np.testing.assert_allclose(kv_cache.forward(model, x), _torch_forward(model, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_kv", [4, 2, 1])
def test_cache_bytes_match_kv_cache_bytes(n_kv):
    model = kv_cache.toy_decoder(n_layers=3, d_model=16, n_heads=4, n_kv_heads=n_kv)
    cache = kv_cache.new_cache(model, 20)
    kv_cache.forward(model, np.ones((7, 16)), cache)
    assert cache.keys(1).shape == cache.values(2).shape == (n_kv, 7, model.d_head)
    assert cache.nbytes == A.kv_cache_bytes(3, n_kv, model.d_head, 7, bytes_per_element=8)


def test_rolling_buffer_holds_the_window_and_survives_a_long_prefill():
    model = kv_cache.toy_decoder(window=4)
    x = np.random.default_rng(7).standard_normal((11, model.d_model))
    cache = kv_cache.new_cache(model, capacity=1000)
    assert cache.capacity == 4  # the window, whatever capacity was asked for
    kv_cache.forward(model, x[:9], cache)  # a prefill longer than the window
    assert cache.n_cached == 4 and cache.length == 9
    steps = [kv_cache.decode_step(model, x_t, cache) for x_t in x[9:]]
    np.testing.assert_allclose(np.stack(steps), kv_cache.forward(model, x)[9:], rtol=1e-10, atol=1e-12)


def test_cache_errors_name_the_problem():
    model = kv_cache.toy_decoder()
    cache = kv_cache.new_cache(model, 2)
    x = np.zeros((3, model.d_model))
    kv_cache.decode_step(model, x[0], cache)
    kv_cache.decode_step(model, x[1], cache)
    with pytest.raises(ValueError, match="the cache is full"):
        kv_cache.decode_step(model, x[2], cache)
    with pytest.raises(ValueError, match="already holds 2 tokens"):
        kv_cache.forward(model, x, cache)
    with pytest.raises(ValueError, match="between 0 and"):
        cache.truncate(5)
    with pytest.raises(ValueError, match=r"\(n, d_model\) = \(n, 32\)"):
        kv_cache.forward(model, np.zeros((3, 31)))
    with pytest.raises(ValueError, match="one token vector"):
        kv_cache.decode_step(model, np.zeros((2, 32)), kv_cache.new_cache(model, 4))
    with pytest.raises(ValueError, match="k .* and v .* must both be"):
        cache.write(0, np.zeros((4, 1, 8)), np.zeros((4, 1, 7)))
    with pytest.raises(ValueError, match="cannot be truncated"):
        kv_cache.new_cache(kv_cache.toy_decoder(window=2), 4).truncate(0)
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        kv_cache.toy_decoder(n_heads=4, n_kv_heads=3)
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        kv_cache.toy_decoder(d_model=30, n_heads=4)


def test_truncate_rewinds_a_full_attention_cache():
    model = kv_cache.toy_decoder()
    x = np.random.default_rng(8).standard_normal((6, model.d_model))
    cache = kv_cache.new_cache(model, 6)
    kv_cache.forward(model, x, cache)
    cache.truncate(3)
    np.testing.assert_allclose(kv_cache.decode_step(model, x[3], cache), kv_cache.forward(model, x[:4])[-1])


def test_time_per_token_shape_and_that_the_cache_helps():
    model = kv_cache.toy_decoder(n_layers=1, d_model=32, n_heads=2)
    prefixes = [16, 256]
    slow = kv_cache.time_per_token(model, prefixes, use_cache=False, repeats=3)
    fast = kv_cache.time_per_token(model, prefixes, use_cache=True, repeats=3)
    assert slow.shape == fast.shape == (2,) and np.all(slow > 0) and np.all(fast > 0)
    assert slow[-1] > fast[-1]  # at 256 tokens, rerunning everything cannot beat one cached step
    with pytest.raises(ValueError, match="window"):
        kv_cache.time_per_token(kv_cache.toy_decoder(window=4), [4], use_cache=True)
