"""Bokeh output panel: class probabilities before vs after, predicted vs actual effects.

The figures are a jupyter_bokeh widget, whose view needs BokehJS in the page the moment it is
created (it calls ``Bokeh.require`` in its constructor). BokehJS comes from an output of the
cell (``output_notebook``), which the front end may run after it has created the widget's view:
on a first Run All of a fresh page that made the panel fail ("Could not create a view for model
id"). So the panel is a small gate widget: its view waits for BokehJS, then creates the bokeh
view; if BokehJS never arrives (blocked, a front end that does not run it) it says so in words,
and the rest of NetViz keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

_LOADED = False
BOKEH_WAIT_MS = 60_000

GATE_ESM = r"""
const PREFIX = "IPY_MODEL_";
const bokehReady = () => typeof window.Bokeh !== "undefined" && typeof window.Bokeh.require === "function";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MISSING = "The plots cannot be shown here: BokehJS, the library that draws them, did not load in "
  + "this page (blocked, not run by this front end, or the page was reloaded after the kernel sent it: "
  + "restart the kernel and run the notebook again). The network view and the controls work without it.";

async function render({ model, el }) {
  el.classList.add("netviz-plots");
  const note = document.createElement("div");
  note.className = "netviz-plots-note";
  note.textContent = "Loading the plots (BokehJS) …";
  el.append(note);
  const deadline = Date.now() + model.get("wait_ms");
  while (!bokehReady()) {
    if (Date.now() > deadline) {
      note.textContent = MISSING;
      el.dataset.plots = "missing";
      return;
    }
    await sleep(100);
  }
  try {
    const manager = model.widget_manager;
    const child = await manager.get_model(model.get("plots").slice(PREFIX.length));
    const view = await manager.create_view(child);
    note.remove();
    el.append(view.el);
    el.dataset.plots = "ready";
  } catch (error) {
    note.textContent = `The plots cannot be shown here (${error}). `
      + "The network view and the controls work without them.";
    el.dataset.plots = "failed";
  }
}

export default { render };
"""


class BokehGate(anywidget.AnyWidget):
    """Shows the `plots` widget (jupyter_bokeh) once BokehJS is in the page, or a sentence saying
    why the plots cannot be shown after `wait_ms`."""

    _esm = GATE_ESM
    plots = traitlets.Instance(widgets.DOMWidget).tag(sync=True, **widgets.widget_serialization)
    wait_ms = traitlets.Int(BOKEH_WAIT_MS).tag(sync=True)


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
    def widget(self) -> BokehGate:
        """The panel showing the figures (created on first use): a gate around the jupyter_bokeh
        widget that waits for BokehJS."""
        if self._widget is None:
            from jupyter_bokeh.widgets import BokehModel

            ensure_bokeh_loaded()
            self._widget = BokehGate(plots=BokehModel(self.layout))
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
