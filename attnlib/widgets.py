"""Interactive widgets for the notebooks (ipywidgets); each notebook shows a static figure beside them."""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .attention import softmax
from .plots import weight_bars


def temperature_slider(scores: np.ndarray, labels: Sequence[str], query: str = "") -> widgets.Widget:
    """Return a widget: a log-scale temperature slider and the bar chart of softmax(scores / T).

    scores: (n_k,) one query's scores; labels: one per key. Small T sharpens the weights towards
    one-hot, large T flattens them towards uniform; T = 1 is the plain softmax.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(labels) != scores.shape[0]:
        raise ValueError(f"need one label per score: scores {scores.shape}, {len(labels)} labels")
    entropy_max = np.log(len(scores))

    def show(temperature: float) -> None:
        w = softmax(scores / temperature)
        entropy = -np.sum(w * np.log(np.where(w > 0, w, 1.0)))
        _, ax = plt.subplots(figsize=(6, 3))
        weight_bars(w, labels, ax=ax, title=f"{query} weights at T = {temperature:.2f} (entropy {entropy:.2f} of max {entropy_max:.2f})")
        plt.show()

    slider = widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.05, description="T",
                                    continuous_update=True, readout_format=".2f")
    return widgets.interactive(show, temperature=slider)
