"""The widgets of attnlib.figures.widgets and their helpers (notebooks 03, 04, 05 and 06).

The mask widgets' toy masks are attnlib's masks; every slider builds; notebook 05's query-on-a-line
widget and figure; notebook 06's head-patterns explorer reports a missing keyword.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import attnlib as A
from attnlib import causal_mask, padding_attention_mask, sliding_window_mask
from attnlib.figures.widgets import (
    MASK_KINDS,
    d_k_slider,
    draw_query_on_a_line,
    head_patterns_explorer,
    mask_explorer,
    query_on_a_line_slider,
    temperature_slider,
    toy_mask,
)


def test_toy_masks_are_the_attnlib_masks():
    n = 6
    assert toy_mask("none", n).all()
    np.testing.assert_array_equal(toy_mask("causal", n), causal_mask(n))
    np.testing.assert_array_equal(toy_mask("sliding window", n, window=2), sliding_window_mask(n, 2))
    np.testing.assert_array_equal(toy_mask("padding", n, length=4), padding_attention_mask([4], n)[0])
    np.testing.assert_array_equal(
        toy_mask("sliding window + padding", n, window=3, length=5),
        sliding_window_mask(n, 3) & padding_attention_mask([5], n)[0],
    )
    assert set(MASK_KINDS) >= {"causal", "padding", "sliding window"}
    with pytest.raises(ValueError, match="kind"):
        toy_mask("diagonal", n)
    with pytest.raises(ValueError, match="length"):
        toy_mask("padding", n, length=7)


def test_widgets_build():
    for widget in (
        temperature_slider(np.array([2.0, 1.0, 0.1]), ["a", "b", "c"]),
        d_k_slider(),
        mask_explorer(np.random.default_rng(0).normal(size=(6, 6))),
    ):
        assert widget.children, "a widget with controls and an output"
    plt.close("all")


def test_query_on_a_line_widget_and_figure():
    keys = np.arange(-2.0, 2.5, 1.0)
    fns = {"dot": lambda p: A.softmax(p * keys), "near": lambda p: A.softmax(-((keys - p) ** 2))}
    fig, axes = plt.subplots(1, 2)
    draw_query_on_a_line(axes, keys, fns, 0.7)
    assert "top key 1" in axes[1].get_title() and "top key 2" in axes[0].get_title()
    plt.close(fig)
    assert query_on_a_line_slider(keys, fns) is not None
    with pytest.raises(ValueError, match="one axes per scorer"):
        draw_query_on_a_line(axes[:1], keys, fns, 0.0)
    with pytest.raises(ValueError, match="increasing"):
        draw_query_on_a_line(axes, keys[::-1], fns, 0.0)
    with pytest.raises(ValueError, match="q_min < q_max"):
        query_on_a_line_slider(keys, fns, 1.0, -1.0)


def test_explorer_builds_and_reports_a_missing_keyword(capsys):
    widget = head_patterns_explorer("the cat sat", "cat")
    assert len(widget.children) >= 4
    widget.children[1].value = "dog"  # the keyword box: not in the sentence
    widget.update()
    assert "does not occur" in capsys.readouterr().out
