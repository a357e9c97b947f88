"""Recurrent layers in the traced copy: nn.LSTM / nn.GRU / nn.RNN calls unrolled into one unit
layer per layer of the module (see `engine/_recurrence`).

`unroll(gm)` rewrites each call before shapes are propagated:

    out, (h_n, c_n) = lstm(x)        →   u0 = RecurrentInput(x)          (W_ih x_t + b_ih)
                                         s0 = RecurrentLayer(u0)         (batch, hidden, steps)
                                         u1 = RecurrentInput(s0); s1 = … (one pair per layer)
                                         out = s_last.movedim(1, -1)     (batch, steps, hidden)
                                         h_n[k] = s_l.movedim(1, -1)[:, -1 or 0][:, direction]

so the rest of the walk sees ordinary token-wise units (`out[:, -1]`, `out.mean(1)`, `h_n[-1]`
follow the existing rules). A time-major module (batch_first=False) reads a batch-first tensor
(the permutation before the call is folded into one that keeps the batch first) and its readouts
`out[t]`, `out.mean(0)` / `sum(0)` / `amax(0)` / `amin(0)` are rewritten the same way. What cannot be
drawn exactly is refused naming the operation: projections (proj_size), an initial state, the
LSTM's cell state c_n read by the model, other uses of h_n or of a time-major output.

`visit(walker, node, module)` is the walker's rule for the two modules: a unit layer of kind
"lstm" / "gru" / "rnn" at each RecurrentLayer, with a "recurrent" edge block from the layer's
input (the input→hidden weights W_ih; no hidden→hidden edges are drawn).
"""

from __future__ import annotations

import operator

import torch
from torch import fx, nn

from netviz_widget.engine._recurrence import (
    RECURRENT_MODULES,
    RecurrentInput,
    RecurrentLayer,
    directions_of,
    input_weight_matrix,
)
from netviz_widget.engine.graph import _ops, _token_rules
from netviz_widget.engine.graph._refusals import refuse, source_line
from netviz_widget.engine.graph._weights import place_runs
from netviz_widget.engine.kinds import LAYER_KINDS, LayerKind, register_layer_kind
from netviz_widget.errors import GraphError

for _kind in (
    LayerKind("lstm", "a hidden unit of an LSTM layer (its h_t at every step)",
              edges="'recurrent': W_ih's signed norm over the unit's four gate rows"),
    LayerKind("gru", "a hidden unit of a GRU layer (its h_t at every step)",
              edges="'recurrent': W_ih's signed norm over the unit's three gate rows"),
    LayerKind("rnn", "a hidden unit of an RNN layer (its h_t at every step)",
              edges="'recurrent': the W_ih weight matrix"),
):
    if _kind.name not in LAYER_KINDS:
        register_layer_kind(_kind)

_KIND = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}
_READOUTS = ("out[:, -1], out.mean(1) / sum(1) / amax(1) (batch_first) or out[-1], out.mean(0) "
             "(time-major), and h_n[k]")
_REDUCTIONS = ("mean", "sum", "amax", "amin")


def is_unrolled(module: nn.Module) -> bool:
    """True for the modules `unroll` puts into the traced copy."""
    return isinstance(module, (RecurrentInput, RecurrentLayer))


def unroll(gm: fx.GraphModule) -> None:
    """Replace every nn.LSTM / nn.GRU / nn.RNN call of `gm` by its unrolled layers (in place);
    refuse a cell (LSTMCell, GRUCell, RNNCell) called step by step."""
    for node in gm.graph.nodes:
        if node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.RNNCellBase):
            raise refuse(node, gm, _ops.refusal(gm.get_submodule(node.target)),
                         "call nn.LSTM / nn.GRU / nn.RNN once on the whole sequence")
    calls = [n for n in gm.graph.nodes
             if n.op == "call_module" and isinstance(gm.get_submodule(n.target), RECURRENT_MODULES)]
    for node in calls:
        _Unrolling(gm, node, gm.get_submodule(node.target)).rewrite()
    if calls:
        gm.graph.eliminate_dead_code()
        gm.graph.lint()
        gm.recompile()


