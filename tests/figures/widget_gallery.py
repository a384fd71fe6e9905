"""Every widget of the course, each built once from small fixed inputs: the browser test's gallery.

The browser test runs this gallery as one notebook in JupyterLab and moves each widget's first
slider, which proves that every kind of widget the course uses renders and round-trips to the
kernel, without re-running the notebooks that nbval already runs. ``tests/figures/test_widget_gallery.py``
keeps the gallery complete (every function of ``attnlib.figures.widgets`` and ``attnlib.figures.beyond_widgets``
that returns a widget is in it) and builds each entry outside the browser.
"""
from __future__ import annotations

import nbformat

SETUP = """\
import numpy as np
import attnlib
from attnlib.figures import beyond_widgets, widgets
from attnlib.reference import hopfield
"""

#: widget function name -> the expression that builds it (the last line of its cell)
GALLERY: dict[str, str] = {
    "temperature_slider": "widgets.temperature_slider(np.array([2.0, 1.0, 0.1, -1.0]), ['she', 'deposited', 'the', 'bank'], query='bank')",
    "d_k_slider": "widgets.d_k_slider(n_keys=6, seed=1)",
    "mask_explorer": "widgets.mask_explorer(np.random.default_rng(0).standard_normal((6, 6)), 'the cat sat on the mat'.split())",
    "head_patterns_explorer": "widgets.head_patterns_explorer('the cat sat on the mat', 'cat')",
    "query_on_a_line_slider": (
        "widgets.query_on_a_line_slider(np.array([-2.0, 0.0, 1.5]), "
        "{'dot product': lambda q: attnlib.softmax(q * np.array([-2.0, 0.0, 1.5]))})"
    ),
    "entropy_scale_slider": "beyond_widgets.entropy_scale_slider(np.array([1.2, 0.4, -0.3, 0.0, 2.0]), list('abcde'))",
    "hopfield_beta_slider": (
        "beyond_widgets.hopfield_beta_slider(hopfield.glyph_patterns()[1], "
        "hopfield.corrupt(hopfield.glyph_patterns()[1][0], 12, np.random.default_rng(0)), hopfield.glyph_patterns()[0])"
    ),
}


def gallery_notebook() -> nbformat.NotebookNode:
    """Return a notebook: a set-up cell, then one cell per widget (its id is the widget's name)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP, id="setup")]
    nb.cells += [nbformat.v4.new_code_cell(expression, id=name.replace("_", "-")) for name, expression in GALLERY.items()]
    return nb
