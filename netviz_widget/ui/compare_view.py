"""Compare mode of NetViz: ``NetViz(model, x, compare=other)`` shows A, B or B − A.

The NetViz explainer is a `PairedExplainer` (paired.py): every intervention, undo, redo and
reset acts on both models. This module only chooses which snapshot the view draws (A, B, or a
Snapshot whose unit, edge and input scores and activations are B − A, with B's outputs) and
adds both models' per-node and per-edge values to the state for the hover.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np

from netviz_widget.engine.compare import SnapshotDiff, compare_explainers
from netviz_widget.engine.paired import PairedExplainer
from netviz_widget.engine.snapshot import Snapshot, prediction_text
from netviz_widget.errors import InputError
from netviz_widget.ui._serialization import encode_array

if TYPE_CHECKING:
    from netviz_widget.ui.display import DisplayMap
    from netviz_widget.ui.view_state import EdgeLayout
    from netviz_widget.ui.widget import NetViz

MODES = {"A": "A", "B": "B", "diff": "B − A"}


def diff_snapshot(diff: SnapshotDiff) -> Snapshot:
    """A Snapshot whose scores and activations are B − A and whose outputs are B's."""
    return replace(diff.b, node_scores=diff.node_scores, activations=diff.activations,
                   edge_scores=diff.edge_scores, input_scores=diff.input_scores,
                   delta=np.zeros_like(diff.b.delta))


class Comparison:
    """The A / B / B − A toggle of a NetViz in compare mode, and what it shows."""

    def __init__(self, viz: NetViz) -> None:
        if not isinstance(viz.explainer, PairedExplainer):
            raise InputError("compare", "a NetViz built with compare=other", viz.explainer)
        self.viz = viz
        self.paired = viz.explainer
        self.toggle = widgets.ToggleButtons(options=[(label, key) for key, label in MODES.items()],
                                            value="A", description="show",
                                            tooltips=["model A", "model B", "change B − A"],
                                            style={"button_width": "64px"})
        self.info = widgets.HTML("")
        self.box = widgets.HBox([self.toggle, self.info])
        self.box.add_class("netviz-compare")
        self.toggle.observe(lambda _: self.viz.attempt(self.viz._publish), "value")

    @property
    def mode(self) -> str:
        """"A", "B" or "diff"."""
        return self.toggle.value

    def show(self, mode: str) -> None:
        """Show model A, model B or the change B − A ("diff")."""
        if mode not in MODES:
            raise InputError("mode", f"one of {list(MODES)}", mode)
        self.toggle.value = mode

    def diff(self) -> SnapshotDiff:
        """B − A in the current state (interventions applied to both)."""
        return compare_explainers(self._explainer(), self.paired.other)

    def shown(self) -> Snapshot:
        """The snapshot the view draws in the current mode."""
        explainer = self._explainer()
        if self.mode == "A":
            return explainer.snapshot()
        if self.mode == "B":
            return self.paired.other.snapshot()
        return diff_snapshot(self.diff())

    def state(self, display: DisplayMap, layout: EdgeLayout, chosen: np.ndarray,
              example: int) -> dict[str, Any]:
        """Both models' node scores, activations and shipped edge scores (for the hover), the
        mode shown and each model's prediction; updates the info line."""
        a, b = self._explainer().snapshot(), self.paired.other.snapshot()
        layers = self.paired.graph.layers

        def nodes(snap: Snapshot, what: str) -> np.ndarray:
            values = getattr(snap, what)
            combine = display.sum_nodes if what == "node_scores" else display.mean_nodes
            return np.concatenate([combine(la.name, values[la.name][example]) for la in layers])

        labels = self.viz.class_labels
        predicted = [int(s.prediction[example]) for s in (a, b)]
        texts = [prediction_text(s.probabilities[example], labels).replace("predicted", f"{name} predicts", 1)
                 for name, s in zip("AB", (a, b))]
        self.info.value = f"<span class='netviz-compare-info'>{html.escape(' · '.join(texts))}</span>"
        return {
            "mode": MODES[self.mode], "predicted": predicted,
            "a_scores": encode_array(nodes(a, "node_scores")),
            "b_scores": encode_array(nodes(b, "node_scores")),
            "a_activations": encode_array(nodes(a, "activations")),
            "b_activations": encode_array(nodes(b, "activations")),
            "a_edges": encode_array(layout.scores(a, example)[chosen]),
            "b_edges": encode_array(layout.scores(b, example)[chosen]),
        }

    def _explainer(self) -> PairedExplainer:
        if self.viz.explainer is not self.paired:
            raise InputError("inputs", "the inputs of the comparison (compare mode keeps them)",
                             self.viz.explainer.inputs,
                             hint="Build a new NetViz(model, x, compare=other) for other inputs.")
        return self.paired