class _Unrolling:
    def __init__(self, gm: fx.GraphModule, node: fx.Node, rnn: nn.RNNBase) -> None:
        self.gm, self.node, self.rnn = gm, node, rnn
        self.graph = gm.graph

    def rewrite(self) -> None:
        node, rnn = self.node, self.rnn
        if getattr(rnn, "proj_size", 0):
            raise refuse(node, self.gm, "an LSTM with proj_size > 0 (projected hidden states) is "
                         "not drawn as units", "use proj_size=0 and an nn.Linear on the output")
        if (len(node.args) > 1 and node.args[1] is not None) or node.kwargs.get("hx") is not None:
            raise refuse(node, self.gm, "a recurrent layer given an initial state is not drawn "
                         "as units (the state would be a second input)", "start from zeros: "
                         "call it with the sequence alone")
        source = node.args[0] if node.args else node.kwargs.get("input")
        if not rnn.batch_first:
            source = self._batch_first_source(source)
        names = [str(node.target)] if rnn.num_layers == 1 else \
            [f"{node.target}.l{k}" for k in range(rnn.num_layers)]
        self.sequences = []
        with self.graph.inserting_before(node):
            for k, name in enumerate(names):
                reader = RecurrentInput(rnn, k, units_first=k > 0)
                reader.rnn_name = str(node.target)
                current = self._call(f"in{k}", reader, source)
                layer = RecurrentLayer(rnn, k, name)
                layer.rnn_name = str(node.target)  # the user's module (the edges' weights)
                source = self._call(f"l{k}", layer, current)
                self.sequences.append(source)
        for user in list(node.users):
            index = user.args[1] if _is_getitem(user) else None
            if index == 0:
                self._output(user)
            elif index == 1 and rnn.mode == "LSTM":
                self._state_pair(user)
            elif index == 1:
                self._final_states(user)
            else:
                raise refuse(user, self.gm, "it uses a recurrent module's result other than as "
                             "`out, h_n = rnn(x)` / `out, (h_n, c_n) = lstm(x)`",
                             "unpack the result and read " + _READOUTS)

    # ------------------------------------------------------------------ nodes
    def _call(self, suffix: str, module: nn.Module, argument: fx.Node) -> fx.Node:
        target = f"_netviz_{self.node.name}_{suffix}"
        self.gm.add_submodule(target, module)
        return self._stamp(self.graph.call_module(target, (argument,)))

    def _stamp(self, new: fx.Node) -> fx.Node:
        new.stack_trace = self.node.stack_trace  # refusals name the user's call of the module
        return new

    def _method(self, name: str, *args: object) -> fx.Node:
        return self._stamp(self.graph.call_method(name, args))

    def _item(self, value: fx.Node, index: object) -> fx.Node:
        return self._stamp(self.graph.call_function(operator.getitem, (value, index)))

    def _token_wise(self, layer: int = -1) -> fx.Node:
        """The hidden states of layer `layer` as (batch, steps, units)."""
        return self._method("movedim", self.sequences[layer], 1, -1)

    # ------------------------------------------------------------------ inputs
    def _batch_first_source(self, source: object) -> fx.Node:
        """For a time-major module: the (batch, steps, features) tensor its input permutes."""
        order = _token_rules.permutation(source, 3) if isinstance(source, fx.Node) else None
        if order is None or sorted(order) != [0, 1, 2]:
            raise refuse(self.node, self.gm, "a time-major recurrent layer (batch_first=False) "
                         "reads a tensor that is not a permutation of a batch-first one",
                         "use batch_first=True, or permute a (batch, features, steps) input with "
                         "x.permute(2, 0, 1) right before the call")
        with self.graph.inserting_before(self.node):
            return self._method("permute", source.args[0], order[1], order[0], order[2])

    # ------------------------------------------------------------------ outputs
    def _output(self, out: fx.Node) -> None:
        with self.graph.inserting_after(self.sequences[-1]):
            tokens = self._token_wise()
        if self.rnn.batch_first:
            out.replace_all_uses_with(tokens)
            return
        for user in list(out.users):  # time-major (steps, batch, units): rewrite each readout
            step = _step_index(user)
            if step is not None:
                with self.graph.inserting_after(tokens):
                    new = self._item(tokens, (slice(None), step))
            elif user.op == "call_method" and user.target in _REDUCTIONS and _dims(user) == 0 \
                    and not user.kwargs.get("keepdim", False) and len(user.args) <= 2:
                with self.graph.inserting_after(tokens):
                    new = self._method(user.target, tokens, 1)
            else:
                raise refuse(user, self.gm, "it reads a time-major (batch_first=False) output in "
                             "a way NetViz cannot follow (supported: out[t], out.mean(0), "
                             "out.sum(0), out.amax(0), out.amin(0))", "use batch_first=True")
            user.replace_all_uses_with(new)

    def _state_pair(self, pair: fx.Node) -> None:
        for user in list(pair.users):
            index = user.args[1] if _is_getitem(user) else None
            if index == 0:
                self._final_states(user)
            elif index == 1 and user.users:
                raise refuse(next(iter(user.users)), self.gm, "it reads the LSTM's cell state "
                             "c_n, which NetViz does not draw as units (only the hidden states "
                             "h_t are units)", "read the hidden states: out[:, -1] or h_n[-1]")
            elif index != 1:
                raise refuse(user, self.gm, "it uses the LSTM's (h_n, c_n) other than by "
                             "unpacking it", "unpack it: out, (h_n, c_n) = lstm(x)")

    def _final_states(self, h_n: fx.Node) -> None:
        """Rewrite each read of h_n ((layers·directions, batch, hidden)) into the last step of
        the layer's hidden states (the first step for the reverse direction)."""
        rnn = self.rnn
        directions, count = directions_of(rnn), rnn.num_layers * directions_of(rnn)
        for user in list(h_n.users):
            k = _step_index(user)
            if k is None and count == 1 and _is_squeeze_0(user):
                k = 0
            if k is None or not -count <= k < count:
                raise refuse(user, self.gm, "it reads h_n in a way NetViz cannot follow "
                             "(supported: h_n[k], e.g. h_n[-1], and h_n.squeeze(0) for one "
                             "layer)", "read h_n[-1] (the last layer's final state) or "
                             "out[:, -1]")
            layer, direction = divmod(k % count, directions)
            hidden = rnn.hidden_size
            with self.graph.inserting_after(self.sequences[layer]):
                tokens = self._token_wise(layer)
                with self.graph.inserting_after(tokens):
                    last = self._item(tokens, (slice(None), -1 if direction == 0 else 0))
                    new = last
                    if directions == 2:
                        with self.graph.inserting_after(last):
                            new = self._item(last, (slice(None),
                                                    slice(direction * hidden, (direction + 1) * hidden)))
            user.replace_all_uses_with(new)


