"""Which display node shows which units: wide layers are drawn as groups of units.

A layer wider than `max_nodes` is shown as `n_groups` groups of consecutive units; a group's
score is the sum of its units' scores, its activation their mean, and an edge between groups
carries the sum of the edge scores between their units. Expanding a group replaces it by its
units. Layers drawn as images (pixel grids) are never grouped. Without wide layers the map is
the identity: one node per unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netviz_widget.engine.graph.layered import LayeredGraph


@dataclass(frozen=True)
class DisplayMap:
    """Per layer: `node_of[unit]`, the `members` (unit indices) of each node, the group size of
    grouped layers, and each layer's first global node id in `offsets`."""

    node_of: dict[str, np.ndarray]
    members: dict[str, list[np.ndarray]]
    group_size: dict[str, int]
    offsets: dict[str, int]

    @classmethod
    def build(cls, graph: LayeredGraph, expanded: dict[str, set[int]] | None = None,
              max_nodes: int = 256, n_groups: int = 64, keep: frozenset[str] = frozenset()) -> DisplayMap:
        """Group every layer wider than `max_nodes` (except those in `keep`) into `n_groups`
        groups; groups listed in `expanded[layer]` are shown unit by unit."""
        expanded = expanded or {}
        node_of, members, group_size, offsets = {}, {}, {}, {}
        total = 0
        for layer in graph.layers:
            n = layer.n_units
            offsets[layer.name] = total
            if n <= max_nodes or layer.name in keep:
                node_of[layer.name] = np.arange(n)
                members[layer.name] = [np.array([u]) for u in range(n)]
            else:
                size = math.ceil(n / n_groups)
                group_size[layer.name] = size
                nodes: list[np.ndarray] = []
                for g in range(math.ceil(n / size)):
                    units = np.arange(g * size, min(n, (g + 1) * size))
                    if g in expanded.get(layer.name, set()):
                        nodes += [np.array([u]) for u in units]
                    else:
                        nodes.append(units)
                mapping = np.empty(n, dtype=np.int64)
                for index, units in enumerate(nodes):
                    mapping[units] = index
                node_of[layer.name], members[layer.name] = mapping, nodes
            total += len(members[layer.name])
        return cls(node_of, members, group_size, offsets)

    @property
    def n_nodes(self) -> int:
        """Display nodes in all layers."""
        return sum(len(m) for m in self.members.values())

    def is_group(self, layer: str, node: int) -> bool:
        """True when `node` of `layer` stands for more than one unit."""
        return len(self.members[layer][node]) > 1

    def group_index(self, layer: str, unit: int) -> int:
        """The group (of a grouped layer) that contains `unit`."""
        return unit // self.group_size[layer]

    def labels(self, layer: str) -> list[str] | None:
        """'name[a–b]' for groups and 'name[u]' for units, or None for an ungrouped layer."""
        if layer not in self.group_size:
            return None
        return [f"{layer}[{m[0]}–{m[-1]}]" if len(m) > 1 else f"{layer}[{m[0]}]"
                for m in self.members[layer]]

    def sum_nodes(self, layer: str, values: np.ndarray) -> np.ndarray:
        """Per-node sums of per-unit `values` (last axis = units)."""
        if layer not in self.group_size:
            return values
        out = np.zeros((*values.shape[:-1], len(self.members[layer])), dtype=np.float64)
        np.add.at(out, (..., self.node_of[layer]), values)
        return out.astype(values.dtype)

    def mean_nodes(self, layer: str, values: np.ndarray) -> np.ndarray:
        """Per-node means of per-unit `values` (last axis = units)."""
        if layer not in self.group_size:
            return values
        counts = np.array([len(m) for m in self.members[layer]])
        return (self.sum_nodes(layer, values) / counts).astype(values.dtype)

    def global_ids(self, layer: str, units: list[int] | np.ndarray) -> list[int]:
        """Global node ids showing `units` of `layer` (deduplicated, in order)."""
        nodes = dict.fromkeys(int(self.node_of[layer][u]) for u in units)
        return [self.offsets[layer] + node for node in nodes]
