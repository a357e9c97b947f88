"""Build the layered graph from a torch.fx trace.

Every tensor-valued node gets an *origin* (see `_origins`): which units of which unit layers
its axis 1 carries. Linear/Conv modules start new unit layers, with one edge block from each
source layer their input carries (at that layer's unit offsets, so concatenated branches each
get their own block); activations, normalisation and dropout directly after a layer move its
tap (a unit is read after its nonlinearity); pooling and other shape-keeping ops pass units
through; `a + b` of unit-carrying tensors becomes a "residual" layer with identity edges, and
`a * g` of two layers' units a "gated" layer with a "modulates" edge from the gate.

Nothing is dropped silently: an operation that loses track of the units (a permute of the
unit axis, a reduction over it, an unknown parametric module, a functional call on a module's
weight) marks its result "lost", and a lost tensor reaching a layer or the output is refused
with the operation's name and the user's source line.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from netviz_widget.engine._probes import OUTPUT_EXPECTED, FxRunner, output_choice
from netviz_widget.engine.graph import _attention_trace, _ops, _recurrent_rules
from netviz_widget.engine.graph._fx_rules import Rules, shape_of
from netviz_widget.engine.graph._origins import Origin, Segment
from netviz_widget.engine.graph._refusals import refuse
from netviz_widget.engine.graph.units import EdgeBlock, UnitLayer
from netviz_widget.engine.kinds import layer_kind
from netviz_widget.errors import GraphError, ModelError


class TraceFailure(Exception):
    """torch.fx could not trace the model (the caller falls back to hooks)."""


@dataclass
class _LayerDraft:
    name: str
    kind: str
    n_units: int
    shape: tuple[int, ...]
    tap: fx.Node
    node: fx.Node
    offset: int = 0


Built = tuple[list[UnitLayer], list[EdgeBlock], FxRunner, "str | None"]


def build(model: nn.Module, x: torch.Tensor) -> Built:
    """Trace `model`, propagate shapes on `x`, and return layers, blocks, the runner and the
    final probability function that was stripped from the output (or None). Stack traces cost
    time, so they are recorded only to word a refusal (by tracing again)."""
    try:
        return _build(model, x, stack_traces=False)
    except GraphError:
        return _build(model, x, stack_traces=True)


def _build(model: nn.Module, x: torch.Tensor, stack_traces: bool) -> Built:
    tracer = _Tracer()
    tracer.record_stack_traces = stack_traces
    try:
        graph = tracer.trace(model, concrete_args=_optional_arguments(model))
    except Exception as error:  # fx raises many types for untraceable code
        raise TraceFailure(f"{type(error).__name__}: {error}") from error
    # a model rewritten by _tokens / _several: its nodes' source lines are the user's, not ours
    known = getattr(getattr(model, "graph", None), "_netviz_stack_traces", {})
    for node in graph.nodes if stack_traces else ():
        node.stack_trace = known.get(node.name, node.stack_trace)
    try:
        gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    except SyntaxError as error:  # fx cannot generate code for some module names (quotes)
        raise TraceFailure(f"SyntaxError in torch.fx's generated code: {error.msg}") from error
    _select_logits(gm)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    n_inputs = len(placeholders) - len(_optional_arguments(model) or {})
    if n_inputs != 1:
        raise GraphError("model", "a forward that takes one input tensor",
                         f"a forward with {n_inputs} inputs",
                         hint="Give Explainer / NetViz the inputs as a tuple (a, b): they are "
                         "packed along axis 1 and the forward is traced with one packed input.")
    _recurrent_rules.unroll(gm)  # nn.LSTM / GRU / RNN calls → one unrolled unit layer per layer
    try:
        ShapeProp(gm).propagate(x)
    except Exception as error:
        root = error.__cause__ or error  # ShapeProp wraps the model's own error
        raise ModelError("model", "a forward pass that runs on the example input", root,
                         hint=f"The forward raised {type(root).__name__}: {root}") from error
    _strip_output_squeeze(gm)  # a one-output model returning (batch,): its (batch, 1) logits
    activation = _strip_final_activation(gm)
    if activation is not None:
        _strip_output_squeeze(gm)
    # several inputs packed by _several: one input layer per input
    inputs = getattr(getattr(model, "graph", None), "_netviz_inputs", None)
    layers, blocks, runner = _Walker(gm, inputs).walk()
    return layers, blocks, runner, activation


def final_activation(model: nn.Module) -> str | None:
    """The probability function ("softmax", "log_softmax", "sigmoid") that computes `model`'s
    output, as `_strip_final_activation` detects it, or None. Raises TraceFailure where fx cannot
    trace the model."""
    try:
        graph = _Tracer().trace(model, concrete_args=_optional_arguments(model))
    except Exception as error:  # fx raises many types for untraceable code
        raise TraceFailure(f"{type(error).__name__}: {error}") from error
    last = next(n for n in graph.nodes if n.op == "output").args[0]
    if isinstance(last, fx.Node) and last.target in _SQUEEZES and last.args \
            and isinstance(last.args[0], fx.Node):  # sigmoid(logit).squeeze(1)
        last = last.args[0]
    if not isinstance(last, fx.Node):
        return None
    module = model.get_submodule(last.target) if last.op == "call_module" else None
    return _ops.final_function(last.op, last.target, module)


class _Tracer(fx.Tracer):
    """fx's tracer that also keeps registered unit-preserving modules whole (`_ops`), and reads
    buffers as graph constants (`self.pe[:, :x.size(1)]`, a positional-encoding buffer sliced
    to the sequence length, cannot be traced otherwise)."""

    def __init__(self) -> None:
        super().__init__()
        self.proxy_buffer_attributes = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return _ops.is_registered_leaf(m) or super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: nn.Module, forward, args: tuple, kwargs: dict) -> object:
        """fx's, except that attention modules are unrolled (see `_attention_trace`)."""
        return _attention_trace.trace_call(
            self, m, args, kwargs, lambda: super(_Tracer, self).call_module(m, forward, args, kwargs))


