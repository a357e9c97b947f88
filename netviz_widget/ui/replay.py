"""Replay: ``NetViz.replay(recording)`` — a recording's snapshots over training in the view.

A Play button linked to a slider (ipywidgets ``jslink``: playing runs in the browser, each step
asks Python for the recorded state), the loss and metric curves with a cursor at the shown step,
and, for a unit clicked in the view, its score over training as a line. The view is drawn from
the recorded scores only: no model is needed, and nothing is recomputed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

from netviz_widget.engine.recording import Recording
from netviz_widget.errors import InputError, NetVizError
from netviz_widget.ui import view_state
from netviz_widget.ui.display import DisplayMap
from netviz_widget.ui.view import NetworkView

__all__ = ["ReplayView"]

_CACHE = 256
_COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")


class ReplayView(widgets.VBox):
    """Interactive replay of a `Recording` (or the path of one).

    Args:
        recording: a Recording, or a path to a file written by `Recording.save`.
        class_labels: names of the output classes (default "0", "1", …).
        max_edges: most edges shipped to the view (all the recording holds when they fit).
        input_image: as in NetViz ("auto", (height, width) or False).
        height: view height in pixels.
        interval: milliseconds between steps while playing.
    """

    def __init__(self, recording: Recording | str | Path, class_labels: Sequence[str] | None = None,
                 max_edges: int = 20_000, input_image: object = "auto", height: int = 420,
                 interval: int = 300) -> None:
        super().__init__()
        if isinstance(recording, (str, Path)):
            recording = Recording.load(recording)
        if not isinstance(recording, Recording) or len(recording) == 0:
            raise InputError("recording", "a Recording with at least one record (or its .npz path)",
                             recording)
        self.recording = recording
        self.graph = recording.graph()
        n_classes = self.graph.output_layer.n_units
        labels = [str(c) for c in (range(n_classes) if class_labels is None else class_labels)]
        if len(labels) != n_classes:
            raise InputError("class_labels", f"{n_classes} labels (one per output)", class_labels)
        if isinstance(max_edges, bool) or not isinstance(max_edges, int) or max_edges < 1:
            raise InputError("max_edges", "a positive integer", max_edges)
        image_mode, _ = view_state.image_grid(self.graph, input_image)
        keep = frozenset({self.graph.input_layer.name}) if image_mode else frozenset()
        self.display = DisplayMap.build(self.graph, keep=keep)
        self.edge_layout = view_state.EdgeLayout.build(self.graph, self.display)
        last = recording.snapshot(len(recording) - 1)
        self.chosen = view_state.select_edges(self.edge_layout, last, 0, max_edges)
        self._states: OrderedDict[tuple[int, int], dict[str, Any]] = OrderedDict()
        self._seq = 0
        self._index = 0
        self._example = 0
        self._unit: tuple[str, int] | None = None

        self.view = NetworkView(height=int(height))
        self.view.topology = view_state.topology_trait(self.graph, self.display, self.edge_layout,
                                                       self.chosen, labels, input_image)
        self.view.top_k = min(2000, len(self.chosen))
        last_index = len(recording) - 1
        self.play = widgets.Play(value=0, min=0, max=last_index, step=1, interval=int(interval),
                                 description="play", disabled=last_index == 0)
        self.slider = widgets.IntSlider(value=0, min=0, max=last_index, description="record",
                                        continuous_update=True, readout=False, disabled=last_index == 0)
        self.link = widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.step_label = widgets.Label("")
        self.step_label.add_class("netviz-replay-step")
        batch = recording.inputs.shape[0]
        self.example_slider = widgets.IntSlider(value=0, min=0, max=max(batch - 1, 0), description="input #",
                                                disabled=batch == 1, continuous_update=False)
        self.slider.observe(lambda change: self._guard(self._show, change["new"], self._example), "value")
        self.example_slider.observe(lambda change: self._guard(self._show, self._index, change["new"]),
                                    "value")
        self.view.on_request("select", self._on_selection)
        self._build_plots()
        self._show(0, 0)
        self.children = [widgets.HBox([self.play, self.slider, self.step_label, self.example_slider]),
                         self.view, self._plots_widget]
        self.add_class("netviz-replay")

    def __repr__(self) -> str:
        """One line (an ipywidget's default repr lists every child and trait)."""
        return (f"ReplayView({len(self.recording)} records, record {self._index} "
                f"(step {int(self.recording.steps[self._index])}), input #{self._example})")

    # ------------------------------------------------------------------ public API
    @property
    def index(self) -> int:
        """The record shown (0 … len(recording) − 1); assigning moves the slider."""
        return self._index

    @index.setter
    def index(self, value: int) -> None:
        index = self.recording.check_index(value)
        if self.slider.value != index:
            self.slider.value = index  # its observer draws
        else:
            self._show(index, self._example)

    @property
    def example(self) -> int:
        """Which probe input the view shows."""
        return self._example

    @example.setter
    def example(self, value: int) -> None:
        batch = self.recording.inputs.shape[0]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < batch:
            raise InputError("example", f"an input index in [0, {batch})", value)
        self.example_slider.value = int(value)

    def select(self, layer: str, unit: int) -> np.ndarray:
        """Show `unit` of `layer`'s score over training as a line; returns that series."""
        series = self.recording.unit_series(layer, unit, example=self._example)
        self._unit = (layer, int(unit))
        self.unit_source.data = {"step": self.recording.steps, "score": series}
        self.unit_figure.title.text = f"{layer}[{int(unit)}] over training (input #{self._example})"
        return series

    def save_html(self, path: str | Path, title: str = "netviz_widget replay") -> Path:
        """Save an offline HTML page (no kernel, no network) with the view, every recorded step
        as a frame, and a slider and play button that keep working."""
        from netviz_widget.ui.replay_export import save_replay_html

        return save_replay_html(self, path, title)

    # ------------------------------------------------------------------ internals
    def _state(self, index: int, example: int) -> dict[str, Any]:
        key = (index, example)
        state = self._states.get(key)
        if state is None:
            state = view_state.state_trait(self.graph, self.display, self.edge_layout, self.chosen,
                                           self.recording.snapshot(index), example, 0, [],
                                           self.view.topology["class_labels"])
            self._states[key] = state
            while len(self._states) > _CACHE:
                self._states.popitem(last=False)
        return state

    def _show(self, index: int, example: int) -> None:
        self._index, self._example = int(index), int(example)
        self._seq += 1
        self.view.state = {**self._state(self._index, self._example), "seq": self._seq}
        self.view.error = ""
        step = int(self.recording.steps[self._index])
        self.step_label.value = f"step {step} ({self._index + 1}/{len(self.recording)})"
        for cursor in self.cursors:
            cursor.location = step
        if self._unit is not None:
            self.select(*self._unit)

    def _guard(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except NetVizError as error:
            self.view.error = str(error)

    def _on_selection(self, entries: object) -> None:
        """A click in the view (a "select" request, untrusted): [[layer, display node], ...];
        the last unit's score over training is drawn and the view shows that node selected."""
        try:
            if not isinstance(entries, list) or len(entries) > 4096:
                raise InputError("selection", "a list of [layer, node] pairs", entries)
            if not entries:
                self.view.selection = []
                return
            entry = entries[-1]
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
                raise InputError("selection", "[layer name, node index] pairs", entry)
            layer, node = entry
            members = self.display.members.get(layer)
            if members is None or isinstance(node, bool) or not isinstance(node, int) \
                    or not 0 <= node < len(members):
                raise InputError("selection", "a node of the recorded layers", entry)
            self.select(layer, int(members[node][0]))
            self.view.selection = [[layer, node]]
        except NetVizError as error:
            self.view.error = f"Rejected a selection from the view. {error}"

    def _build_plots(self) -> None:
        from bokeh.layouts import row
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        rec = self.recording
        figures, self.cursors = [], []
        curves = {"loss": rec.loss} if np.isfinite(rec.loss).any() else {}
        if rec.metrics:
            curves.update(rec.metrics)
        groups = [("loss", {k: v for k, v in curves.items() if k == "loss"}),
                  ("metrics", {k: v for k, v in curves.items() if k != "loss"})]
        for title, group in groups:
            if not group:
                continue
            fig = figure(height=200, width=330, title=title, toolbar_location=None)
            for (name, values), color in zip(group.items(), _COLORS):
                source = ColumnDataSource({"step": rec.curve_steps, "value": np.asarray(values, float)})
                fig.line("step", "value", source=source, color=color, legend_label=name)
            fig.legend.location = "top_right"
            fig.xaxis.axis_label = "step"
            figures.append(fig)
        self.unit_source = ColumnDataSource({"step": rec.steps, "score": np.zeros(len(rec))})
        self.unit_figure = figure(height=200, width=330, title="click a unit: its score over training",
                                  toolbar_location=None)
        self.unit_figure.line("step", "score", source=self.unit_source, color="#0072b2")
        self.unit_figure.scatter("step", "score", source=self.unit_source, color="#0072b2", size=4)
        self.unit_figure.xaxis.axis_label = "step"
        figures.append(self.unit_figure)
        for fig in figures:
            cursor = Span(location=int(rec.steps[0]), dimension="height", line_color="#cc79a7",
                          line_width=2)
            fig.add_layout(cursor)
            self.cursors.append(cursor)
        from jupyter_bokeh.widgets import BokehModel

        from netviz_widget.ui.plots import ensure_bokeh_loaded

        ensure_bokeh_loaded()
        self.plots_layout = row(*figures)
        self._plots_widget = BokehModel(self.plots_layout)
