"""What each traced operation does to the units (the node handlers of `_fx_walk`).

One rule per kind of operation: parametric layers, unit-wise passes, reshapes, residual
additions, multiplicative gates and refusals; concatenation, splits and slices are in
`_slice_rules`, attention in `_attention_rules`, recurrent layers in `_recurrent_rules`.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import fx, nn

from netviz_widget.engine.graph import (
    _attention_rules,
    _constants,
    _ops,
    _recurrent_rules,
    _slice_rules,
    _token_rules,
)
from netviz_widget.engine.graph._origins import Origin
from netviz_widget.engine.graph._refusals import refuse
from netviz_widget.engine.graph._weights import place_runs, unit_weight
from netviz_widget.errors import GraphError

_SQUASHING = {torch.sigmoid, F.sigmoid, F.hardsigmoid, torch.tanh, F.tanh, F.softmax, torch.softmax}
_WEIGHT_FUNCTIONS = {F.linear, F.conv1d, F.conv2d, F.conv3d, F.embedding, F.bilinear,
                     torch.matmul, torch.mm, torch.bmm, torch.einsum, torch.addmm, operator.matmul}
_KEEP_UNITS_WORKAROUND = ("keep the units on axis 1 (batch, units, ...) up to the next Linear/Conv, "
                          "or wrap the part NetViz cannot draw in a module that runs before it")

def shape_of(node: object) -> tuple[int, ...] | None:
    """The traced shape of a tensor-valued node (None otherwise)."""
    if not isinstance(node, fx.Node):
        return None
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


class Rules:
    """Mixin of `_fx_walk._Walker`: `visit(node)` applies the rule for the node's operation."""

    gm: fx.GraphModule
    constants: set
    origin: dict
    pieces: dict
    squashed: set
    layers: dict

    def visit(self, node: fx.Node) -> None:
        if _attention_rules.handles(node):
            _attention_rules.visit(self, node)
        elif node.op == "call_module":
            self._module(node, self.gm.get_submodule(node.target))
        else:
            self._function(node)

    # ------------------------------------------------------------------ modules
    def _module(self, node: fx.Node, module: nn.Module) -> None:
        source = node.args[0] if node.args else None
        if _recurrent_rules.is_unrolled(module):  # an nn.LSTM / GRU / RNN, unrolled
            _recurrent_rules.visit(self, node, module)
            return
        if isinstance(module, nn.Embedding) and _constants.constant_positions(source):
            self.constants.add(node)  # learned positions self.pos(torch.arange(T)): a constant
            return
        reason = _ops.refusal(module)
        if reason is not None:
            raise refuse(node, self.gm, reason, "run the model on the output of that part (wrap the "
                         "rest of the network in its own module and explain that)")
        if isinstance(module, _ops.PARAMETRIC):
            self._parametric(node, module, source)
        elif isinstance(module, nn.Flatten):
            self._reshape(node, source)
        elif _ops.is_unit_wise_module(module) or isinstance(module, getattr(nn, "RMSNorm", ())):
            self._pass(node, source, move_tap=True)
            if isinstance(module, (nn.Sigmoid, nn.Hardsigmoid, nn.Tanh, nn.Softmax)):
                self.squashed.add(node)
        elif _ops.has_own_parameters(module):
            raise refuse(node, self.gm, "NetViz does not know what the units of this parametric "
                         "module are", "replace it by Linear/Conv layers, or explain the model "
                         "from that module's output on")
        else:
            self._pass(node, source, move_tap=False)

    def _parametric(self, node: fx.Node, module: nn.Module, source: object) -> None:
        if not isinstance(source, fx.Node) or source not in self.origin:
            raise refuse(node, self.gm, "its input does not come from the model's input",
                         "feed the layer a tensor computed from the input")
        origin = self.origin[source]
        in_shape = self.shape(source)
        group = origin.group
        if isinstance(module, nn.Linear) and origin.axis == -1:
            expected = module.in_features  # token-wise on (batch, positions, features)
        elif origin.axis == -1:
            raise refuse(node, self.gm, "it convolves axis 1, but the units are on the last axis "
                         "(batch, positions, features)", "move the features to axis 1 with "
                         "x.transpose(1, 2) before the convolution")
        elif isinstance(module, nn.Linear):
            if len(in_shape) != 2:
                raise refuse(node, self.gm, f"a Linear over the last axis of a {len(in_shape)}-d "
                             f"tensor {tuple(in_shape)} whose units are on axis 1 (an input is "
                             "read as (batch, features, positions…))", "for a token-wise Linear, "
                             "pass (batch, features, positions) and move the features last in "
                             "forward with x.transpose(1, 2); or flatten to (batch, features)")
            expected = module.in_features
        else:
            expected = module.in_channels
        if origin.n_units * group != expected:
            raise refuse(node, self.gm, f"its input carries {origin.n_units} units × {group} "
                         f"features, not the {expected} it reads", _KEEP_UNITS_WORKAROUND)
        shape = self.shape(node)
        if shape[1] == 0:
            raise GraphError("model", "layers with at least one unit", f"{node.target!r} with 0 units")
        name = self.new_layer(node, node.target, _ops.kind_of(module), origin.axis)
        weight = unit_weight(module, group)
        kind = "dense" if isinstance(module, nn.Linear) else "conv"
        for src, runs in origin.ranges().items():
            self.add_block(src, name, kind=kind, weight=place_runs(weight, runs, self.layers[src].n_units),
                           module=node.target, input_key=source, output_key=node, group=group,
                           ranges=runs)

    # ------------------------------------------------------------------ functions
    def _function(self, node: fx.Node) -> None:
        target = node.target
        method = node.op == "call_method"
        carriers = [a for a in node.all_input_nodes if a in self.origin]
        params = [a for a in node.all_input_nodes if a in self.constants]
        if not method and target in _WEIGHT_FUNCTIONS and params:
            raise refuse(node, self.gm, f"a functional call using the weight "
                         f"{_weight_name(params[0])!r} is not drawn as a layer",
                         "call the module itself (e.g. self.fc(x)) instead of its weight")
        if (target in _ops.ACTIVATION_METHODS if method else
                target in _ops.ACTIVATION_FUNCTIONS or target in _ops.UNIT_WISE_FUNCTIONS):
            self._pass(node, node.args[0], move_tap=True)
            if target in _SQUASHING or target in ("sigmoid", "tanh", "sigmoid_", "tanh_"):
                self.squashed.add(node)
        elif target in (_ops.RESHAPE_METHODS if method else _ops.RESHAPE_FUNCTIONS):
            self._reshape(node, node.args[0])
        elif target in (_ops.ADD_METHODS if method else _ops.ADD_FUNCTIONS) and len(carriers) == 2:
            self._add(node, carriers)
        elif target in (_ops.MUL_METHODS if method else _ops.MUL_FUNCTIONS) and len(carriers) == 2:
            self._multiply(node, carriers)
        elif not method and target in _ops.CAT_FUNCTIONS:
            _slice_rules.cat(self, node)
        elif target in (_ops.SPLIT_METHODS if method else _ops.SPLIT_FUNCTIONS):
            _slice_rules.split(self, node)
        elif target is operator.getitem:
            _slice_rules.getitem(self, node)
        elif target is getattr and node.args[0] in self.pieces and node.args[1] == "values":
            piece = self.pieces[node.args[0]][0]  # x.max(1).values
            if piece is not None:
                self.origin[node] = piece
        elif target in (_ops.AXIS_METHODS if method else _ops.AXIS_FUNCTIONS):
            self._axes(node)
        elif carriers:
            if len({layer for a in carriers for layer in self.origin[a].layers}) > 1 \
                    and not _same_origin(self, carriers):
                raise refuse(node, self.gm, "it combines the units of several layers in a way "
                             "NetViz cannot draw (supported: +, *, torch.cat)",
                             "combine the branches with +, * or torch.cat along axis 1")
            self._pass(node, carriers[0], move_tap=False)
        if node in self.squashed or not carriers:
            return
        if any(a in self.squashed for a in carriers) and target in (
                _ops.RESHAPE_METHODS | _ops.AXIS_METHODS if method else
                _ops.RESHAPE_FUNCTIONS | _ops.AXIS_FUNCTIONS):
            self.squashed.add(node)

    def _pass(self, node: fx.Node, source: object, move_tap: bool) -> None:
        if not isinstance(source, fx.Node) or source not in self.origin:
            return
        origin = self.origin[source]
        in_shape, out_shape = self.shape(source), self.shape(node)
        if in_shape is None:
            return
        if out_shape is None:
            metas = node.meta.get("tensor_meta")
            if node.target in ("max", "min", torch.max, torch.min) and metas:  # (values, indices)
                values = self._kept(node, origin, in_shape, tuple(metas[0].shape))
                if values is not None:  # x.max(1).values / x.max(1)[0]: as x.amax(1)
                    self.pieces[node] = [values, None]
                    return
                name = node.target if isinstance(node.target, str) else node.target.__name__
                self.lose(node, f"NetViz cannot follow the units through it: {name}(x, dim) "
                          "over the units", _KEEP_UNITS_WORKAROUND)
            elif metas is not None:  # another tuple of tensors
                self.lose(node, "NetViz cannot follow the units through it", _KEEP_UNITS_WORKAROUND)
            return
        unit_in = origin.unit_dim(len(in_shape))
        unit_out = unit_in if len(out_shape) == len(in_shape) else origin.unit_dim(len(out_shape))
        if len(out_shape) == len(in_shape) and out_shape[unit_out] == 1 < in_shape[unit_in]:
            return  # a statistic over the units (sum(1, keepdim=True)): like a normalisation
        kept = self._kept(node, origin, in_shape, out_shape)
        if kept is None:
            self.lose(node, f"it changes the unit axis (axis {unit_in}) from {tuple(in_shape)} to "
                      f"{tuple(out_shape)}", _KEEP_UNITS_WORKAROUND)
            return
        self.origin[node] = kept
        layer = self.layers[origin.segments[0].layer]
        if (move_tap and len(origin.segments) == 1 and layer.name != "input"
                and layer.tap is source and len(source.users) == 1 and out_shape == in_shape
                and origin == Origin.whole(layer.name, layer.n_units)):
            layer.tap = node

    def _kept(self, node: fx.Node, origin: Origin, in_shape: tuple[int, ...],
              out_shape: tuple[int, ...]) -> Origin | None:
        """The origin of `node`'s result when it keeps every unit (a pooling, a reduction over
        the positions), or None when it changes the unit axis."""
        unit_in = origin.unit_dim(len(in_shape))
        unit_out = unit_in if len(out_shape) == len(in_shape) else origin.unit_dim(len(out_shape))
        removed = _token_rules.reduced_dims(node, len(in_shape)) \
            if origin.axis == -1 and len(out_shape) < len(in_shape) else set()
        if len(out_shape) < 2 or out_shape[unit_out] != in_shape[unit_in] \
                or removed is None or unit_in in removed:
            return None
        return origin.on_axis(1) if len(out_shape) == 2 else origin

    def _reshape(self, node: fx.Node, source: object) -> None:
        if not isinstance(source, fx.Node) or source not in self.origin:
            return
        origin = self.origin[source]
        in_shape, out_shape = self.shape(source), self.shape(node)
        if in_shape is None or out_shape is None:
            return
        if origin.axis == -1:
            if out_shape == in_shape:
                self.origin[node] = origin
            else:
                self.lose(node, f"it reshapes token-wise units {tuple(in_shape)} to "
                          f"{tuple(out_shape)}", "reduce over the positions (x.mean(1)) or pick "
                          "one (x[:, 0]) before the next Linear")
            return
        if len(out_shape) == 2 and len(in_shape) > 2 and origin.group == 1 \
                and out_shape[1] == in_shape[1] * _prod(in_shape[2:]):
            self.origin[node] = Origin(origin.segments, _prod(in_shape[2:]))
        elif out_shape[:2] == in_shape[:2]:
            self.origin[node] = origin
        else:
            self.lose(node, f"it reshapes {tuple(in_shape)} to {tuple(out_shape)}, which regroups "
                      "the units", "flatten with torch.flatten(x, 1) or keep axis 1 unchanged")

    def _axes(self, node: fx.Node) -> None:
        source = node.args[0] if node.args else None
        if not isinstance(source, fx.Node) or source not in self.origin:
            return
        in_shape, out_shape = self.shape(source), self.shape(node)
        origin = self.origin[source]
        order = None if in_shape is None else _token_rules.permutation(node, len(in_shape))
        if order is not None and len(in_shape) == 3:  # (batch, units, positions) ⇄ token-wise
            axis = _token_rules.moved_axis(node, 3, origin.unit_dim(3))
            if axis is None:
                self.lose(node, "it moves the unit axis away from axis 1 and the last axis",
                          _KEEP_UNITS_WORKAROUND)
            else:
                self.origin[node] = origin.on_axis(axis)
            return
        if in_shape is not None and out_shape is not None and len(in_shape) == len(out_shape) \
                and node.target in ("permute", torch.permute):
            dims = node.args[1:] if node.op == "call_method" else node.args[1]
            dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else list(dims)
            if [d % len(in_shape) for d in dims[:2]] != [0, 1]:
                self.lose(node, "it moves the unit axis (axis 1)", _KEEP_UNITS_WORKAROUND)
                return
        if node.target in ("transpose", "swapaxes", "swapdims", "movedim", torch.transpose,
                           torch.swapaxes, torch.movedim):
            axes = [a for a in node.args[1:3] if isinstance(a, int)]
            if any(a % len(in_shape) in (0, 1) for a in axes):
                self.lose(node, "it moves the unit axis (axis 1)", _KEEP_UNITS_WORKAROUND)
                return
        self._pass(node, source, move_tap=False)

    def _add(self, node: fx.Node, operands: list[fx.Node]) -> None:
        origins = [self.origin[a] for a in operands]
        units = self._units(node, origins)
        if units is None or any(o.group != 1 or o.n_units != units for o in origins):
            self.lose(node, "it adds tensors whose units do not line up one to one",
                      "add tensors of the same number of units on axis 1")
            return
        if operands[0] is operands[1]:
            self._pass(node, operands[0], move_tap=False)
            return
        name = self.new_layer(node, node.name, "residual", origins[0].axis)
        for operand, origin in zip(operands, origins):
            for src, runs in origin.ranges().items():
                self.add_block(src, name, kind="identity",
                               weight=place_runs(_eye(units), runs, self.layers[src].n_units),
                               module=None, input_key=operand, output_key=node, group=1, ranges=runs)

    def _multiply(self, node: fx.Node, operands: list[fx.Node]) -> None:
        origins = [self.origin[a] for a in operands]
        if origins[0] == origins[1]:
            self._pass(node, operands[0], move_tap=False)  # x * f(x): a unit-wise nonlinearity
            return
        units = self._units(node, origins)
        if units is None or any(o.group != 1 or o.n_units != units for o in origins):
            self.lose(node, "it multiplies tensors whose units do not line up one to one",
                      "multiply tensors of the same number of units on axis 1 (broadcast only "
                      "over positions)")
            return
        if operands[0] in self.squashed and operands[1] not in self.squashed:
            operands, origins = operands[::-1], origins[::-1]
        name = self.new_layer(node, node.name, "gated", origins[0].axis)
        for operand, partner, origin, kind in zip(operands, operands[::-1], origins,
                                                  ("gated", "modulates")):
            for src, runs in origin.ranges().items():
                self.add_block(src, name, kind=kind,
                               weight=place_runs(_eye(units), runs, self.layers[src].n_units),
                               module=None, input_key=operand, output_key=node, group=1,
                               ranges=runs, partner_key=partner)

    def merge(self, node: fx.Node, origin: Origin) -> str:
        """A "concat" layer for a tensor that carries parts of several layers (the output)."""
        name = self.new_layer(node, node.name, "concat")
        units = self.layers[name].n_units
        for src, runs in origin.ranges().items():
            self.add_block(src, name, kind="identity",
                           weight=place_runs(_eye(units), runs, self.layers[src].n_units),
                           module=None, input_key=node, output_key=node, group=1, ranges=runs)
        return name

    def _units(self, node: fx.Node, origins: list[Origin]) -> int | None:
        """Units of a sum or product on the operands' shared unit axis (None if they differ)."""
        if len({o.axis for o in origins}) != 1:
            return None
        shape = self.shape(node)
        return shape[origins[0].unit_dim(len(shape))]

    def shape(self, node: object) -> tuple[int, ...] | None:
        return shape_of(node)


def _weight_name(node: fx.Node) -> str:
    """The parameter a constant node is computed from (e.g. 'fc.weight' for fc.weight.t())."""
    while node.op != "get_attr" and node.all_input_nodes:
        node = node.all_input_nodes[0]
    return str(node.target)


def _same_origin(rules: Rules, nodes: list[fx.Node]) -> bool:
    return len({rules.origin[a] for a in nodes}) == 1


def _prod(values: tuple[int, ...]) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def _eye(n: int) -> torch.Tensor:
    return torch.eye(n).numpy()