def _optional_arguments(model: nn.Module) -> dict[str, object] | None:
    """forward's arguments after the first that have defaults, fixed to their defaults (so
    `forward(x, mask=None)` traces as a one-input model)."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    optional = {p.name: p.default for p in parameters[1:]
                if p.default is not inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return optional or None


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


_SQUEEZES = ("squeeze", "flatten", "view", "reshape", torch.squeeze, torch.flatten, torch.reshape)


def _squeezed_output(node: object) -> fx.Node | None:
    """The (batch, 1) tensor that `node` squeezes to (batch,) (`.squeeze(1)`, `.squeeze(-1)`,
    `.view(-1)`, `.flatten()`, as a BCEWithLogitsLoss model returns its logit), or None."""
    if not isinstance(node, fx.Node) or node.op not in ("call_method", "call_function") \
            or node.target not in _SQUEEZES or not node.args or not isinstance(node.args[0], fx.Node):
        return None
    before, after = shape_of(node.args[0]), shape_of(node)
    if before is None or after is None or len(before) != 2 or before[1] != 1 or len(after) != 1:
        return None
    return node.args[0]


def _strip_output_squeeze(gm: fx.GraphModule) -> None:
    output = next(n for n in gm.graph.nodes if n.op == "output")
    logits = _squeezed_output(output.args[0])
    if logits is not None:
        output.args = (logits,)
        gm.graph.eliminate_dead_code()
        gm.recompile()


def _strip_final_activation(gm: fx.GraphModule) -> str | None:
    """When the output is softmax / log_softmax / sigmoid of a tensor, return that tensor (the
    logits) instead and name the function; probabilities are then computed once, by the view."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    last = output.args[0]
    if not isinstance(last, fx.Node) or not last.args or not isinstance(last.args[0], fx.Node):
        return None
    module = gm.get_submodule(last.target) if last.op == "call_module" else None
    name = _ops.final_function(last.op, last.target, module)
    if name is None:
        return None
    output.args = (last.args[0],)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return name


