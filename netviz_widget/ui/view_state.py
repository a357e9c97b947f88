"""Pure translation of a LayeredGraph and a Snapshot into the view's trait values.

Display nodes (units, or groups of units in wide layers: see display.py) get one global id in
depth order. Topology (layers, shipped edges, labels) travels once; an update after an
intervention sends only per-node and per-edge float32 arrays plus small JSON. At most
`max_edges` edges are shipped: all of them when they fit, else the top-|edge score| ones of the
displayed example; the engine keeps the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.snapshot import Snapshot
from netviz_widget.ui._serialization import encode_array
from netviz_widget.ui.display import DisplayMap


def image_grid(graph: LayeredGraph, input_image: object) -> tuple[str | None, list[int] | None]:
    """How to draw the input layer: ("grid", [h, w]) when each input unit is a pixel,
    ("maps", [h, w]) when each unit is a channel with a spatial map, else (None, None) (also
    for several input layers, drawn as stacked columns of units)."""
    shape = graph.input_layer.shape
    if input_image is False or len(graph.input_layers) > 1:
        return None, None
    if len(shape) == 3:
        return "maps", [int(shape[1]), int(shape[2])]
    if isinstance(input_image, (tuple, list)) and len(input_image) == 2:
        h, w = (int(v) for v in input_image)
        return ("grid", [h, w]) if h * w == shape[0] else (None, None)
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    if input_image in (None, "auto") and side >= 4 and side * side == shape[0]:
        return "grid", [side, side]
    return None, None


def edge_index(graph: LayeredGraph) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Per block, the (dst, src) unit pairs that are edges (blocks without a module, such as
    identity, gated and modulates: their one-to-one pairs), in the order of the block's
    flattened (dst, src) table."""
    pairs = {}
    for block in graph.blocks:
        n_dst, n_src = block.shape
        if block.module is None:
            pairs[(block.src, block.dst)] = np.nonzero(block.weight)
        else:
            dst, src = np.divmod(np.arange(n_dst * n_src), n_src)
            pairs[(block.src, block.dst)] = (dst, src)
    return pairs


