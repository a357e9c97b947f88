"""The layered graph the view draws: unit layers (nodes) and edge blocks (weights).

`LayeredGraph.from_module(model, example_input)` traces the model once with torch.fx
(falling back to forward hooks in execution order) and returns the layers, the edge blocks
and a probed runner that the engine uses to read and edit activations.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine._probes import ProbedRunner, private_copy
from netviz_widget.engine.graph import _fx_walk, _hook_walk, _ops
from netviz_widget.engine.graph.units import EdgeBlock, LayerIndex, UnitLayer
from netviz_widget.errors import GraphError, InputError, ModelError

__all__ = ["EdgeBlock", "LayeredGraph", "UnitLayer", "check_input", "final_activation"]


class LayeredGraph(LayerIndex):
    """Unit layers in depth order and the edge blocks between them, for one model."""

    def __init__(self, model: nn.Module, layers: list[UnitLayer], blocks: list[EdgeBlock],
                 runner: ProbedRunner, example_shape: tuple[int, ...], traced: bool,
                 output_activation: str | None = None) -> None:
        super().__init__(layers, blocks)
        self.model = model
        self.output_activation = output_activation
        self.runner = runner
        self.example_shape = example_shape
        self.traced = traced

    @classmethod
    def from_module(cls, model: nn.Module, example_input: torch.Tensor) -> LayeredGraph:
        """Trace `model` on `example_input` (a batch) and build its layered graph.

        Uses torch.fx symbolic tracing; where tracing fails (data-dependent control flow)
        it falls back to forward hooks in execution order and warns that skip edges may be
        missing. A final softmax / log_softmax / sigmoid is detected and left out: the graph
        explains the logits before it (see `output_activation`, `probabilities`). An operation
        NetViz cannot draw raises a GraphError naming it and the source line. The model is left
        exactly as it was.
        """
        if not isinstance(model, nn.Module):
            raise ModelError("model", "a torch.nn.Module", model)
        check_input("example_input", example_input, model=model)
        private = private_copy(model)  # traced, hooked and run instead of the user's object
        with evaluation_mode(model), torch.no_grad():
            try:
                built = _fx_walk.build(private, example_input)
                traced = True
            except _fx_walk.TraceFailure as failure:
                warnings.warn(
                    f"torch.fx could not trace {type(model).__name__} ({failure}); falling back "
                    "to forward hooks in execution order: skip edges may be missing.",
                    stacklevel=2,
                )
                built = _hook_walk.build(private, example_input)
                traced = False
        layers, blocks, runner, activation = built
        return cls(model, layers, blocks, runner, tuple(example_input.shape[1:]), traced,
                   activation)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Output probabilities from the logits: softmax over classes, or an independent
        sigmoid per output for a model ending in a sigmoid and for one-output (binary) models.
        A model's own final softmax / sigmoid is never applied twice (it is not in the graph)."""
        if self.output_activation == "sigmoid" or logits.shape[1] == 1:
            return torch.sigmoid(logits)
        return logits.softmax(1)

    # ----------------------------------------------------------------------------- lookups
    def check_units(self, layer: str, units: object) -> tuple[int, ...]:
        """Validate unit indices of `layer` and return them as a sorted tuple of ints."""
        n_units = self.layer(layer).n_units
        if isinstance(units, (int, np.integer)) and not isinstance(units, bool):
            units = [units]
        if not isinstance(units, (list, tuple, range, np.ndarray)) or len(units) == 0:
            raise GraphError("units", f"a non-empty list of unit indices of {layer!r}", units)
        checked = []
        for unit in units:
            if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)):
                raise GraphError("units", "integer unit indices", unit)
            if not 0 <= int(unit) < n_units:
                raise GraphError("units", f"indices in [0, {n_units}) for layer {layer!r}", unit)
            checked.append(int(unit))
        return tuple(sorted(set(checked)))

    def blocks_into(self, layer: str) -> list[EdgeBlock]:
        """Edge blocks whose destination is `layer`."""
        return [block for block in self.blocks if block.dst == layer]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the probed model on `x` in eval mode (with whatever probing is active); the
        model's modes are restored afterwards."""
        with evaluation_mode(self.model):
            return self.runner.run(x)

    def summary(self) -> list[dict[str, object]]:
        """One record per unit layer: name, kind, role, units, shape, incoming edges."""
        rows = []
        for layer in self.layers:
            incoming = self.blocks_into(layer.name)
            rows.append({
                "layer": layer.name,
                "kind": layer.kind,
                "role": layer.role,
                "units": layer.n_units,
                "shape": layer.shape,
                "in_edges": sum(b.weight.size for b in incoming),
                "from": ", ".join(b.src for b in incoming) or "-",
            })
        return rows

    def to_text(self) -> str:
        """The layer table as aligned plain text."""
        rows = self.summary()
        headers = list(rows[0])
        cells = [[str(row[h]) for h in headers] for row in rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = " → ".join(f"{layer.name}[{layer.n_units}]" for layer in self.layers)
        return f"LayeredGraph({parts}; {len(self.blocks)} edge blocks)"


def final_activation(model: nn.Module, example_input: torch.Tensor) -> str | None:
    """"softmax", "log_softmax" or "sigmoid" when `model`'s output is computed by that function
    (module or function call, as `LayeredGraph` detects it), else None: read from a torch.fx
    trace, or where fx cannot trace the model, from the module that returned the output of a run
    on `example_input`. The model is left as it was."""
    private = private_copy(model)
    try:
        return _fx_walk.final_activation(private)
    except _fx_walk.TraceFailure:
        pass
    returned: dict[int, nn.Module] = {}

    def record(module: nn.Module, _args: object, output: object) -> None:
        returned[id(output)] = module

    handles = [m.register_forward_hook(record) for m in private.modules() if m is not private]
    try:
        with evaluation_mode(model), torch.no_grad():
            output = private(example_input)
    finally:
        for handle in handles:
            handle.remove()
    module = returned.get(id(output))
    return _ops.final_function("call_module", None, module) if module is not None else None


def check_input(argument: str, x: object, model: nn.Module | None = None,
                shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """Validate an input batch: a finite floating tensor with a batch dimension, on the
    model's device, and (if given) with per-example `shape`."""
    if not isinstance(x, torch.Tensor):
        if isinstance(x, (tuple, list, dict)) and any(isinstance(v, torch.Tensor) for v in
                                                      (x.values() if isinstance(x, dict) else x)):
            hint = ("Several inputs go to Explainer / NetViz as a tuple (a, b) of tensors that "
                    "agree in every axis but axis 1 (they are packed along it).")
        elif hasattr(x, "__array__"):
            hint = "Convert with torch.as_tensor(x, dtype=torch.float32)."
        else:
            hint = ""
        raise InputError(argument, "a torch.Tensor batch of shape (batch, ...)", x, hint=hint)
    if not torch.is_floating_point(x):
        if model is not None and any(isinstance(m, (nn.Embedding, nn.EmbeddingBag))
                                     for m in model.modules()):
            raise InputError(argument, "a floating-point tensor in the embedding's output space "
                             "(batch, dims, positions): token ids are accepted only as the "
                             "Explainer's / NetViz's inputs (then also here)", x)
        raise InputError(argument, "a floating-point tensor (e.g. torch.float32)", x,
                         hint="Convert with x.float().")
    if x.dim() < 2:
        raise InputError(argument, "a batch with at least 2 dimensions (batch, features...)", x,
                         hint="Add a batch dimension with x.unsqueeze(0).")
    if x.shape[0] == 0:
        raise InputError(argument, "a non-empty batch", x)
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise InputError(argument, f"examples of shape {tuple(shape)}", x)
    if not torch.isfinite(x).all():
        raise InputError(argument, "finite values (no NaN or Inf)", x)
    if model is not None:
        device = next((p.device for p in model.parameters()), x.device)
        if device != x.device:
            raise InputError(argument, f"a tensor on the model's device {device}", x,
                             hint=f"Move it with x.to({str(device)!r}).")
    return x
