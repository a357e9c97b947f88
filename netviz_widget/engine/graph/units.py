"""The parts of a layered graph: a unit layer (a column of nodes) and an edge block (the weights
between two unit layers). The graph builders (`_fx_walk`, `_hook_walk`) make them; `graph.py`
assembles them into a `LayeredGraph`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from netviz_widget.engine.kinds import layer_kind
from netviz_widget.errors import GraphError, NetVizError

__all__ = ["EdgeBlock", "LayerIndex", "UnitLayer"]

T = TypeVar("T")  # a torch.Tensor or a numpy array


@dataclass(frozen=True)
class UnitLayer:
    """A column of units in the view.

    Attributes:
        name: qualified module name (or "input", or the fx node name of a residual add).
        kind: "input", "linear", "conv1d", "conv2d", "conv3d", "residual" (a + b), "gated"
            (a * gate) or "concat" (an output concatenated from several layers).
        role: "input", "hidden" or "output".
        n_units: number of units (features, or channels for convolutions).
        shape: the activation shape without the batch dimension.
        tap: probe key where the unit activations are read and edited (after the nonlinearity).
        offset: where the layer's units start on its tap's unit axis: 0, except for the input
            layers of a model with several inputs, which share one tap (the inputs packed
            along axis 1) and each own `n_units` units of it from `offset` on.
    """

    name: str
    kind: str
    role: str
    n_units: int
    shape: tuple[int, ...]
    tap: str
    offset: int = 0

    @property
    def unit_axis(self) -> int:
        """The axis of this layer's activations (batch first) that holds its units (its kind's)."""
        return layer_kind(self.kind).unit_axis

    def own(self, values: T, axis: int = 1) -> T:
        """This layer's units of `values` read at its tap (a tensor or array with the tap's
        units on `axis`): `values` itself when the tap holds exactly this layer's units, else
        the slice [offset, offset + n_units) along `axis`."""
        if self.offset == 0 and values.shape[axis] == self.n_units:
            return values
        index = [slice(None)] * values.ndim
        index[axis] = slice(self.offset, self.offset + self.n_units)
        return values[tuple(index)]


@dataclass(frozen=True)
class EdgeBlock:
    """The weights from the units of `src` to the units of `dst`.

    Attributes:
        src, dst: unit layer names.
        kind: "dense" (Linear), "conv" (Conv1d/2d/3d, reduced over the kernel), "identity"
            (skip into a residual sum or a concatenation), "gated" (the main path into a product
            a * g) or "modulates" (the gate g into that product).
        weight: float32 array of shape (dst units, src units), signed L2 norm where reduced.
        module: qualified name of the parametric module carrying the weights (None otherwise).
        input_key / output_key: probe keys of the module's input and pre-activation output
            (for a product: the operand and the product).
        group: input features per source unit (>1 where a Flatten maps features to channels).
        ranges: (offset, start, length) runs: the consumer's input units offset..offset+length
            are units start..start+length of `src` (after a concatenation or split); empty
            means all units of `src`, in order.
        partner_key: for "gated"/"modulates" blocks, the probe key of the other operand.
    """

    src: str
    dst: str
    kind: str
    weight: np.ndarray = field(repr=False)
    module: str | None
    input_key: str
    output_key: str
    group: int = 1
    ranges: tuple[tuple[int, int, int], ...] = ()
    partner_key: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(dst units, src units)."""
        return (int(self.weight.shape[0]), int(self.weight.shape[1]))


class LayerIndex:
    """Unit layers in depth order, by name, and the edge blocks between them: what a
    `LayeredGraph` and a recording's `RecordedGraph` share."""

    lookup_error: type[NetVizError] = GraphError

    def __init__(self, layers: list[UnitLayer], blocks: list[EdgeBlock]) -> None:
        self.layers = layers
        self.blocks = blocks
        self._by_name = {layer.name: layer for layer in layers}

    @property
    def input_layer(self) -> UnitLayer:
        """The (first) input unit layer."""
        return self.layers[0]

    @property
    def input_layers(self) -> list[UnitLayer]:
        """Every input unit layer: one, or one per input of a model given several."""
        return [layer for layer in self.layers if layer.role == "input"]

    @property
    def output_layer(self) -> UnitLayer:
        """The output unit layer (the model's logits)."""
        return self.layers[-1]

    def feature_name(self, index: int, shape: tuple[int, ...]) -> str:
        """The name of flat input feature `index` of an input of per-example `shape`: the index
        itself, or for several inputs `argument[i]` (`argument[channel, ...]`) within its own
        input layer."""
        inputs = self.input_layers
        if len(inputs) == 1:
            return str(int(index))
        where = np.unravel_index(int(index), shape)
        layer = next(la for la in inputs if la.offset <= where[0] < la.offset + la.n_units)
        within = ", ".join(str(int(v)) for v in (where[0] - layer.offset, *where[1:]))
        return f"{layer.name.removeprefix('input:')}[{within}]"

    def layer(self, name: str) -> UnitLayer:
        """The unit layer called `name`; an error listing the known names otherwise."""
        if not isinstance(name, str) or name not in self._by_name:
            raise self.lookup_error("layer", f"one of {list(self._by_name)}", name)
        return self._by_name[name]
