"""Bokeh output panel: class probabilities before vs after, predicted vs actual effects."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_LOADED = False


def ensure_bokeh_loaded() -> None:
    """Load BokehJS inline once per kernel (no CDN: the notebook may be offline)."""
    global _LOADED
    if _LOADED:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
    _LOADED = True


class OutputPlots:
    """Two live bokeh figures in one row, updated in place through their data sources."""

    def __init__(self, class_labels: Sequence[str]) -> None:
        from bokeh.layouts import row
        from bokeh.models import ColumnDataSource, Legend
        from bokeh.plotting import figure
        from bokeh.transform import dodge

        self.labels = [str(c) for c in class_labels]
        self.probabilities = ColumnDataSource({"label": self.labels,
                                               "clean": [0.0] * len(self.labels),
                                               "current": [0.0] * len(self.labels)})
        self.effects = ColumnDataSource({"predicted": [], "actual": [], "name": []})
        self.diagonal = ColumnDataSource({"x": [0.0, 0.0], "y": [0.0, 0.0]})
        probs = figure(x_range=self.labels, y_range=(0, 1.02), height=220, width=380,
                       title="Class probabilities: clean vs with interventions",
                       toolbar_location=None)
        clean = probs.vbar(x=dodge("label", -0.18, range=probs.x_range), top="clean", width=0.34,
                           source=self.probabilities, color="#9e9e9e")
        current = probs.vbar(x=dodge("label", 0.18, range=probs.x_range), top="current",
                             width=0.34, source=self.probabilities, color="#0072b2")
        probs.add_layout(Legend(items=[("clean", [clean]), ("now", [current])],
                                location="top_right"))
        probs.xaxis.axis_label = "class"
        effects = figure(height=220, width=320, title="Effect on the target output",
                         toolbar_location=None)
        effects.line("x", "y", source=self.diagonal, color="#bbbbbb", line_dash="dashed")
        effects.scatter("predicted", "actual", source=self.effects, size=8, color="#d55e00")
        effects.xaxis.axis_label = "predicted (gradient × change)"
        effects.yaxis.axis_label = "measured"
        self.layout = row(probs, effects)
        self._widget = None

    @property
    def widget(self):
        """The jupyter_bokeh widget showing the figures (created on first use)."""
        if self._widget is None:
            from jupyter_bokeh.widgets import BokehModel

            ensure_bokeh_loaded()
            self._widget = BokehModel(self.layout)
        return self._widget

    def update(self, clean: np.ndarray, current: np.ndarray, history: list[dict]) -> None:
        """Show probabilities of one example and the effects of the intervention history."""
        self.probabilities.data = {"label": self.labels,
                                   "clean": [float(v) for v in clean],
                                   "current": [float(v) for v in current]}
        predicted = [h["predicted_effect"] for h in history]
        actual = [h["actual_effect"] for h in history]
        self.effects.data = {"predicted": predicted, "actual": actual,
                             "name": [h["intervention"] for h in history]}
        span = max([abs(v) for v in predicted + actual] + [1e-3])
        self.diagonal.data = {"x": [-span, span], "y": [-span, span]}