def _is_getitem(node: fx.Node) -> bool:
    return node.op == "call_function" and node.target is operator.getitem


def _step_index(node: fx.Node) -> int | None:
    """i for value[i] / value[i, :] / value[i, :, :] (an int on the first axis), else None."""
    if not _is_getitem(node):
        return None
    index = node.args[1]
    index = index if isinstance(index, tuple) else (index,)
    whole = slice(None)
    if isinstance(index[0], int) and not isinstance(index[0], bool) and len(index) <= 3 \
            and all(i == whole for i in index[1:]):
        return index[0]
    return None


def _is_squeeze_0(node: fx.Node) -> bool:
    if node.op == "call_method" and node.target == "squeeze":
        return (node.args[1:] in ((), (0,)) and not node.kwargs) or node.kwargs == {"dim": 0}
    if node.op == "call_function" and node.target is torch.squeeze:
        return (node.args[1:] in ((), (0,)) and not node.kwargs) or node.kwargs == {"dim": 0}
    return False


def _dims(node: fx.Node) -> object:
    return node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)


# ---------------------------------------------------------------------------- the walker's rule
def visit(walker, node: fx.Node, module: nn.Module) -> None:
    """The `_fx_walk` rule for an unrolled recurrence (see the module docstring)."""
    if isinstance(module, RecurrentInput):
        _check_input(walker, node, module)
        return
    current = node.args[0]
    source = current.args[0]
    origin = walker.origin[source]
    name = walker.new_layer(node, module.layer_name, _KIND[module.rnn.mode])
    module.layer_name = name
    weight = input_weight_matrix(module.rnn, module.layer)
    for src, runs in origin.ranges().items():
        walker.add_block(src, name, kind="recurrent",
                         weight=place_runs(weight, runs, walker.layers[src].n_units),
                         module=module.rnn_name, input_key=source,
                         output_key=current, group=1, ranges=runs)


def _check_input(walker, node: fx.Node, module: RecurrentInput) -> None:
    source = node.args[0]
    if not isinstance(source, fx.Node) or source not in walker.origin:
        raise _refuse(node, module, "its input does not come from the model's input",
                      "feed the recurrent layer a tensor computed from the input")
    if module.units_first:
        return
    origin, shape = walker.origin[source], walker.shape(source)
    expected = module.rnn.input_size
    if shape is None or len(shape) != 3:
        raise _refuse(node, module, f"a recurrent layer reads a {len(shape or ())}-d tensor "
                      "(only batched sequences (batch, steps, features) are drawn)",
                      "give it a (batch, steps, features) tensor")
    if origin.axis != -1:
        raise _refuse(node, module, f"a recurrent layer reads the features on the last axis of "
                      f"{tuple(shape)}, but its units are on axis 1 (an input is read as (batch, "
                      "features, steps))", "pass (batch, features, steps) and move the features "
                      "last in forward with x.transpose(1, 2)")
    if origin.group != 1 or origin.n_units != expected:
        raise _refuse(node, module, f"its input carries {origin.n_units} units × "
                      f"{origin.group} features, not the {expected} it reads",
                      "feed it the features of one layer (batch, steps, features)")


def _refuse(node: fx.Node, module: RecurrentInput, reason: str, workaround: str) -> GraphError:
    """`refuse`, naming the user's recurrent module (not the engine's unrolled part of it)."""
    op = f"{type(module.rnn).__name__} {module.rnn_name!r}"
    return GraphError("model", f"operations NetViz can draw ({_ops.SUPPORTED})", op,
                      hint=f"{op} at {source_line(node)}: {reason}. Workaround: {workaround}")

