"""The browser test's widget gallery covers every widget of the course, and each entry builds."""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

import ipywidgets
import matplotlib
import pytest

matplotlib.use("Agg")

from attnlib.figures import beyond_widgets, widgets  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from widget_gallery import GALLERY, SETUP, gallery_notebook  # noqa: E402


def widget_functions() -> set[str]:
    """Return the names of the public functions of the widget modules that return a widget."""
    found = set()
    for module in (widgets, beyond_widgets):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") and "Widget" in str(inspect.signature(fn).return_annotation):
                found.add(name)
    return found


def test_the_gallery_has_every_widget_of_the_course():
    assert widget_functions() == set(GALLERY), "add the new widget to tests/figures/widget_gallery.py"


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_each_gallery_entry_builds_a_widget(name):
    namespace: dict = {}
    exec(SETUP, namespace)
    widget = eval(GALLERY[name], namespace)
    assert isinstance(widget, ipywidgets.Widget)
    assert any(isinstance(child, (ipywidgets.FloatSlider, ipywidgets.IntSlider, ipywidgets.FloatLogSlider, ipywidgets.SelectionSlider)) for child in widget.children)


def test_the_gallery_notebook_has_one_cell_per_widget():
    nb = gallery_notebook()
    assert [c.id for c in nb.cells] == ["setup"] + [n.replace("_", "-") for n in GALLERY]
