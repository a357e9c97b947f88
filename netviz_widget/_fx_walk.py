"""Build the layered graph from a torch.fx trace.

Every tensor-valued node gets an *origin*: the unit layer whose units it carries, and how
its features map to them (one feature per unit, or `group` features per unit after a
Flatten). Linear/Conv modules start new unit layers; activations, normalisation and dropout
directly after a layer move its tap (a unit is read after its nonlinearity); pooling and
other shape-keeping ops pass units through; `a + b` of two unit-carrying tensors becomes a
"residual" unit layer with identity edges from both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from . import _ops
from ._probes import OUTPUT_EXPECTED, FxRunner, output_choice
from ._weights import unit_weight
from .errors import GraphError, ModelError
from .graph import EdgeBlock, UnitLayer


class TraceFailure(Exception):
    """torch.fx could not trace the model (the caller falls back to hooks)."""


@dataclass
class _Origin:
    layer: str
    group: int = 1


@dataclass
class _LayerDraft:
    name: str
    kind: str
    n_units: int
    shape: tuple[int, ...]
    tap: fx.Node


def build(model: nn.Module, x: torch.Tensor) -> tuple[list[UnitLayer], list[EdgeBlock], FxRunner]:
    """Trace `model`, propagate shapes on `x`, and return layers, blocks and the runner."""
    try:
        gm = fx.symbolic_trace(model)
    except Exception as error:  # fx raises many types for untraceable code
        raise TraceFailure(f"{type(error).__name__}: {error}") from error
    _select_logits(gm)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise TraceFailure(f"forward takes {len(placeholders)} inputs; one is supported")
    try:
        ShapeProp(gm).propagate(x)
    except Exception as error:
        root = error.__cause__ or error  # ShapeProp wraps the model's own error
        raise ModelError("model", "a forward pass that runs on the example input", root,
                         hint=f"The forward raised {type(root).__name__}: {root}") from error
    return _Walker(gm).walk()


def _select_logits(gm: fx.GraphModule) -> None:
    """Make the traced copy return only the logits when the model returns a tuple or dict."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    value = output.args[0]
    if isinstance(value, fx.Node):
        return
    chosen = output_choice(value)
    if not isinstance(chosen, fx.Node):
        given = f"a dict with keys {list(value)}" if isinstance(value, dict) else type(value).__name__
        raise ModelError("model", OUTPUT_EXPECTED, given,
                         hint="Wrap the model so that forward returns the logits tensor.")
    output.args = (chosen,)
    gm.graph.eliminate_dead_code()
    gm.recompile()


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