@dataclass(frozen=True)
class EdgeLayout:
    """Edges between display nodes: each block's unit pairs summed into node pairs.

    `src`, `dst` are global node ids and `weight` the summed weights of every aggregated edge
    (all blocks concatenated); `inverse[b]` maps block b's unit pairs to its aggregated edges.
    """

    keys: tuple[tuple[str, str], ...]
    pairs: tuple[tuple[np.ndarray, np.ndarray], ...]
    inverse: tuple[np.ndarray, ...]
    sizes: tuple[int, ...]
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray

    @classmethod
    def build(cls, graph: LayeredGraph, display: DisplayMap) -> EdgeLayout:
        keys, pairs, inverses, sizes, srcs, dsts, weights = [], [], [], [], [], [], []
        for block, (key, (dst, src)) in zip(graph.blocks, edge_index(graph).items()):
            node_dst = display.node_of[block.dst][dst]
            node_src = display.node_of[block.src][src]
            n_src_nodes = len(display.members[block.src])
            unique, inverse = np.unique(node_dst * n_src_nodes + node_src, return_inverse=True)
            keys.append(key)
            pairs.append((dst, src))
            inverses.append(inverse)
            sizes.append(len(unique))
            srcs.append(unique % n_src_nodes + display.offsets[block.src])
            dsts.append(unique // n_src_nodes + display.offsets[block.dst])
            weights.append(np.bincount(inverse, weights=block.weight[dst, src], minlength=len(unique)))
        return cls(tuple(keys), tuple(pairs), tuple(inverses), tuple(sizes),
                   np.concatenate(srcs) if srcs else np.zeros(0, np.int64),
                   np.concatenate(dsts) if dsts else np.zeros(0, np.int64),
                   np.concatenate(weights) if weights else np.zeros(0))

    def modulates(self, graph: LayeredGraph) -> np.ndarray:
        """(edges,) 1 for the aggregated edges of "modulates" blocks (a gate into a product) and
        of "pattern" blocks (an attention pattern into its head's output, pattern · V): drawn dashed."""
        kinds = {(b.src, b.dst): b.kind for b in graph.blocks}
        parts = [np.full(size, kinds[key] in ("modulates", "pattern"), np.uint8)
                 for key, size in zip(self.keys, self.sizes)]
        return np.concatenate(parts) if parts else np.zeros(0, np.uint8)

    def scores(self, snapshot: Snapshot, example: int) -> np.ndarray:
        """Edge scores of every aggregated edge (sums over the unit pairs it stands for)."""
        parts = []
        for key, (dst, src), inverse, size in zip(self.keys, self.pairs, self.inverse, self.sizes):
            values = snapshot.edge_scores[key][example][dst, src]
            parts.append(np.bincount(inverse, weights=values, minlength=size))
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def select_edges(layout: EdgeLayout, snapshot: Snapshot, example: int, max_edges: int) -> np.ndarray:
    """Indices of the shipped edges: all, or the `max_edges` with the largest |score|."""
    scores = np.abs(layout.scores(snapshot, example))
    if len(scores) <= max_edges:
        return np.arange(len(scores))
    return np.sort(np.argpartition(-scores, max_edges - 1)[:max_edges])


def topology_trait(graph: LayeredGraph, display: DisplayMap, layout: EdgeLayout, chosen: np.ndarray,
                   class_labels: list[str], input_image: object) -> dict[str, Any]:
    """The topology trait: layers (display nodes `n_nodes`, units `n_units` as in Python,
    offsets, drawing hints and group labels), blocks, class labels and the shipped edges."""
    mode, pixels = image_grid(graph, input_image)
    layers = []
    for layer in graph.layers:
        layers.append({
            "name": layer.name, "kind": layer.kind, "role": layer.role,
            "n_nodes": len(display.members[layer.name]), "n_units": layer.n_units,
            "shape": list(layer.shape), "offset": display.offsets[layer.name],
            "labels": display.labels(layer.name),
            "image": {"mode": mode, "size": pixels} if layer.role == "input" and mode else None,
        })
    return {
        "layers": layers,
        "blocks": [{"src": b.src, "dst": b.dst, "kind": b.kind} for b in graph.blocks],
        "class_labels": [str(label) for label in class_labels],
        "n_nodes": display.n_nodes,
        "n_edges_total": int(sum(len(d) for d, _ in layout.pairs)),
        "edges": {
            "src": encode_array(layout.src[chosen], "uint32"),
            "dst": encode_array(layout.dst[chosen], "uint32"),
            "weight": encode_array(layout.weight[chosen], "float32"),
            # 1 where the edge comes from a gate into a product ("modulates"): drawn dashed
            "modulates": encode_array(layout.modulates(graph)[chosen], "uint8"),
        },
    }


def output_labels(graph: LayeredGraph, display: DisplayMap, class_labels: list[str] | None,
                  probabilities: np.ndarray) -> list[str] | None:
    """"<class label> <probability>" for each display node of the output layer, drawn beside
    the node (as text, never HTML); None when the output layer is grouped or has no labels."""
    if not class_labels:
        return None
    output = next((layer for layer in graph.layers if layer.role == "output"), None)
    if output is None or len(display.members[output.name]) != len(class_labels) \
            or len(probabilities) != len(class_labels):
        return None
    return [f"{label} {float(p):.2f}" for label, p in zip(class_labels, probabilities)]


def state_trait(graph: LayeredGraph, display: DisplayMap, layout: EdgeLayout, chosen: np.ndarray,
                snapshot: Snapshot, example: int, seq: int, ablated: list[int],
                class_labels: list[str] | None = None) -> dict[str, Any]:
    """The per-update trait: scores (sums) and activations (means) of every display node and
    shipped edge, the input heatmap, outputs (with `class_labels`: the output units' labels)
    and the completeness warning."""
    node_scores = np.concatenate([display.sum_nodes(la.name, snapshot.node_scores[la.name][example])
                                  for la in graph.layers])
    activations = np.concatenate([display.mean_nodes(la.name, snapshot.activations[la.name][example])
                                  for la in graph.layers])
    relative = float(snapshot.relative_delta[example])
    warning = None
    if relative > 0.05:
        warning = (f"Completeness gap {100 * relative:.1f}% of |F(x) − F(baseline)|: "
                   "scores are approximate; increase n_steps.")
    return {
        "seq": seq,
        "example": example,
        "node_scores": encode_array(node_scores),
        "activations": encode_array(activations),
        "edge_scores": encode_array(layout.scores(snapshot, example)[chosen]),
        "input_map": encode_array(snapshot.input_scores[example].reshape(-1)),
        "probabilities": [round(float(p), 6) for p in snapshot.probabilities[example]],
        "predicted": int(snapshot.prediction[example]),
        "target": int(snapshot.target[example]),
        "delta": float(snapshot.delta[example]),
        "relative_delta": relative,
        "warning": warning,
        "interventions": list(snapshot.interventions),
        "ablated": ablated,
        "output_labels": output_labels(graph, display, class_labels, snapshot.probabilities[example]),
    }


def drilldown_trait(explainer: Any, layer: str, unit: int, example: int,
                    neuron: Any = None) -> dict[str, Any]:
    """The drilldown trait for `unit` of `layer` on input `example`: its input conductance
    map, top inputs and the reference examples that activate it most (`neuron`: the unit's
    NeuronView when already computed)."""
    neuron = explainer.neuron(layer, unit, k=5) if neuron is None else neuron
    reference = explainer.reference
    return {
        "layer": layer, "unit": unit,
        "input_scores": encode_array(neuron.input_scores[example].reshape(-1)),
        "top_inputs": [int(i) for i in neuron.top_inputs[example]],
        "top_input_names": [explainer.graph.feature_name(i, explainer.graph.example_shape)
                            for i in neuron.top_inputs[example]],
        "top_examples": [int(i) for i in neuron.top_examples],
        "top_activations": [round(float(a), 4) for a in neuron.top_activations],
        "example_pixels": encode_array(reference[neuron.top_examples].reshape(
            len(neuron.top_examples), -1).cpu().numpy()),
    }
