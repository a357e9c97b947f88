"""Pure translation of a LayeredGraph and a Snapshot into the view's trait values.

Units get one global index in depth order (`offsets`). Topology (layers, shipped edges,
labels) travels once; an update after an intervention sends only per-unit and per-edge
float32 arrays plus small JSON. At most `max_edges` edges are shipped: all of them when
they fit, else the top-|edge score| ones of the displayed example; the engine keeps the rest.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._serialization import encode_array
from .graph import LayeredGraph
from .snapshot import Snapshot


def image_grid(graph: LayeredGraph, input_image: object) -> tuple[str | None, list[int] | None]:
    """How to draw the input layer: ("grid", [h, w]) when each input unit is a pixel,
    ("maps", [h, w]) when each unit is a channel with a spatial map, else (None, None)."""
    shape = graph.input_layer.shape
    if input_image is False:
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


def unit_offsets(graph: LayeredGraph) -> dict[str, int]:
    """Global index of each layer's first unit."""
    offsets, total = {}, 0
    for layer in graph.layers:
        offsets[layer.name] = total
        total += layer.n_units
    return offsets


def edge_index(graph: LayeredGraph) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Per block, the (dst, src) unit pairs that are edges (identity blocks: the diagonal)."""
    pairs = {}
    for block in graph.blocks:
        n_dst, n_src = block.shape
        if block.kind == "identity":
            idx = np.arange(n_dst)
            pairs[(block.src, block.dst)] = (idx, idx)
        else:
            dst, src = np.divmod(np.arange(n_dst * n_src), n_src)
            pairs[(block.src, block.dst)] = (dst, src)
    return pairs


def select_edges(graph: LayeredGraph, snapshot: Snapshot, example: int,
                 max_edges: int) -> dict[str, np.ndarray]:
    """Choose the shipped edges: global src/dst unit ids, block id, local pair, weight."""
    offsets = unit_offsets(graph)
    parts = []
    for block_id, (block, (dst, src)) in enumerate(zip(graph.blocks, edge_index(graph).values())):
        scores = snapshot.edge_scores[(block.src, block.dst)][example][dst, src]
        parts.append((block_id, block, dst, src, scores))
    total = sum(len(p[4]) for p in parts)
    cut = -np.inf
    if total > max_edges:
        magnitudes = np.concatenate([np.abs(p[4]) for p in parts])
        cut = np.partition(magnitudes, total - max_edges)[total - max_edges]
    chosen = {"src": [], "dst": [], "block": [], "local_dst": [], "local_src": [], "weight": []}
    budget = max_edges
    for block_id, block, dst, src, scores in parts:
        keep = np.nonzero(np.abs(scores) >= cut)[0][:budget] if total > max_edges else np.arange(len(dst))
        budget -= len(keep)
        chosen["src"].append(src[keep] + offsets[block.src])
        chosen["dst"].append(dst[keep] + offsets[block.dst])
        chosen["block"].append(np.full(len(keep), block_id))
        chosen["local_dst"].append(dst[keep])
        chosen["local_src"].append(src[keep])
        chosen["weight"].append(block.weight[dst[keep], src[keep]])
    return {key: np.concatenate(value) if value else np.zeros(0) for key, value in chosen.items()}


def topology_trait(graph: LayeredGraph, edges: dict[str, np.ndarray], class_labels: list[str],
                   input_image: object) -> dict[str, Any]:
    """The topology trait: layers with offsets and drawing hints, labels, shipped edges."""
    offsets = unit_offsets(graph)
    mode, pixels = image_grid(graph, input_image)
    layers = []
    for layer in graph.layers:
        layers.append({
            "name": layer.name, "kind": layer.kind, "role": layer.role,
            "n_units": layer.n_units, "shape": list(layer.shape), "offset": offsets[layer.name],
            "image": {"mode": mode, "size": pixels} if layer.role == "input" and mode else None,
        })
    return {
        "layers": layers,
        "blocks": [{"src": b.src, "dst": b.dst, "kind": b.kind} for b in graph.blocks],
        "class_labels": [str(label) for label in class_labels],
        "n_units": sum(layer.n_units for layer in graph.layers),
        "n_edges_total": int(sum(len(d) for d, _ in edge_index(graph).values())),
        "edges": {
            "src": encode_array(edges["src"], "uint32"),
            "dst": encode_array(edges["dst"], "uint32"),
            "weight": encode_array(edges["weight"], "float32"),
        },
    }


def state_trait(graph: LayeredGraph, snapshot: Snapshot, edges: dict[str, np.ndarray],
                example: int, seq: int, ablated: list[int]) -> dict[str, Any]:
    """The per-update trait: scores and activations of every unit and shipped edge, the
    input heatmap, outputs and the completeness warning."""
    node_scores = np.concatenate([snapshot.node_scores[la.name][example] for la in graph.layers])
    activations = np.concatenate([snapshot.activations[la.name][example] for la in graph.layers])
    edge_scores = np.zeros(len(edges["src"]), dtype=np.float32)
    for block_id, block in enumerate(graph.blocks):
        rows = edges["block"] == block_id
        if rows.any():
            table = snapshot.edge_scores[(block.src, block.dst)][example]
            edge_scores[rows] = table[edges["local_dst"][rows], edges["local_src"][rows]]
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
        "edge_scores": encode_array(edge_scores),
        "input_map": encode_array(snapshot.input_scores[example].reshape(-1)),
        "probabilities": [round(float(p), 6) for p in snapshot.probabilities[example]],
        "predicted": int(snapshot.prediction[example]),
        "target": int(snapshot.target[example]),
        "delta": float(snapshot.delta[example]),
        "relative_delta": relative,
        "warning": warning,
        "interventions": list(snapshot.interventions),
        "ablated": ablated,
    }