class _Walker:
    def __init__(self, gm: fx.GraphModule) -> None:
        self.gm = gm
        self.origin: dict[fx.Node, _Origin] = {}
        self.layers: dict[str, _LayerDraft] = {}
        self.blocks: list[dict] = []
        self.module_names = {name for name, _ in gm.named_modules()}

    def walk(self) -> tuple[list[UnitLayer], list[EdgeBlock], FxRunner]:
        output_node = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self._input(node)
            elif node.op == "call_module":
                self._module(node, self.gm.get_submodule(node.target))
            elif node.op in ("call_function", "call_method"):
                self._function(node)
            elif node.op == "output":
                output_node = node
        result = output_node.args[0] if output_node is not None else None
        if not isinstance(result, fx.Node) or result not in self.origin:
            raise ModelError("model", OUTPUT_EXPECTED, type(result).__name__,
                             hint="Wrap the model so that forward returns the logits tensor.")
        output_layer = self.origin[result].layer
        if output_layer == "input":
            raise GraphError("model", "at least one Linear or Conv layer", "a model with none")
        return self._finish(output_layer)

    # ------------------------------------------------------------------ node handlers
    def _input(self, node: fx.Node) -> None:
        shape = _shape(node)
        self.layers["input"] = _LayerDraft("input", "input", shape[1], shape[1:], node)
        self.origin[node] = _Origin("input")

    def _module(self, node: fx.Node, module: nn.Module) -> None:
        source = node.args[0] if node.args else None
        if isinstance(module, _ops.PARAMETRIC):
            self._parametric(node, module, source)
        elif isinstance(module, nn.Flatten):
            self._reshape(node, source)
        elif _ops.is_unit_wise_module(module):
            self._pass(node, source, move_tap=True)
        else:
            self._pass(node, source, move_tap=False)

    def _function(self, node: fx.Node) -> None:
        target = node.target
        tensor_args = [a for a in node.args if isinstance(a, fx.Node) and a in self.origin]
        if node.op == "call_method":
            if target in _ops.ACTIVATION_METHODS:
                self._pass(node, node.args[0], move_tap=True)
            elif target in _ops.RESHAPE_METHODS:
                self._reshape(node, node.args[0])
            elif target in ("add", "add_") and len(tensor_args) == 2:
                self._add(node, tensor_args)
            elif tensor_args:
                self._pass(node, tensor_args[0], move_tap=False)
            return
        if target in _ops.ACTIVATION_FUNCTIONS or target in _ops.UNIT_WISE_FUNCTIONS:
            self._pass(node, node.args[0], move_tap=True)
        elif target in _ops.RESHAPE_FUNCTIONS:
            self._reshape(node, node.args[0])
        elif target in _ops.ADD_FUNCTIONS and len(tensor_args) == 2:
            self._add(node, tensor_args)
        elif tensor_args:
            self._pass(node, tensor_args[0], move_tap=False)

    def _parametric(self, node: fx.Node, module: nn.Module, source: object) -> None:
        if not isinstance(source, fx.Node) or source not in self.origin:
            raise GraphError("model", f"an input to {node.target!r} that traces back to units",
                             "an input of unknown origin")
        origin = self.origin[source]
        name = self._unique(node.target)
        shape = _shape(node)
        if shape[1] == 0:
            raise GraphError("model", "layers with at least one unit", f"{name!r} with 0 units")
        self.layers[name] = _LayerDraft(name, _ops.kind_of(module), shape[1], shape[1:], node)
        self.blocks.append(dict(src=origin.layer, dst=name,
                                kind="dense" if isinstance(module, nn.Linear) else "conv",
                                weight=unit_weight(module, origin.group), module=node.target,
                                input_key=source, output_key=node, group=origin.group))
        self.origin[node] = _Origin(name)

    def _pass(self, node: fx.Node, source: object, move_tap: bool) -> None:
        if not isinstance(source, fx.Node) or source not in self.origin:
            return
        origin = self.origin[source]
        in_shape, out_shape = _shape(source), _shape(node)
        if in_shape is None or out_shape is None or len(out_shape) < 2:
            return
        if out_shape[1] != in_shape[1]:
            return  # units regrouped in a way we do not model: the origin is lost
        self.origin[node] = _Origin(origin.layer, origin.group)
        layer = self.layers[origin.layer]
        if (move_tap and origin.layer != "input" and layer.tap is source
                and len(source.users) == 1 and out_shape == in_shape):
            layer.tap = node

    def _reshape(self, node: fx.Node, source: object) -> None:
        if not isinstance(source, fx.Node) or source not in self.origin:
            return
        origin = self.origin[source]
        in_shape, out_shape = _shape(source), _shape(node)
        if in_shape is None or out_shape is None:
            return
        if len(out_shape) == 2 and len(in_shape) > 2 and origin.group == 1:
            group = int(np.prod(in_shape[2:]))
            if out_shape[1] == in_shape[1] * group:
                self.origin[node] = _Origin(origin.layer, group)
        elif out_shape[:2] == in_shape[:2]:
            self.origin[node] = _Origin(origin.layer, origin.group)

    def _add(self, node: fx.Node, operands: list[fx.Node]) -> None:
        shapes = {_shape(a) for a in operands}
        origins = [self.origin[a] for a in operands]
        if len(shapes) != 1 or any(o.group != 1 for o in origins):
            return
        shape = _shape(node)
        name = self._unique(node.name)
        self.layers[name] = _LayerDraft(name, "residual", shape[1], shape[1:], node)
        for operand, origin in zip(operands, origins):
            if any(b["src"] == origin.layer and b["dst"] == name for b in self.blocks):
                continue
            self.blocks.append(dict(src=origin.layer, dst=name, kind="identity",
                                    weight=np.eye(shape[1], dtype=np.float32), module=None,
                                    input_key=operand, output_key=node, group=1))
        self.origin[node] = _Origin(name)

    def _unique(self, name: str) -> str:
        if name not in self.layers:
            return name
        index = 2
        while f"{name}@{index}" in self.layers:
            index += 1
        return f"{name}@{index}"

    # ------------------------------------------------------------------ result
    def _finish(self, output_layer: str) -> tuple[list[UnitLayer], list[EdgeBlock], FxRunner]:
        reachable = self._ancestors(output_layer)
        drafts = [d for name, d in self.layers.items() if name in reachable]
        probe_nodes: list[fx.Node] = [d.tap for d in drafts]
        blocks = [b for b in self.blocks if b["dst"] in reachable and b["src"] in reachable]
        for block in blocks:
            probe_nodes += [block["input_key"], block["output_key"]]
        names = list(dict.fromkeys(node.name for node in probe_nodes))
        layers = [
            UnitLayer(d.name, d.kind,
                      "input" if d.name == "input" else "output" if d.name == output_layer
                      else "hidden", int(d.n_units), tuple(int(s) for s in d.shape), d.tap.name)
            for d in drafts
        ]
        edge_blocks = [
            EdgeBlock(b["src"], b["dst"], b["kind"], b["weight"], b["module"],
                      b["input_key"].name, b["output_key"].name, b["group"])
            for b in blocks
        ]
        return layers, edge_blocks, FxRunner(self.gm, names)

    def _ancestors(self, layer: str) -> set[str]:
        seen, stack = {layer}, [layer]
        while stack:
            current = stack.pop()
            for block in self.blocks:
                if block["dst"] == current and block["src"] not in seen:
                    seen.add(block["src"])
                    stack.append(block["src"])
        return seen
