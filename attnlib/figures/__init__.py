"""The pictures: plots, graphs, widgets and the cheat sheet, drawn from ``attnlib.reference`` and ``attnlib.models``.

- ``plots``: heat maps and bars of attention weights, and the course's plot style (every notebook)
- ``graphs``: attention as a directed graph of tokens: self, cross, encoder-decoder (03)
- ``widgets``: ipywidgets sliders of notebooks 01, 03, 04, 05 and 06, each with the drawing
  function its static figure uses
- ``beyond_widgets``: the widgets of notebook 10 (entropy, Hopfield retrieval)
- ``cheatsheet``: the one-page cheat sheet of notebook 09 (``python -m attnlib cheatsheet``)
"""
