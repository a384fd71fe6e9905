"""Notebook 07's cost by formula (attnlib.reference.cost): layer_flops, attention's crossover and share.

The parts of a layer's FLOPs, the n where attention equals the rest, and the causal count (half
the attention, the crossover twice as far); bad input is refused.
"""
from __future__ import annotations

import numpy as np
import pytest

import attnlib as A
from attnlib.reference import cost


@pytest.mark.parametrize("n, d, h", [(1, 8, 1), (7, 12, 3), (4096, 4096, 32)])
def test_layer_flops_parts(n, d, h):
    parts = cost.layer_flops(n, d)
    assert parts == {"projections": 8 * n * d * d, "attention": 4 * n * n * d, "mlp": 16 * n * d * d}
    assert parts["attention"] == h * A.attention_flops(n, d // h)  # all heads together = one full-width head
    assert cost.layer_flops(n, d, mlp_ratio=2)["mlp"] == 8 * n * d * d


@pytest.mark.parametrize("d, r", [(768, 4), (4096, 4), (64, 8 / 3)])
def test_attention_crossover_is_where_attention_equals_the_rest(d, r):
    n_star = cost.attention_crossover_n(d, r)
    assert n_star == pytest.approx((2 + r) * d)
    if float(n_star).is_integer():
        parts = cost.layer_flops(int(n_star), d, r)
        assert parts["attention"] == pytest.approx(parts["projections"] + parts["mlp"])
        assert cost.attention_share(int(n_star), d, r) == pytest.approx(0.5)
    assert cost.attention_share(int(4 * n_star), d, r) > 0.5 > cost.attention_share(max(1, int(n_star / 4)), d, r)


def test_cost_additions_reject_bad_input():
    for call, word in [(lambda: cost.layer_flops(0, 64), "n must"), (lambda: cost.layer_flops(8, -1), "d_model"),
                       (lambda: cost.layer_flops(8, 64, 0), "mlp_ratio"), (lambda: cost.attention_crossover_n(0), "d_model")]:
        with pytest.raises(ValueError, match=word):
            call()


# The causal count (notebook 07, section 5). Kept after the memory sweeps (tests/measure/test_sweeps.py;
# tests/measure/ is collected before tests/reference/): run before them, these tests made memory_sweep's
# first reading at n = 256 differ from its second by about 1.5 KB (> rtol 1e-3).
@pytest.mark.parametrize("n, d, r", [(1, 8, 4), (7, 12, 4), (4096, 4096, 4), (100, 64, 8 / 3)])
def test_causal_halves_attention_only(n, d, r):
    full, causal = cost.layer_flops(n, d, r), cost.layer_flops(n, d, r, causal=True)
    assert causal["attention"] == 2 * n * n * d == full["attention"] / 2
    assert causal["projections"] == full["projections"] and causal["mlp"] == full["mlp"]
    assert cost.layer_flops(n, d, r, causal=False) == full  # the default is today's count
    # half of all n^2 pairs, against the exact causal count n (n + 1) / 2 of attnlib's mask
    allowed = int(A.causal_mask(min(n, 256)).sum())
    m = min(n, 256)
    assert allowed == m * (m + 1) // 2
    assert cost.layer_flops(m, d, r, causal=True)["attention"] == pytest.approx(
        4 * d * allowed, rel=1 / m + 1e-12)


@pytest.mark.parametrize("d, r", [(768, 4), (4096, 4), (12288, 4), (64, 8 / 3)])
def test_causal_crossover_is_twice_the_bidirectional_one(d, r):
    n_star = cost.attention_crossover_n(d, r, causal=True)
    assert n_star == pytest.approx(2 * cost.attention_crossover_n(d, r)) == pytest.approx(2 * (2 + r) * d)
    if r == 4:
        assert n_star == 12 * d
    if float(n_star).is_integer():
        parts = cost.layer_flops(int(n_star), d, r, causal=True)
        assert parts["attention"] == pytest.approx(parts["projections"] + parts["mlp"])
        assert cost.attention_share(int(n_star), d, r, causal=True) == pytest.approx(0.5)
    for n in (1, 1000, 131072):
        assert cost.attention_share(n, d, r, causal=True) == pytest.approx(n / (n + n_star))
        assert cost.attention_share(n, d, r, causal=True) < cost.attention_share(n, d, r)
    assert cost.attention_crossover_n(d, r, causal=False) == cost.attention_crossover_n(d, r)


def test_causal_must_be_a_bool():
    for call in (lambda: cost.layer_flops(8, 64, causal="yes"), lambda: cost.attention_crossover_n(64, causal=1),
                 lambda: cost.attention_share(8, 64, causal=None)):
        with pytest.raises(ValueError, match="causal must be True or False"):
            call()
    assert cost.layer_flops(8, 64, causal=np.bool_(True)) == cost.layer_flops(8, 64, causal=True)
