"""Several inputs: `forward(a, b, ...)` given as a tuple `(a, b, ...)`.

The engine runs one tensor, so the inputs are packed along axis 1 (`torch.cat((a, b), 1)`) and
the model runs as `PackedInputs.rest`: the user's forward with its input arguments replaced by
`torch.split` pieces of that tensor (same modules, live weights). The graph has one input layer
per input, `input:<argument name>`, each owning its run of the packed tensor's units
(`UnitLayer.offset`); the walker reads the split like any other, so each consumer gets an edge
block from the input layer(s) it reads, at their own unit offsets. Integrated
gradients on the packed input are, part by part, exactly IG with a tuple of inputs (one
straight path for all); `split` gives the parts back. The inputs must agree in every axis but
axis 1 (batch, and positions or pixels).
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import fx, nn

from netviz_widget.engine import _tokens
from netviz_widget.engine.graph.layered import check_input
from netviz_widget.errors import GraphError, InputError


def is_several(x: object) -> bool:
    """True for a tuple or list of two or more tensors."""
    return isinstance(x, (tuple, list)) and len(x) > 1 and all(isinstance(v, torch.Tensor) for v in x)


class PackedInputs:
    """The model's inputs packed along axis 1, and the model run on the packed tensor."""

    def __init__(self, model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        parts = self._check("inputs", inputs, model)
        self.sizes = tuple(int(p.shape[1]) for p in parts)
        n = len(parts)
        try:
            parameters = list(inspect.signature(model.forward).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        optional = {p.name: p.default for p in parameters[n:]
                    if p.default is not inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        from netviz_widget.engine.graph._fx_walk import _Tracer  # keeps registered modules whole

        try:
            tracer = _Tracer()
            tracer.record_stack_traces = True  # the user's source lines, for refusals later
            graph = tracer.trace(model, concrete_args=optional or None)
        except Exception as error:  # fx raises many types for untraceable code
            raise GraphError("model", "a forward torch.fx can trace (for several inputs)",
                             f"{type(error).__name__}: {error}") from error
        placeholders = [node for node in graph.nodes if node.op == "placeholder"]
        required = len(placeholders) - len(optional)
        if required != n:
            raise InputError("inputs", f"one tensor per input of the model's forward ({required})",
                             inputs)
        with graph.inserting_before(placeholders[0]):
            packed = graph.placeholder("inputs")
        with graph.inserting_after(placeholders[-1]):
            pieces = graph.call_function(torch.split, (packed, list(self.sizes), 1))
        last = pieces
        for index, placeholder in enumerate(placeholders[:n]):
            with graph.inserting_after(last):
                last = graph.call_function(__import__("operator").getitem, (pieces, index))
            placeholder.replace_all_uses_with(last)
            graph.erase_node(placeholder)
        graph.lint()
        self.rest = fx.GraphModule(tracer.root, graph, f"{type(model).__name__}Packed")
        # one input layer per input, named after the forward's argument (read by the walker)
        self.names = tuple(f"input:{p.target}" for p in placeholders[:n])
        graph._netviz_inputs = tuple(zip(self.names, self.sizes))  # on the graph: copies share it
        graph._netviz_stack_traces = {n.name: n.stack_trace for n in graph.nodes if n.stack_trace}
        self._model = model

    def _check(self, argument: str, inputs: tuple, model: nn.Module) -> list[torch.Tensor]:
        for i, x in enumerate(inputs):
            if _tokens.is_token_batch(x, model):
                raise InputError(f"{argument}[{i}]", "floating-point inputs (token ids are "
                                 "supported for a model with one input only)", x,
                                 hint="Several inputs of token ids are not drawn yet. "
                                 "Workaround: embed them yourself and give the model the "
                                 "embeddings, e.g. a wrapper whose forward(a, b) takes "
                                 "model.embedding(ids).transpose(1, 2) for each.")
        parts = [check_input(f"{argument}[{i}]", x, model=model) for i, x in enumerate(inputs)]
        first = parts[0]
        for i, part in enumerate(parts[1:], 1):
            if part.shape[0] != first.shape[0] or part.shape[2:] != first.shape[2:] \
                    or part.dtype != first.dtype:
                raise InputError(f"{argument}[{i}]", f"the batch size, dtype and every axis but "
                                 f"axis 1 of {argument}[0] {tuple(first.shape)}", part,
                                 hint="Several inputs are packed along axis 1 (units), so "
                                 "they must agree in every other axis: an image (batch, C, H, W) "
                                 "and a table (batch, F) cannot be given together yet. Workaround: "
                                 "give the table as constant maps, table[:, :, None, None]"
                                 ".expand(-1, -1, H, W), to a wrapper whose forward averages "
                                 "them back (table_map.mean((2, 3))): a feature's score summed "
                                 "over the positions is then the table feature's.")
        return parts

    def pack(self, argument: str, inputs: tuple) -> torch.Tensor:
        """The inputs concatenated along axis 1 (each checked)."""
        parts = self._check(argument, inputs, self._model)
        sizes = tuple(int(p.shape[1]) for p in parts)
        if sizes != self.sizes:
            raise InputError(argument, f"inputs with {self.sizes} features/channels on axis 1",
                             inputs)
        return torch.cat(parts, 1)

    def convert(self, argument: str, value: object) -> object:
        """`value` packed when it is several tensors; anything else unchanged (a tensor is
        taken as already packed)."""
        return self.pack(argument, value) if is_several(value) else value

    def split(self, values: np.ndarray | torch.Tensor) -> tuple:
        """The per-input parts, along axis 1, of a packed (batch, Σ units, ...) array."""
        bounds = np.cumsum(self.sizes)[:-1]
        if isinstance(values, torch.Tensor):
            return tuple(torch.split(values, list(self.sizes), 1))
        return tuple(np.split(np.asarray(values), bounds, axis=1))
