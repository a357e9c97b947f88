"""Circuits: the smallest set of units and edges that carries most of a decision, and the
strongest input→output paths.

Per unit layer, the circuit keeps the fewest units whose conductance adds up to at least
`coverage` × the layer's total (F(x) − F(baseline) where the layer is a complete cut). Taking
units in decreasing order of their contribution is optimal: the top-k prefix has the largest
sum of any k units, so the first prefix that reaches the threshold is the smallest set. Between
kept units, edges are kept the same way against the flow between those units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.snapshot import Snapshot

__all__ = ["Circuit", "Path", "build_circuit", "smallest_cover", "strongest_paths"]


@dataclass(frozen=True)
class Circuit:
    """A subgraph explaining one example's target output.

    Attributes:
        example, target: which input and output index it explains.
        coverage: requested share of each layer's attribution.
        units: layer → kept unit indices (largest contribution first).
        unit_share: layer → share of the layer's total conductance the kept units carry.
        layer_total: layer → the layer's total conductance.
        edges: (src layer, dst layer, src unit, dst unit, flow) of the kept edges.
        edge_share: (src, dst) → share of the flow between kept units that kept edges carry.
    """

    example: int
    target: int
    coverage: float
    units: dict[str, list[int]]
    unit_share: dict[str, float]
    layer_total: dict[str, float]
    edges: list[tuple[str, str, int, int, float]] = field(repr=False)
    edge_share: dict[tuple[str, str], float] = field(repr=False)

    @property
    def n_units(self) -> int:
        """Number of units in the circuit, input features included."""
        return sum(len(u) for u in self.units.values())

    def hidden_units(self, graph: LayeredGraph) -> list[tuple[str, int]]:
        """(layer, unit) pairs of the hidden layers: what a causal check ablates."""
        return [(layer.name, u) for layer in graph.layers if layer.role == "hidden"
                for u in self.units.get(layer.name, [])]

    def unit_pairs(self) -> list[tuple[str, int]]:
        """Every (layer, unit) of the circuit, e.g. for `NetViz.highlight`."""
        return [(layer, u) for layer, units in self.units.items() for u in units]

    def to_table(self) -> list[dict[str, object]]:
        """One record per layer: kept units, their share, the layer total."""
        return [{"layer": layer, "units": len(units), "kept": units[:12],
                 "share": round(self.unit_share[layer], 4),
                 "layer_total": round(self.layer_total[layer], 4)}
                for layer, units in self.units.items()]


@dataclass(frozen=True)
class Path:
    """One input→output path: its units and the share of the target's attribution it carries."""

    units: list[tuple[str, int]]
    share: float
    flow: float


def smallest_cover(contributions: np.ndarray, coverage: float) -> tuple[np.ndarray, float]:
    """Indices of the fewest items whose sum reaches `coverage` × the total, taken in
    decreasing order of contribution toward the total's sign; and the share they carry."""
    total = float(contributions.sum())
    sign = 1.0 if total >= 0 else -1.0
    order = np.argsort(-sign * contributions, kind="stable")
    if abs(total) < 1e-12:
        return order[:0], 1.0
    cumulative = np.cumsum(contributions[order]) * sign
    reached = np.nonzero(cumulative >= coverage * abs(total) - 1e-9)[0]
    count = int(reached[0]) + 1 if len(reached) else len(order)
    return order[:count], float(cumulative[count - 1] / abs(total))


def build_circuit(graph: LayeredGraph, snapshot: Snapshot, example: int = 0,
                  coverage: float = 0.8) -> Circuit:
    """The circuit of `example` for its snapshot target (see module docstring)."""
    units, share, totals = {}, {}, {}
    for layer in graph.layers:
        scores = snapshot.node_scores[layer.name][example].astype(np.float64)
        if layer.role == "output":
            target = int(snapshot.target[example])
            units[layer.name], share[layer.name] = [target], 1.0
            totals[layer.name] = float(scores[target])
            continue
        kept, carried = smallest_cover(scores, coverage)
        units[layer.name], share[layer.name] = [int(i) for i in kept], carried
        totals[layer.name] = float(scores.sum())
    edges, edge_share = [], {}
    for block in graph.blocks:
        src, dst = units[block.src], units[block.dst]
        if not src or not dst:
            continue
        flow = snapshot.edge_scores[(block.src, block.dst)][example][np.ix_(dst, src)].astype(np.float64)
        kept, carried = smallest_cover(flow.ravel(), coverage)
        edge_share[(block.src, block.dst)] = carried
        for index in kept:
            j, i = divmod(int(index), len(src))
            edges.append((block.src, block.dst, src[i], dst[j], float(flow[j, i])))
    return Circuit(example, int(snapshot.target[example]), coverage, units, share, totals, edges,
                   edge_share)


def strongest_paths(graph: LayeredGraph, snapshot: Snapshot, k: int = 5, example: int = 0,
                    beam: int | None = None) -> list[Path]:
    """The `k` input→output paths carrying the largest share of the target's attribution.

    Walking back from the target output, each unit's conductance splits over its incoming
    edges in proportion to their flow; a path's share is the product of those fractions
    (an exact flow decomposition where flows are positive). Beam search keeps `beam` partial
    paths per step (default 8k).
    """
    beam = beam or 8 * k
    target = int(snapshot.target[example])
    output = graph.output_layer.name
    total = float(snapshot.node_scores[output][example][target])
    partial = [([(output, target)], 1.0)]
    done: list[tuple[list[tuple[str, int]], float]] = []
    while partial:
        extended = []
        for units, share in partial:
            layer, unit = units[-1]
            blocks = graph.blocks_into(layer)
            if not blocks:
                done.append((units, share))
                continue
            incoming = [(b.src, i, float(f)) for b in blocks
                        for i, f in enumerate(snapshot.edge_scores[(b.src, b.dst)][example][unit])]
            inflow = sum(f for _, _, f in incoming)
            if abs(inflow) < 1e-12:
                continue
            for src, i, f in incoming:
                extended.append(([*units, (src, i)], share * f / inflow))
        extended.sort(key=lambda item: -item[1])
        partial = extended[:beam]
    done.sort(key=lambda item: -item[1])
    return [Path(list(reversed(units)), share, share * total) for units, share in done[:k]]
