"""attnlib.measure.sweeps (notebooks 05, 07 and 08): log-log fits, doubling ratios, memory and time sweeps,
and several functions timed side by side.

cost.layer_flops & co, notebook 07's other library addition, are tested in tests/reference/test_cost.py.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import attnlib as A
from attnlib.measure import sweeps
from attnlib.measure.bench import naive_attention


def test_loglog_fit_recovers_exact_power_laws():
    ns = [256, 512, 1024, 2048]
    for p, c in [(2.0, 3e-9), (1.0, 5.0), (1.5, 0.1)]:
        slope, prefactor = sweeps.loglog_fit(ns, [c * n**p for n in ns])
        assert slope == pytest.approx(p) and prefactor == pytest.approx(c)
    # overhead at small n: the last points see the power law
    values = [1e-3 + 1e-9 * n**2 for n in ns + [8192, 16384]]
    assert sweeps.loglog_fit(ns + [8192, 16384], values, last=2)[0] == pytest.approx(2, abs=0.03)
    # NaN (not measured) points are dropped
    assert sweeps.loglog_fit([1, 2, 4, 8], [1, 4, 16, np.nan])[0] == pytest.approx(2)


@pytest.mark.parametrize("ns, values, word", [([1, 2], [1.0], "same length"), ([1, 2], [1.0, np.nan], "at least 2"),
                                              ([1, 2], [1.0, -1.0], "positive")])
def test_loglog_fit_rejects_bad_input(ns, values, word):
    with pytest.raises(ValueError, match=word):
        sweeps.loglog_fit(ns, values)


def test_doubling_ratios():
    np.testing.assert_allclose(sweeps.doubling_ratios([2, 4, 8], [1.0, 4.0, 16.0]), [4.0, 4.0])
    with pytest.raises(ValueError, match="double"):
        sweeps.doubling_ratios([2, 4, 6], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="increase"):
        sweeps.doubling_ratios([4, 2], [1.0, 2.0])


def test_memory_sweep_slopes_naive_quadratic_tiled_linear_and_deterministic():
    ns = [256, 512, 1024, 2048]
    naive = sweeps.memory_sweep(naive_attention, ns)
    tiled = sweeps.memory_sweep(lambda q, k, v: A.tiled_attention(q, k, v, block_size=64), ns)
    assert 1.8 <= sweeps.loglog_fit(ns, naive, last=3)[0] <= 2.2
    assert 0.8 <= sweeps.loglog_fit(ns, tiled, last=3)[0] <= 1.2
    # the same arrays every run, whatever ran before: a few KiB of Python's own bookkeeping may differ
    np.testing.assert_allclose(naive, sweeps.memory_sweep(naive_attention, ns), rtol=1e-3, atol=4096)
    assert naive[-1] >= A.attention_score_bytes(ns[-1], 4)  # holds at least the float32 scores


def test_time_sweep_shape_inputs_and_budget():
    seen = []

    def fn(q, k, v):
        seen.append(type(q))
        time.sleep(0.002 if q.shape[0] < 64 else 0.03)

    t = sweeps.time_sweep(fn, [16, 32, 64, 128], d=4, repeats=2, max_seconds=0.02)
    assert t.shape == (4,) and np.all(t[:3] > 0) and np.isnan(t[3])  # stopped after the first slow n
    assert 0.002 <= t[0] < 0.02 and t[2] >= 0.03
    assert set(seen) == {np.ndarray}
    seen.clear()
    sweeps.time_sweep(fn, [16], d=4, torch_inputs=True, repeats=1)
    assert set(seen) == {torch.Tensor}
    with pytest.raises(ValueError, match="increase"):
        sweeps.time_sweep(fn, [32, 16])
    with pytest.raises(ValueError, match="statistic"):
        sweeps.time_sweep(fn, [16], statistic="mean")


def test_time_sweep_takes_the_fastest_call_or_the_median():
    delays = iter([0.0, 0.03, 0.001, 0.002] * 2)  # each sweep: an untimed warm-up call, then three timed calls

    def fn(q, k, v):
        time.sleep(next(delays))

    fastest = sweeps.time_sweep(fn, [16], d=4, repeats=3)[0]
    middle = sweeps.time_sweep(fn, [16], d=4, repeats=3, statistic="median")[0]
    assert 0.001 <= fastest < 0.002 <= middle < 0.03


def test_one_torch_thread_restores_the_count():
    before = torch.get_num_threads()
    with sweeps.one_torch_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_time_side_by_side_calls_the_functions_in_turn_and_keeps_each_ones_fastest():
    calls = []

    def sleeper(name, delays):
        delays = iter(delays)

        def fn(q, k, v):
            calls.append((name, q.shape[0]))
            time.sleep(next(delays))
        return fn

    # each function: a warm-up call on the first n, then 3 timed calls per n
    fns = {"a": sleeper("a", [0.0, 0.05, 0.01, 0.2, 0.02, 0.02, 0.02]),
           "b": sleeper("b", [0.0, 0.2, 0.03, 0.05, 0.07, 0.05, 0.05])}
    t = sweeps.time_side_by_side(fns, [16, 32], d=4, repeats=3)
    assert calls[:2] == [("a", 16), ("b", 16)]                               # the warm-ups
    assert calls[2:8] == [("a", 16), ("b", 16)] * 3                          # then in turn, round by round
    assert set(t) == {"a", "b"} and t["a"].shape == t["b"].shape == (2,)
    assert 0.01 <= t["a"][0] < 0.03 <= t["b"][0] < 0.05                      # each one's fastest call
    assert 0.02 <= t["a"][1] < 0.05 <= t["b"][1] < 0.07
    with pytest.raises(ValueError, match="empty"):
        sweeps.time_side_by_side({}, [16])


def test_time_side_by_side_stops_when_the_slowest_passes_the_budget():
    slow = lambda q, k, v: time.sleep(0.03 if q.shape[0] >= 32 else 0.0)  # noqa: E731
    fast = lambda q, k, v: None  # noqa: E731
    t = sweeps.time_side_by_side({"fast": fast, "slow": slow}, [16, 32, 64], d=4, repeats=1, max_seconds=0.02)
    assert np.all(np.isfinite(t["fast"][:2])) and np.isnan(t["fast"][2]) and np.isnan(t["slow"][2])
