"""Reference values computed with Captum itself, for comparison with the fused engine."""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients, LayerConductance, LayerIntegratedGradients, NeuronConductance
from torch import nn


def tap_module(graph, layer_name: str) -> tuple[nn.Module, nn.Module]:
    """(forward module, layer module) to give Captum for a unit layer's tap: the user's own
    module where the tap is a module call, else the probe inside the traced copy."""
    tap = graph.layer(layer_name).tap
    for node in graph.runner.gm.graph.nodes:
        if node.name == tap and node.op == "call_module":
            return graph.model, graph.model.get_submodule(node.target)
    return graph.runner.gm, graph.runner.probes[tap]


def layer_conductance(graph, layer_name, x, target, n_steps):
    forward, module = tap_module(graph, layer_name)
    result = LayerConductance(forward, module).attribute(
        x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps)
    return result.detach().reshape(x.shape[0], result.shape[1], -1).sum(-1).numpy()


def module_conductance(model, module, x, target, n_steps):
    result = LayerConductance(model, module).attribute(
        x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps)
    return result.detach().reshape(x.shape[0], result.shape[1], -1).sum(-1).numpy()


def integrated_gradients(model, x, target, n_steps):
    return IntegratedGradients(model).attribute(
        x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps,
        method="gausslegendre").detach().numpy()


def neuron_conductance(model, module, x, selector, target, n_steps):
    return NeuronConductance(model, module).attribute(
        x, neuron_selector=selector, baselines=torch.zeros_like(x), target=target,
        n_steps=n_steps).detach().numpy()


def explainer_input_ig(model, ex, n_steps: int):
    """Captum's input IG for an Explainer's inputs from zero baselines: `LayerIntegratedGradients`
    on `model.embedding` (as (batch, dims, positions)) where the explainer reads token ids."""
    if ex.tokens is not None:
        return LayerIntegratedGradients(model, model.embedding).attribute(
            ex.tokens, baselines=torch.zeros_like(ex.tokens), target=ex.target,
            n_steps=n_steps, method="gausslegendre").detach().movedim(-1, 1).numpy()
    return integrated_gradients(model, ex.inputs, ex.target, n_steps)
