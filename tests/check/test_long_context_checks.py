"""Notebook 08's checks (attnlib.check.nb08_long_context): the long-context predictions, and
hand-written learner answers for grouped_query_attention, sliding_window_mask and tiled_attention.

The predictions' helpers (reach_back, reachable) against a path search, their expected values and
the hints for wrong answers; the note on skipped tiles. Notebook 08's library is tested in
tests/models/test_model_configs.py, tests/models/test_kv_cache.py, tests/measure/test_flops.py and
tests/reference/test_tiled_skipping.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import attnlib as A
from attnlib import check
from attnlib.check import nb08_long_context as lcc
from attnlib.check.result import CheckResult


def assert_failed(result: CheckResult, *words: str) -> None:
    assert result.status == "failed", str(result)
    assert "could not finish" not in result.message, result.message
    for word in words:
        assert word in result.message, f"{word!r} not in: {result.message}"


def assert_passed(result: CheckResult) -> None:
    assert result.status == "passed", str(result)


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


def test_the_skip_note_is_the_same_on_every_run_and_names_what_was_counted():
    from attnlib.check import nb08_long_context as tiled_checks

    note = tiled_checks.skip_note(A.tiled_attention)
    assert note == tiled_checks.skip_note(A.tiled_attention)
    assert "skips the key tiles wholly in the future" in note and "n = 128, block_size = 16" in note
    visits = tiled_checks.skip_note(lambda q, k, v, block_size=128, causal=False:
                                    A.tiled_attention(q, k, v, block_size, causal, skip_future=False))
    assert "visits every key tile" in visits
    assert tiled_checks.skip_note(lambda q, k, v, block_size=128, causal=False: 1 / 0) == ""
