"""Layer kinds, one rule each: what a unit of that kind is, which axis of its activations
(batch first) holds the units, and how the edges into it are derived. The graph builders name a
unit layer's kind; everything that reduces or edits an activation per unit (scores, means,
interventions) asks the kind for the unit axis instead of assuming axis 1.

Adding a kind is one `register_layer_kind` call (docs/architecture.md has an example; a test adds
one)::

    register_layer_kind(LayerKind("tokens", unit="a feature of every token", unit_axis=-1,
                                  edges="the weight matrix, as for linear"))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from netviz_widget.engine._registry import Registry
from netviz_widget.errors import GraphError, InputError

__all__ = ["LAYER_KINDS", "LayerKind", "layer_kind", "per_unit", "register_layer_kind", "units_first"]


@dataclass(frozen=True)
class LayerKind:
    """A kind of unit layer.

    Attributes:
        name: the `UnitLayer.kind` it describes.
        unit: what one unit is, in words (for docs and messages).
        unit_axis: the axis of an activation (batch on axis 0) that holds the units; the other
            non-batch axes are positions, summed (scores) or averaged (activations) per unit.
        edges: how the edges into a layer of this kind are derived, in words.
    """

    name: str
    unit: str
    unit_axis: int = 1
    edges: str = ""


LAYER_KINDS: Registry[LayerKind] = Registry(
    "kind", GraphError, lambda names: f"a registered layer kind ({names}; see register_layer_kind)")


def register_layer_kind(kind: LayerKind, replace: bool = False) -> LayerKind:
    """Add `kind` to the registry. Returns it."""
    if kind.unit_axis == 0:
        raise InputError("unit_axis", "an axis other than 0 (the batch)", kind.unit_axis)
    return LAYER_KINDS.register(kind, replace)


def layer_kind(name: str) -> LayerKind:
    """The registered kind `name`; a GraphError naming the registered ones otherwise."""
    return LAYER_KINDS.lookup(name)


def units_first(tensor: torch.Tensor, axis: int) -> torch.Tensor:
    """`tensor` (batch first) with its unit axis `axis` moved to axis 1 (a view)."""
    return tensor if axis in (1, 1 - tensor.dim()) else tensor.movedim(axis, 1)


def per_unit(tensor: torch.Tensor, axis: int = 1, reduce: str = "sum") -> torch.Tensor:
    """(batch, units): `tensor` summed ("sum") or averaged ("mean") over every axis but the
    batch and the unit axis `axis`."""
    flat = units_first(tensor, axis)
    flat = flat.reshape(flat.shape[0], flat.shape[1], -1)
    return flat.sum(-1) if reduce == "sum" else flat.mean(-1)


for _kind in (
    LayerKind("input", "an input feature (a channel for image-like inputs)", edges="none (the first layer)"),
    LayerKind("linear", "an output feature", edges="the weight matrix (out × in)"),
    LayerKind("conv1d", "an output channel", edges="the kernel's signed L2 norm over its taps"),
    LayerKind("conv2d", "an output channel", edges="the kernel's signed L2 norm over its taps"),
    LayerKind("conv3d", "an output channel", edges="the kernel's signed L2 norm over its taps"),
    LayerKind("residual", "a unit of a sum a + b", edges="identity from each summand"),
    LayerKind("gated", "a unit of a product a * g", edges="identity from a, 'modulates' from g"),
    LayerKind("concat", "a unit of a concatenation", edges="identity from each part, in order"),
):
    register_layer_kind(_kind)
