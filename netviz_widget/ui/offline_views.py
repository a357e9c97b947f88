"""Per-input views for the offline page: what the live widget would publish for each input of
its batch (topology, state, circuit) and the drill-down of every unit, precomputed in Python
so that the page can switch inputs and answer a click without a kernel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netviz_widget.errors import InputError
from netviz_widget.ui.view_state import drilldown_trait


def offline_views(viz: Any, labels: Sequence[str], coverage: float = 0.8) -> dict[str, Any]:
    """One view per input of `viz` (a NetViz), named by `labels` (plain text, one per input).

    Returns ``{"views": [...], "pixels": {...}}``: each view holds its ``label``, ``topology``,
    ``state``, ``circuit`` (display-node ids; ``topology`` is None where it equals the first
    view's, as it does whenever every edge is shipped) and ``drilldown`` (``"layer/node"`` -> the
    drilldown trait without ``example_pixels``); ``pixels`` holds each unit's top reference
    examples once (they do not depend on the input). Leaves `viz` showing the input it showed.
    """
    ex = viz.explainer
    batch = ex.inputs.shape[0]
    if len(labels) != batch:
        raise InputError("labels", f"{batch} labels (one per input)", labels)
    drills: dict[str, list[dict[str, Any]]] = {}
    pixels: dict[str, Any] = {}
    for layer in ex.graph.layers:
        if layer.role == "input":
            continue
        for node, members in enumerate(viz.display.members[layer.name]):
            if len(members) != 1:  # a group of a wide layer: the live view expands it instead
                continue
            key = f"{layer.name}/{node}"
            neuron = ex.neuron(layer.name, int(members[0]), k=5)
            per_input = [drilldown_trait(ex, layer.name, int(members[0]), i, neuron)
                         for i in range(batch)]
            pixels[key] = per_input[0]["example_pixels"]
            drills[key] = [{k: v for k, v in d.items() if k != "example_pixels"} for d in per_input]
    shown, views = viz.example, []
    try:
        for i, label in enumerate(labels):
            viz.example = i
            circuit = ex.circuit(i, coverage)
            topology = viz.view.topology
            if views and topology == views[0]["topology"]:
                topology = None
            views.append({"label": str(label), "topology": topology, "state": viz.view.state,
                          "circuit": viz._node_ids(circuit.unit_pairs()),
                          "drilldown": {key: d[i] for key, d in drills.items()}})
    finally:
        viz.example = shown
    return {"views": views, "pixels": pixels}
