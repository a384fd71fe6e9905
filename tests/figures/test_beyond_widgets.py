"""Notebook 10's widgets (attnlib.figures.beyond_widgets): the entropy and Hopfield drawings and their sliders."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from attnlib.figures import beyond_widgets
from attnlib.reference import hopfield
from attnlib.reference.attention import softmax
from attnlib.reference.entropy import attention_entropy


def test_entropy_drawing_and_slider():
    scores = np.array([0.3, -1.0, 2.0, 0.5])
    fig, axes = plt.subplots(1, 2)
    beyond_widgets.draw_entropy_at_scale(axes, scores, list("abcd"), 1.0)
    h = float(attention_entropy(softmax(scores)))
    assert f"entropy {h:.2f}" in axes[0].get_title()
    plt.close(fig)
    assert beyond_widgets.entropy_scale_slider(scores, list("abcd")).children[0].description == "scale"
    plt.close("all")
    with pytest.raises(ValueError, match="one label per score"):
        beyond_widgets.draw_entropy_at_scale(axes, scores, list("abc"), 1.0)


def test_hopfield_drawing_and_slider():
    names, X = hopfield.glyph_patterns()
    fig, axes = plt.subplots(1, 3)
    beyond_widgets.draw_hopfield_retrieval(axes, X, X[0], 1.0, names)
    assert "entropy 0.00" in axes[2].get_title()
    plt.close(fig)
    assert beyond_widgets.hopfield_beta_slider(X, X[1], names).children[0].description == "beta"
    plt.close("all")
    with pytest.raises(ValueError, match="one name per pattern"):
        beyond_widgets.draw_hopfield_retrieval(axes, X, X[0], 1.0, names[:3])
