"""Notebook 08's library and checks: model_configs, kv_cache, the long-context predictions, and
hand-written learner answers for grouped_query_attention, sliding_window_mask and tiled_attention."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib as A
from attnlib import check
from attnlib.measure.flops import count_matmul_flops
from attnlib.models import kv_cache, model_configs
from attnlib.check import nb08_long_context as lcc
from attnlib.check.result import CheckResult


def assert_failed(result: CheckResult, *words: str) -> None:
    assert result.status == "failed", str(result)
    assert "could not finish" not in result.message, result.message
    for word in words:
        assert word in result.message, f"{word!r} not in: {result.message}"


def assert_passed(result: CheckResult) -> None:
    assert result.status == "passed", str(result)


# =========================================================================== model_configs


def test_llama2_70b_caches_320_kib_per_token_in_fp16():
    m = model_configs.LLAMA2_70B
    assert m.kv_cache_bytes() == 2 * 80 * 8 * 128 * 2 == 320 * 1024
    assert m.kv_cache_bytes(4096, batch=3, bytes_per_element=4) == 2 * 80 * 8 * 128 * 4096 * 3 * 4
    assert (m.attention_kind, m.group_size, m.d_model) == ("GQA", 8, 8192)


def test_model_shapes_and_kinds():
    expected = {
        "Llama 2 7B": (32, 32, 32, 128, "MHA"),
        "Llama 2 70B": (80, 64, 8, 128, "GQA"),
        "Llama 2 70B as MHA": (80, 64, 64, 128, "MHA"),
        "Llama 2 70B as MQA": (80, 64, 1, 128, "MQA"),
        "Mistral 7B": (32, 32, 8, 128, "GQA"),
    }
    got = {m.name: (m.n_layers, m.n_heads, m.n_kv_heads, m.head_dim, m.attention_kind) for m in model_configs.MODELS}
    assert got == expected
    assert model_configs.MISTRAL_7B.sliding_window == 4096
    for m in model_configs.MODELS:
        assert m.source.strip()
    assert "Touvron" in model_configs.LLAMA2_7B.source and "Jiang" in model_configs.MISTRAL_7B.source
    assert "hypothetical" in model_configs.LLAMA2_70B_MHA.source and "hypothetical" in model_configs.LLAMA2_70B_MQA.source


def test_configs_agree_with_kv_cache_bytes_and_the_window_caps_the_cache():
    for m in model_configs.MODELS:
        for seq_len in (1, 4096):
            assert m.kv_cache_bytes(seq_len) == A.kv_cache_bytes(m.n_layers, m.n_kv_heads, m.head_dim, seq_len)
    mistral = model_configs.MISTRAL_7B
    assert mistral.cached_tokens(100) == 100 and mistral.cached_tokens(32768) == 4096
    assert A.kv_cache_bytes(32, 8, 128, 32768) / mistral.kv_cache_bytes(32768) == 8
    assert model_configs.LLAMA2_7B.cached_tokens(32768) == 32768


def test_configs_are_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        model_configs.LLAMA2_7B.n_kv_heads = 8  # type: ignore[misc]
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        model_configs.LLAMA2_70B.with_kv_heads(3, "odd", "test")
    with pytest.raises(ValueError, match="n_layers"):
        dataclasses.replace(model_configs.LLAMA2_7B, n_layers=0)
    with pytest.raises(ValueError, match="source"):
        dataclasses.replace(model_configs.LLAMA2_7B, source=" ")
    with pytest.raises(ValueError, match="sliding_window"):
        dataclasses.replace(model_configs.MISTRAL_7B, sliding_window=-1)


# =========================================================================== kv_cache

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


# =========================================================================== predictions


@pytest.mark.parametrize("window, n_layers", [(1, 3), (2, 1), (2, 5), (4, 3), (7, 2), (16, 4)])
def test_reach_back_is_layers_times_window_minus_one(window, n_layers):
    assert lcc.reach_back(window, n_layers) == n_layers * (window - 1)


def test_reachable_matches_a_path_search():
    n, window, layers = 10, 3, 2
    one = A.sliding_window_mask(n, window)
    brute = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for k in range(n):
            for j in range(n):
                if one[i, k] and one[k, j]:
                    brute[i, j] = True
    np.testing.assert_array_equal(lcc.reachable(n, window, layers), brute)


def test_predictions_expected_values():
    assert lcc.sliding_window_reach.expected() == 9
    assert lcc.kv_cache_shrink.expected() == [8.0, 64.0]


@pytest.mark.parametrize("answer, words", [
    (12, ["itself and only 3 before it"]),
    (10, ["counts the positions"]),
    (3, ["reach of one layer"]),
    (64, ["does not multiply"]),
])
def test_sliding_window_reach_wrong_answers(answer, words):
    assert_failed(check.sliding_window_reach(lambda: answer), *words)


def test_sliding_window_reach_right_answers():
    assert_passed(check.sliding_window_reach(lambda: 9))
    assert_passed(check.sliding_window_reach(lambda: 3 * (4 - 1)))
    assert_passed(check.sliding_window_reach(lambda: np.int64(9)))


@pytest.mark.parametrize("answer, words", [
    ([0.125, 1 / 64], ["remain"]),
    ([64, 8], ["swapped"]),
    ([8, 8], ["single key/value head"]),
    ([87.5 / 100, 1 - 1 / 64], ["fractions saved"]),
])
def test_kv_cache_shrink_wrong_answers(answer, words):
    assert_failed(check.kv_cache_shrink(lambda: answer), *words)


def test_kv_cache_shrink_right_answers():
    assert_passed(check.kv_cache_shrink(lambda: [8, 64]))
    assert_passed(check.kv_cache_shrink(lambda: (64 / 8, 64.0)))


# =========================================================================== learner code for the catalogue checks


def test_gqa_learner_loop_over_heads_passes():
    def gqa(q, k, v, mask=None):
        h_q, h_kv = q.shape[-3], k.shape[-3]
        group = h_q // h_kv
        outs, weights = [], []
        for i in range(h_q):
            o, w = A.scaled_dot_product_attention(
                q[..., i, :, :], k[..., i // group, :, :], v[..., i // group, :, :],
                None if mask is None else mask,
            )
            outs.append(o)
            weights.append(w)
        return np.stack(outs, axis=-3), np.stack(weights, axis=-3)

    assert_passed(check.grouped_query_attention(gqa))


def test_gqa_learner_reshaping_queries_into_groups_passes():
    def gqa(q, k, v, mask=None):
        *batch, h_q, n, d = q.shape
        h_kv = k.shape[-3]
        qg = q.reshape(*batch, h_kv, h_q // h_kv, n, d)          # (..., h_kv, group, n, d)
        out, w = A.scaled_dot_product_attention(qg, k[..., :, None, :, :], v[..., :, None, :, :], mask)
        return out.reshape(*batch, h_q, n, v.shape[-1]), w.reshape(*batch, h_q, n, k.shape[-2])

    assert_passed(check.grouped_query_attention(gqa))


def test_gqa_learner_modulo_indexing_is_told_about_repeat_interleave():
    def gqa(q, k, v, mask=None):
        h_q, h_kv = q.shape[-3], k.shape[-3]
        idx = np.arange(h_q) % h_kv                                 # round robin: the tile mistake
        return A.scaled_dot_product_attention(q, k[..., idx, :, :], v[..., idx, :, :], mask)

    assert_failed(check.grouped_query_attention(gqa), "repeat_interleave", "np.repeat")


def test_gqa_learner_ignoring_the_mask_is_caught():
    def gqa(q, k, v, mask=None):
        g = q.shape[-3] // k.shape[-3]
        return A.scaled_dot_product_attention(q, np.repeat(k, g, -3), np.repeat(v, g, -3))

    assert_failed(check.grouped_query_attention(gqa), "mask")


def test_sliding_window_learner_versions():
    assert_passed(check.sliding_window_mask(
        lambda n, window: np.tril(np.ones((n, n), dtype=bool)) & np.triu(np.ones((n, n), dtype=bool), -(window - 1))))
    assert_passed(check.sliding_window_mask(
        lambda n, window: np.array([[0 <= i - j < window for j in range(n)] for i in range(n)])))
    # counting the window from position i - window (a literal reading of Mistral 7B's §2) lets in one more
    # position than this course's convention, W positions with the token itself
    assert_failed(check.sliding_window_mask(
        lambda n, window: np.tril(np.ones((n, n), dtype=bool)) & np.triu(np.ones((n, n), dtype=bool), -window)), "off by one")
    # 0/1 integers instead of booleans
    assert_failed(check.sliding_window_mask(
        lambda n, window: (np.tril(np.ones((n, n)), 0) - np.tril(np.ones((n, n)), -window)).astype(int)), "bool")


def test_tiled_learner_without_the_running_max_is_told_about_it():
    def tiled(q, k, v, block_size=128, causal=False):
        out = np.zeros(q.shape[:-1] + (v.shape[-1],), dtype=np.result_type(q, k, v))
        for qs in range(0, q.shape[-2], block_size):
            qb = q[..., qs:qs + block_size, :] / np.sqrt(q.shape[-1])
            l = np.zeros(qb.shape[:-1] + (1,), dtype=out.dtype)
            acc = np.zeros(qb.shape[:-1] + (v.shape[-1],), dtype=out.dtype)
            for ks in range(0, k.shape[-2], block_size):
                s = qb @ np.swapaxes(k[..., ks:ks + block_size, :], -1, -2)
                if causal:
                    i = np.arange(qs, qs + s.shape[-2])[:, None]
                    j = np.arange(ks, ks + s.shape[-1])[None, :]
                    s = np.where(j <= i, s, -np.inf)
                p = np.exp(s)                                   # no maximum subtracted: overflows
                l = l + p.sum(-1, keepdims=True)
                acc = acc + p @ v[..., ks:ks + block_size, :]
            out[..., qs:qs + block_size, :] = acc / l
        return out

    assert_failed(check.tiled_attention(tiled), "running maximum")


def test_tiled_learner_looping_over_query_rows_passes():
    def tiled(q, k, v, block_size=128, causal=False):
        dtype = np.result_type(q, k, v)
        out = np.empty(np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], v.shape[-1]), dtype=dtype)
        scale = 1 / np.sqrt(q.shape[-1])
        for i in range(q.shape[-2]):
            qi = q[..., i:i + 1, :] * scale
            m = np.full(qi.shape[:-1] + (1,), -np.inf, dtype=dtype)
            l = np.zeros_like(m)
            acc = np.zeros(qi.shape[:-1] + (v.shape[-1],), dtype=dtype)
            stop = min(i + 1, k.shape[-2]) if causal else k.shape[-2]
            for ks in range(0, stop, block_size):
                ke = min(ks + block_size, stop)
                s = qi @ np.swapaxes(k[..., ks:ke, :], -1, -2)
                m_new = np.maximum(m, s.max(-1, keepdims=True))
                a = np.exp(m - m_new)
                p = np.exp(s - m_new)
                l = l * a + p.sum(-1, keepdims=True)
                acc = acc * a + p @ v[..., ks:ke, :]
                m = m_new
            out[..., i:i + 1, :] = acc / l
        return out

    assert_passed(check.tiled_attention(tiled))


# =========================================================================== tiled: skipping the future, counted


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


def test_the_skip_note_is_the_same_on_every_run_and_names_what_was_counted():
    from attnlib.check import nb08_long_context as tiled_checks

    note = tiled_checks.skip_note(A.tiled_attention)
    assert note == tiled_checks.skip_note(A.tiled_attention)
    assert "skips the key tiles wholly in the future" in note and "n = 128, block_size = 16" in note
    visits = tiled_checks.skip_note(lambda q, k, v, block_size=128, causal=False:
                                    A.tiled_attention(q, k, v, block_size, causal, skip_future=False))
    assert "visits every key tile" in visits
    assert tiled_checks.skip_note(lambda q, k, v, block_size=128, causal=False: 1 / 0) == ""
