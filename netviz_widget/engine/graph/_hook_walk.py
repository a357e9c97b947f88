"""Fallback graph builder for models torch.fx cannot trace: forward hooks in execution order.

Assumes a chain: each Linear/Conv reads the units of the unit layer that ran last before
it, and activation/normalisation/dropout modules right after a layer move its tap. Skip
connections cannot be seen this way (the caller warns).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from netviz_widget.engine._probes import INPUT_KEY, OUTPUT_EXPECTED, HookRunner, output_choice
from netviz_widget.engine.graph import _ops
from netviz_widget.engine.graph._refusals import refuse_module
from netviz_widget.engine.graph._weights import unit_weight
from netviz_widget.engine.graph.units import EdgeBlock, UnitLayer
from netviz_widget.errors import GraphError, ModelError


class _LogitsRunner(HookRunner):
    """A HookRunner that returns the input of the model's final softmax / sigmoid module (the
    logits) instead of the model's output; its hook exists only during `run`."""

    def __init__(self, model: nn.Module, final: str) -> None:
        super().__init__(model)
        self.final = self.modules[final]

    def run(self, x: torch.Tensor) -> torch.Tensor:
        seen: list[torch.Tensor] = []
        handle = self.final.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
        try:
            super().run(x)
        finally:
            handle.remove()
        return seen[-1]


def _check_leaves(model: nn.Module) -> None:
    """Refuse module families and unknown parametric modules before running anything."""
    for name, module in model.named_modules():
        reason = _ops.refusal(module)
        if reason is None and not list(module.children()) and _ops.has_own_parameters(module) \
                and not isinstance(module, _ops.PARAMETRIC) and not _ops.is_unit_wise_module(module):
            reason = "NetViz does not know what the units of this parametric module are"
        if reason is not None:
            raise refuse_module(name, module, reason, "explain the model from that module's "
                                "output on (wrap the rest of the network in its own module)")


def build(model: nn.Module, x: torch.Tensor) -> tuple[list[UnitLayer], list[EdgeBlock], HookRunner,
                                                      str | None]:
    """Run `model` once on `x` with recording hooks and build layers, blocks, runner and the
    final probability function left out of the output (or None)."""
    _check_leaves(model)
    calls: list[tuple[str, nn.Module, tuple[int, ...], tuple[int, ...]]] = []
    outputs: list[torch.Tensor] = []
    handles = []
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children()) and n]
    for name, module in leaves:
        def record(mod, args, output, name=name):
            if args and isinstance(args[0], torch.Tensor) and isinstance(output, torch.Tensor):
                calls.append((name, mod, tuple(args[0].shape), tuple(output.shape)))
                outputs.append(output)
        handles.append(module.register_forward_hook(record))
    try:
        result = model(x)
    except Exception as error:
        raise ModelError("model", "a forward pass that runs on the example input", error,
                         hint=f"The forward raised {type(error).__name__}: {error}") from error
    finally:
        for handle in handles:
            handle.remove()
    result = output_choice(result)
    if not isinstance(result, torch.Tensor):
        raise ModelError("model", OUTPUT_EXPECTED, result,
                         hint="Wrap the model so that forward returns the logits tensor.")

    layers = [UnitLayer("input", "input", "input", int(x.shape[1]), tuple(x.shape[1:]), INPUT_KEY)]
    blocks: list[EdgeBlock] = []
    current, last_module = layers[0], None
    for name, module, in_shape, out_shape in calls:
        if isinstance(module, _ops.PARAMETRIC):
            if out_shape[1] == 0:
                raise GraphError("model", "layers with at least one unit", f"{name!r} with 0 units")
            group = 1
            if isinstance(module, nn.Linear) and len(current.shape) > 1:
                group = int(np.prod(current.shape[1:]))
            if in_shape[1] != current.n_units * group:
                raise GraphError("model", f"{name!r} to read the units of {current.name!r}",
                                 f"{in_shape[1]} input features")
            unique = name if all(layer.name != name for layer in layers) else f"{name}@{len(layers)}"
            blocks.append(EdgeBlock(current.name, unique,
                                    "dense" if isinstance(module, nn.Linear) else "conv",
                                    unit_weight(module, group), name, f"{name}:in",
                                    f"{name}:out", group))
            current = UnitLayer(unique, _ops.kind_of(module), "hidden", int(out_shape[1]),
                                tuple(out_shape[1:]), f"{name}:out")
            layers.append(current)
            last_module = name
        elif (_ops.is_unit_wise_module(module) and last_module is not None
              and current.tap == f"{last_module}:out" and in_shape == out_shape):
            current = UnitLayer(current.name, current.kind, current.role, current.n_units,
                                current.shape, f"{name}:out")
            layers[-1] = current
            last_module = name
        else:
            last_module = None
    if len(layers) == 1:
        raise GraphError("model", "at least one Linear or Conv layer", "a model with none")
    last = layers[-1]
    layers[-1] = UnitLayer(last.name, last.kind, "output", last.n_units, last.shape, last.tap)
    final_name, final_module, *_ = calls[-1]
    activation = next((n for cls, n in _ops.FINAL_MODULES.items() if type(final_module) is cls), None)
    if activation is not None and outputs[-1] is result:
        if layers[-1].tap == f"{final_name}:out":  # the logits are read before the final function
            layers[-1] = UnitLayer(last.name, last.kind, "output", last.n_units, last.shape,
                                   f"{blocks[-1].module}:out")
        return layers, blocks, _LogitsRunner(model, final_name), activation
    return layers, blocks, HookRunner(model), None
