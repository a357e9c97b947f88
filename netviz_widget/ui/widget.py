"""NetViz: ``display(NetViz(model, x))`` — the live, interactive layered network.

It composes the canvas view (view.py), the control panel (controls.py) and the bokeh output
panel (plots.py). It holds no logic of its own: it turns Snapshots into traits and user
intent (from the front end, the controls or Python) into Explainer calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from torch import nn

from netviz_widget.analysis.circuits import Circuit
from netviz_widget.analysis.explanation import Explanation
from netviz_widget.engine.explainer import Explainer
from netviz_widget.engine.modes import MODE_REGISTRY
from netviz_widget.engine.paired import PairedExplainer
from netviz_widget.engine.snapshot import Snapshot
from netviz_widget.errors import GraphError, InputError, NetVizError
from netviz_widget.ui import view_state
from netviz_widget.ui.compare_view import Comparison
from netviz_widget.ui.controls import ControlPanel
from netviz_widget.ui.display import DisplayMap
from netviz_widget.ui.page_note import ensure_page_note
from netviz_widget.ui.plots import OutputPlots
from netviz_widget.ui.view import NetworkView
from netviz_widget.ui.view_requests import ViewRequests

__all__ = ["NetViz"]

class NetViz(ViewRequests, widgets.VBox):
    """Interactive view of `model` on `inputs` (see `Explainer` for the scoring arguments).

    Args:
        class_labels: names of the output classes (default "0", "1", …).
        max_edges: most edges shipped to the view (top-|edge score|); the engine keeps all.
        input_image: "auto" (square flat inputs and (C, H, W) inputs draw as heatmaps), a
            (height, width) pair, or False for plain dots.
        height: view height in pixels.
        compare: a second model with the same layered graph: the view then shows A, B or the
            change B − A (a toggle; see compare_view.py) and interventions apply to both.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, target: object = None,
                 baseline: object = None, n_steps: int = 32, reference: torch.Tensor | None = None,
                 class_labels: Sequence[str] | None = None, max_edges: int = 20_000,
                 input_image: object = "auto", height: int = 460, compare: nn.Module | None = None) -> None:
        super().__init__()
        options = {"target": target, "baseline": baseline, "n_steps": n_steps, "reference": reference}
        self.explainer = (Explainer(model, inputs, **options) if compare is None
                          else PairedExplainer(model, compare, inputs, **options))
        self.comparison = None if compare is None else Comparison(self)
        n_classes = self.explainer.graph.output_layer.n_units
        labels = [str(i) for i in range(n_classes)] if class_labels is None else list(class_labels)
        if len(labels) != n_classes:
            raise InputError("class_labels", f"{n_classes} labels (one per output)", class_labels)
        if isinstance(max_edges, bool) or not isinstance(max_edges, int) or max_edges < 1:
            raise InputError("max_edges", "a positive integer", max_edges)
        self.class_labels = [str(label) for label in labels]
        self.max_edges = max_edges
        self.input_image = input_image
        self._example = 0
        self._seq = 0
        self._selection: list[tuple[str, int]] = []
        self._target_spec = target
        self._circuit_coverage: float | None = None
        self._expanded: dict[str, set[int]] = {}
        self._layout: view_state.EdgeLayout | None = None
        self._model_version = 0
        self._drilldown_key: tuple | None = None
        ensure_page_note()  # words where JupyterLab drops the page's widget messages
        self.view = NetworkView(height=int(height), defer_open=True)
        self.plots = OutputPlots(self.class_labels)
        self.text = widgets.HTML(value="", layout=widgets.Layout(max_width="900px"))
        self._build_topology(self._shown_snapshot())  # the controls' edge slider needs its size
        shipped = len(self._chosen)
        self.controls = ControlPanel(self, self.class_labels, self.explainer.inputs.shape[0], shipped)
        self.view.top_k = min(2000, shipped)
        self.view.on_request("select", self._on_front_end_selection)
        self.view.observe(self._on_front_end_setting, ["node_color", "edge_color", "top_k",
                                                       "highlight", "height"])
        self._publish()
        self.view.layout = widgets.Layout(flex="1 1 auto", min_width="480px")
        self.view.open_with_state()  # topology and state in the creation message (see view.py)
        self.children = [widgets.HBox([self.view, self.controls.box],
                                      layout=widgets.Layout(width="100%")), self.text, self.plots.widget]
        if self.comparison is not None:
            self.children = (self.comparison.box, *self.children)
        self.add_class("netviz")

    def __repr__(self) -> str:
        """One line (an ipywidget's default repr lists every trait: kilobytes)."""
        ex = self.explainer
        layers = "-".join(str(layer.n_units) for layer in ex.graph.layers)
        return (f"NetViz({type(ex.model).__name__} {layers}, {ex.inputs.shape[0]} inputs, "
                f"example {self._example}, {len(ex.interventions)} interventions)")

    # ------------------------------------------------------------------ public API
    @staticmethod
    def replay(recording: object, **options: Any) -> widgets.VBox:
        """Replay a Recording (or its .npz path) made by a Recorder: a slider and play button
        over the recorded steps, the loss and metric curves with a cursor, and a clicked unit's
        score over training (options: see replay.ReplayView)."""
        from netviz_widget.ui.replay import ReplayView

        return ReplayView(recording, **options)

    @property
    def snapshot(self) -> Snapshot:
        """The current Snapshot (interventions applied)."""
        return self.explainer.snapshot()

    @property
    def target(self) -> np.ndarray:
        """The output index explained for each input; assign an int, a list or None."""
        return self.explainer.target.cpu().numpy()

    @target.setter
    def target(self, value: object) -> None:
        self.explainer.target = value
        self._target_spec = value
        self.controls.show_target(self.target_choice)  # mirrors it; its observer finds it set
        self._publish(topology=True)

    @property
    def target_choice(self) -> int:
        """The target as the controls' dropdown shows it: one class index for every input, or
        -1 (the predicted class, or one target per input)."""
        spec = self._target_spec
        return int(spec) if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool) else -1

    @property
    def circuit_shown(self) -> bool:
        """Whether the circuit of the shown input is highlighted (`show_circuit`)."""
        return self._circuit_coverage is not None

    @property
    def example(self) -> int:
        """Which input of the batch the view shows."""
        return self._example

    @example.setter
    def example(self, value: int) -> None:
        batch = self.explainer.inputs.shape[0]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < batch:
            raise InputError("example", f"an input index in [0, {batch})", value)
        if int(value) == self._example:
            return
        self._example = int(value)
        self.controls.example.value = self._example  # mirrors it; its observer finds it set
        self._publish(topology=True)

    @property
    def inputs(self) -> torch.Tensor:
        """The inputs; assigning new ones re-scores them (interventions are cleared)."""
        return self.explainer.inputs

    @inputs.setter
    def inputs(self, value: torch.Tensor) -> None:
        self.explainer = self.explainer.with_inputs(value)  # keeps target/baseline where they fit
        self._example = 0
        self.controls.example.max = max(value.shape[0] - 1, 0)
        self._publish(topology=True)

    def select(self, units: Sequence[tuple[str, int]] | str, unit: int | None = None,
               add: bool = False) -> None:
        """Select units: ``select("fc1", 3)``, ``select([("fc1", 3), ("fc2", 0)])``; `add`
        keeps the current selection. The drill-down shows the last one."""
        pairs = [(units, unit)] if isinstance(units, str) else list(units)
        checked = self._check_units([list(p) for p in pairs])
        self._set_selection((self._selection if add else []) + checked)

    def clear_selection(self) -> None:
        """Deselect everything."""
        self._set_selection([])

    def intervene(self, layer: str | None = None, units: object = None, mode: str = "zero",
                  value: float | None = None, patch_input: torch.Tensor | None = None,
                  patch_index: int | None = None) -> Snapshot:
        """Intervene on `layer`/`units`, or on the current selection when `layer` is None
        (one intervention per selected layer, all one undo step). Returns the new Snapshot."""
        if patch_index is not None:
            reference = self.explainer.reference
            if not 0 <= patch_index < reference.shape[0]:
                raise InputError("patch_index", f"a reference index in [0, {reference.shape[0]})",
                                 patch_index)
            patch_input = reference[patch_index:patch_index + 1]
        if layer is None:
            groups: dict[str, list[int]] = {}
            for name, index in self._selection:
                if self.explainer.graph.layer(name).role != "input" or not _needs_patch(mode):
                    groups.setdefault(name, []).append(index)
            if not groups:
                raise GraphError("selection", "selected units (click a unit; shift-click adds)",
                                 "nothing selected")
            self.explainer.intervene_all([  # one step: one Undo removes them all
                {"layer": name, "units": indices, "mode": mode, "value": value, "patch_input": patch_input}
                for name, indices in groups.items()])
        else:
            self.explainer.intervene(layer, units, mode, value=value, patch_input=patch_input)
        self._publish()
        return self.snapshot

    def undo(self) -> Snapshot:
        """Undo the last intervention."""
        self.explainer.undo()
        self._publish()
        return self.snapshot

    def redo(self) -> Snapshot:
        """Redo the last undone intervention."""
        self.explainer.redo()
        self._publish()
        return self.snapshot

    def reset(self) -> Snapshot:
        """Remove all interventions."""
        self.explainer.reset()
        self._publish()
        return self.snapshot

    def show_circuit(self, on: bool = True, coverage: float = 0.8) -> Circuit | None:
        """Highlight the circuit of the shown input (the fewest units and edges carrying
        `coverage` of every layer's attribution) and dim the rest; `on=False` clears it."""
        self._circuit_coverage = coverage if on else None
        self.controls.show_circuit.value = bool(on)  # mirrors it; its observer finds it set
        if not on:
            self.highlight([])
            return None
        circuit = self.explainer.circuit(self._example, coverage)
        self.highlight(circuit.unit_pairs())
        return circuit

    def explain(self, coverage: float = 0.8) -> Explanation:
        """Write out the decision for the shown input (also shown under the view)."""
        explanation = self.explainer.explain(self._example, coverage, labels=self.class_labels)
        self.text.value = explanation.html
        return explanation

    def save_html(self, path: str | Path, title: str = "netviz_widget") -> Path:
        """Save the current view, its state and the front-end bundle as one offline HTML file
        (no kernel, no network: hover, selection, zoom and the circuit toggle keep working)."""
        from netviz_widget.ui.export import save_html

        circuit = self.explainer.circuit(self._example, self._circuit_coverage or 0.8)
        return save_html(self.view, path, title, circuit=self._node_ids(circuit.unit_pairs()))

    def save_svg(self, path: str | Path, width: int = 1200) -> Path:
        """Save the current view as SVG (for papers): the same layout and colour scales as the
        canvas, drawn by the front-end code in headless Chromium (needs playwright)."""
        from netviz_widget.ui.export import save_svg

        return save_svg(self.view, path, width)

    def save_png(self, path: str | Path, width: int = 1200) -> Path:
        """Save a PNG of the current view as the browser draws it (needs playwright)."""
        from netviz_widget.ui.export import save_png

        return save_png(self.view, path, width)

    def highlight(self, units: Sequence[tuple[str, int]]) -> None:
        """Emphasise these units (e.g. a circuit) and dim the rest; [] clears."""
        checked = self._check_units([list(p) for p in units]) if units else []
        self.view.highlight = self._node_ids(checked)

    def expand(self, layer: str, unit: int) -> None:
        """Show the group of a wide layer that contains `unit` unit by unit."""
        (unit,) = self.explainer.graph.check_units(layer, [unit])
        if layer in self.display.group_size:
            self._expanded.setdefault(layer, set()).add(self.display.group_index(layer, unit))
            self._publish(topology=True)

    # ------------------------------------------------------------------ internals
    def attempt(self, action: Callable, *args: Any) -> None:
        """Run a UI action (a control's, a view request's): show any error in the view and the
        status line, never raise."""
        try:
            action(*args)
            self.controls.status.value = ""
        except NetVizError as error:
            self._show_error(str(error))
        except Exception as error:
            self._show_error(f"{type(error).__name__}: {error}")

    def _show_error(self, message: str) -> None:
        self.view.error = message
        self.controls.status.value = message

    def _node_ids(self, units: Sequence[tuple[str, int]]) -> list[int]:
        """Global display-node ids showing these units (a group once for all its units)."""
        ids = [i for layer, unit in units for i in self.display.global_ids(layer, [unit])]
        return list(dict.fromkeys(ids))

    def _shown_snapshot(self) -> Snapshot:
        return self.explainer.snapshot() if self.comparison is None else self.comparison.shown()

    def _build_topology(self, snap: Snapshot) -> None:
        """Display map, edge layout, shipped edges and the topology trait."""
        ex = self.explainer
        self._model_version = ex.model_version  # the model changed: new edge weights
        image_mode, _ = view_state.image_grid(ex.graph, self.input_image)
        keep = frozenset({ex.graph.input_layer.name}) if image_mode else frozenset()
        self.display = DisplayMap.build(ex.graph, self._expanded, keep=keep)
        self._layout = view_state.EdgeLayout.build(ex.graph, self.display)
        self._chosen = view_state.select_edges(self._layout, snap, self._example, self.max_edges)
        self.view.topology = view_state.topology_trait(ex.graph, self.display, self._layout,
                                                       self._chosen, self.class_labels, self.input_image)
        self._sync_selection_to_view()

    def _publish(self, topology: bool = False) -> None:
        ex = self.explainer
        snap = self._shown_snapshot()
        if topology or self._layout is None or self._model_version != ex.model_version:
            self._build_topology(snap)
        ablated = sorted(self._node_ids([(i.layer, u) for i in ex.interventions for u in i.units]))
        self._seq += 1
        state = view_state.state_trait(ex.graph, self.display, self._layout, self._chosen,
                                       snap, self._example, self._seq, ablated, self.class_labels)
        if self.comparison is not None:
            state["compare"] = self.comparison.state(self.display, self._layout, self._chosen, self._example)
        self.view.state = state
        self.view.error = ""
        if self._circuit_coverage is not None:
            circuit = ex.circuit(self._example, self._circuit_coverage)
            self.view.highlight = self._node_ids(circuit.unit_pairs())
        self.text.value = ""  # an old explanation no longer describes the new state
        self.plots.update(ex.clean_probabilities()[self._example], snap.probabilities[self._example],
                          ex.history)
        self.controls.refresh(self._selection, ex.history, ex.can_undo, ex.can_redo)
        self._publish_drilldown()

    def _selection_nodes(self) -> list[list]:
        """The selection as the view shows it: [layer, display-node index] pairs."""
        return [[layer, int(self.display.node_of[layer][unit])] for layer, unit in self._selection]

    def _sync_selection_to_view(self) -> None:
        """Show the selected units in the view (its observer then finds the selection it holds)."""
        self.view.selection = self._selection_nodes()

    def _set_selection(self, selection: list[tuple[str, int]]) -> None:
        grouped = {(layer, self.display.group_index(layer, unit)) for layer, unit in selection
                   if self.display.is_group(layer, int(self.display.node_of[layer][unit]))}
        self._selection = list(selection)
        if grouped:  # a selected unit hidden inside a group: show its group unit by unit
            for layer, group in grouped:
                self._expanded.setdefault(layer, set()).add(group)
            self._publish(topology=True)
        self._sync_selection_to_view()
        ex = self.explainer
        self.controls.refresh(self._selection, ex.history, ex.can_undo, ex.can_redo)
        self._publish_drilldown()

    def _publish_drilldown(self) -> None:
        units = [(la, u) for la, u in self._selection if self.explainer.graph.layer(la).role != "input"]
        if not units:
            self.view.drilldown = {}
            self._drilldown_key = None
            return
        layer, unit = units[-1]
        snap = self.explainer.snapshot()  # the same object while nothing changed (SnapshotCache)
        key = (layer, unit, self._example, id(snap))
        if key == self._drilldown_key and self.view.drilldown:
            return  # cached: the same unit of the same input in the same state
        self.view.drilldown = view_state.drilldown_trait(self.explainer, layer, unit, self._example)
        self._drilldown_key = key
        self._drilldown_snapshot = snap  # holds it, so that its id is not reused


def _needs_patch(mode: str) -> bool:
    """Whether `mode` patches from a second input (selected input units are then left out)."""
    entry = MODE_REGISTRY.get(mode) if isinstance(mode, str) else None
    return entry is not None and entry.needs == "patch_input"