class _Walker(Rules):
    def __init__(self, gm: fx.GraphModule, inputs: tuple[tuple[str, int], ...] | None = None) -> None:
        self.gm = gm
        self.inputs = inputs  # several inputs packed along axis 1: (layer name, units) each
        self.origin: dict[fx.Node, Origin] = {}
        self.lost: dict[fx.Node, tuple[fx.Node, str, str]] = {}
        self.pieces: dict[fx.Node, list[Origin | None]] = {}
        self.squashed: set[fx.Node] = set()
        self.constants: set[fx.Node] = set()
        self.layers: dict[str, _LayerDraft] = {}
        self.blocks: dict[tuple[str, str], dict] = {}

    def walk(self) -> tuple[list[UnitLayer], list[EdgeBlock], FxRunner]:
        output_node = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if not self.layers:  # later ones: optional arguments at defaults
                    self._input(node)
            elif node.op == "output":
                output_node = node
            elif node.op == "get_attr":
                self.constants.add(node)
            elif node.all_input_nodes and all(a in self.constants for a in node.all_input_nodes):
                self.constants.add(node)  # computed from parameters/buffers only (e.g. weight.t())
                self.visit(node)
            elif not self._inherit_loss(node):
                self.visit(node)
        result = output_node.args[0] if output_node is not None else None
        if isinstance(result, fx.Node) and result in self.lost:
            raise self.refusal(result)
        if not isinstance(result, fx.Node) or result not in self.origin:
            raise ModelError("model", OUTPUT_EXPECTED, type(result).__name__,
                             hint="Wrap the model so that forward returns the logits tensor.")
        origin = self.origin[result]
        output_layer = origin.whole_layer(self.n_units_of())
        if output_layer is None:
            output_layer = self.merge(result, origin)
        if self.layers[output_layer].kind == "input":
            raise GraphError("model", "at least one Linear or Conv layer", "a model with none")
        self._check_nothing_dropped(result, self._ancestors(output_layer))
        return self._finish(output_layer)

    # ------------------------------------------------------------------ bookkeeping
    def n_units_of(self) -> dict[str, int]:
        return {name: d.n_units for name, d in self.layers.items()}

    def _input(self, node: fx.Node) -> None:
        shape = shape_of(node)
        if self.inputs is None:
            self.layers["input"] = _LayerDraft("input", "input", shape[1], shape[1:], node, node)
            self.origin[node] = Origin.whole("input", shape[1])
            return
        offset = 0  # several inputs: the packed tensor carries each input layer's units in turn
        for name, size in self.inputs:
            self.layers[name] = _LayerDraft(name, "input", size, (size, *shape[2:]), node, node, offset)
            offset += size
        self.origin[node] = Origin(tuple(Segment(name, 0, size) for name, size in self.inputs))

    def _inherit_loss(self, node: fx.Node) -> bool:
        """A tensor computed from a lost tensor is lost too (parametric modules refuse)."""
        lost = [a for a in node.all_input_nodes if a in self.lost]
        if not lost or node.meta.get("tensor_meta") is None:
            return False
        if node.op == "call_module" and isinstance(self.gm.get_submodule(node.target), _ops.PARAMETRIC):
            raise self.refusal(lost[0])
        self.lost[node] = self.lost[lost[0]]
        return True

    def lose(self, node: fx.Node, reason: str, workaround: str) -> None:
        """Mark `node`'s units as lost (refused if they reach a layer or the output)."""
        self.lost[node] = (node, reason, workaround)

    def refusal(self, node: fx.Node) -> GraphError:
        culprit, reason, workaround = self.lost[node]
        return refuse(culprit, self.gm, reason, workaround)

    def new_layer(self, node: fx.Node, name: str, kind: str, axis: int = 1) -> str:
        """A unit layer at `node`; `axis` -1: token-wise units on the last axis (its shape is
        then recorded as the engine sees it, (units, positions...))."""
        name = self._unique(name)
        shape = shape_of(node)
        layer_kind(kind)  # a kind the registry lacks fails here, naming register_layer_kind
        if axis != 1 and len(shape) > 2:
            shape = (shape[0], shape[-1], *shape[1:-1])
        self.layers[name] = _LayerDraft(name, kind, shape[1], shape[1:], node, node)
        self.origin[node] = Origin.whole(name, shape[1], 1 if len(shape) == 2 else axis)
        return name

    def add_block(self, src: str, dst: str, **fields: object) -> None:
        if (src, dst) in self.blocks:
            raise refuse(self.layers[dst].node, self.gm,
                         f"it reads the units of {src!r} twice", "read each layer's units once")
        self.blocks[(src, dst)] = dict(src=src, dst=dst, **fields)

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
        blocks = [b for b in self.blocks.values() if b["dst"] in reachable and b["src"] in reachable]
        for block in blocks:
            probe_nodes += [block["input_key"], block["output_key"]]
            if block.get("partner_key") is not None:
                probe_nodes.append(block["partner_key"])
        names = list(dict.fromkeys(node.name for node in probe_nodes))
        layers = [
            UnitLayer(d.name, d.kind,
                      "input" if d.kind == "input" else "output" if d.name == output_layer
                      else "hidden", int(d.n_units), tuple(int(s) for s in d.shape), d.tap.name,
                      d.offset)
            for d in drafts
        ]
        edge_blocks = [
            EdgeBlock(b["src"], b["dst"], b["kind"], b["weight"], b["module"],
                      b["input_key"].name, b["output_key"].name, b["group"], b["ranges"],
                      None if b.get("partner_key") is None else b["partner_key"].name)
            for b in blocks
        ]
        by_name = {node.name: node for node in probe_nodes}
        axes = {name: self.origin[by_name[name]].axis for name in names
                if by_name[name] in self.origin and len(shape_of(by_name[name]) or ()) > 2}
        return layers, edge_blocks, FxRunner(self.gm, names, axes)

    def _ancestors(self, layer: str) -> set[str]:
        seen, stack = {layer}, [layer]
        while stack:
            current = stack.pop()
            for (src, dst) in self.blocks:
                if dst == current and src not in seen:
                    seen.add(src)
                    stack.append(src)
        return seen

    def _check_nothing_dropped(self, result: fx.Node, drawn: set[str]) -> None:
        """Every parametric module that the output depends on must be a drawn layer."""
        drawn_nodes = {self.layers[name].node for name in drawn}
        seen, stack = {result}, [result]
        while stack:
            node = stack.pop()
            module = self.gm.get_submodule(node.target) if node.op == "call_module" else None
            if isinstance(module, _ops.PARAMETRIC) and node not in drawn_nodes:
                raise refuse(node, self.gm, "its units reach the output by a path NetViz does not "
                             "draw, so it would be missing from the graph",
                             "make the layer's output flow into the next layer directly")
            for parent in node.all_input_nodes:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)


def group_of(in_shape: tuple[int, ...], origin: Origin) -> int | None:
    """Features per unit after flattening a (batch, units, ...) tensor, or None."""
    if origin.group != 1 or len(in_shape) <= 2:
        return None
    return int(np.prod(in_shape[2:]))
