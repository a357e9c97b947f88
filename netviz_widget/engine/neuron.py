"""Drill-down into one unit: NeuronConductance of the inputs, top features, top examples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine.attribution import path_points
from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.interventions import Intervention, intervened, layer_activations
from netviz_widget.engine.snapshot import NeuronView


def neuron_conductance(graph: LayeredGraph, x: torch.Tensor, baseline: torch.Tensor,
                       target: torch.Tensor, n_steps: int, interventions: Sequence[Intervention],
                       layer: str, unit: int, method: str = "riemann_trapezoid") -> torch.Tensor:
    """Captum's NeuronConductance of the inputs for unit `unit` of `layer`.

    Σ_k step_k · Σ_{n ∈ unit} ∂F/∂y_n(α_k) · ∂y_n/∂x(α_k) · (x − baseline), where the unit's
    neurons are one feature, or every position of a conv channel. One vector-Jacobian
    product for the whole path (a channel is the sum of its positions' conductances).
    """
    batch = x.shape[0]
    scaled, _, steps = path_points(x, baseline, n_steps, method)
    scaled.requires_grad_(True)
    tap, at = graph.layer(layer).tap, graph.layer(layer).offset + unit  # the unit at the tap
    with evaluation_mode(graph.model), torch.enable_grad(), \
            intervened(graph, interventions, capture=[tap]) as store:
        output = graph.runner.run(scaled)
        hidden = store[tap]
        selected = output.gather(1, target.repeat(n_steps).unsqueeze(1)).sum()
        (g_hidden,) = torch.autograd.grad(selected, hidden, retain_graph=True)
        mask = torch.zeros_like(hidden)
        mask[:, at] = 1.0
        (g_input,) = torch.autograd.grad(hidden, scaled, grad_outputs=g_hidden * mask,
                                         allow_unused=True)
    if g_input is None:
        return torch.zeros_like(x)
    weights = torch.tensor(steps, dtype=x.dtype, device=x.device).reshape(-1, *[1] * x.dim())
    summed = (g_input.reshape(n_steps, batch, *x.shape[1:]) * weights).sum(0)
    return (summed * (x - baseline)).detach()


def neuron_view(graph: LayeredGraph, x: torch.Tensor, baseline: torch.Tensor,
                target: torch.Tensor, n_steps: int, interventions: Sequence[Intervention],
                reference: torch.Tensor, layer: str, unit: int, k: int) -> NeuronView:
    """Assemble the drill-down of one unit (see `Explainer.neuron`)."""
    scores = neuron_conductance(graph, x, baseline, target, n_steps, interventions, layer, unit)
    flat = scores.reshape(scores.shape[0], -1).abs()
    top_inputs = flat.topk(min(k, flat.shape[1]), dim=1).indices.cpu().numpy()
    acts = layer_activations(graph, reference, [layer], interventions)[layer]
    acts = acts[:, graph.layer(layer).offset + unit]
    acts = acts.reshape(acts.shape[0], -1).mean(1)
    order = acts.topk(min(k, acts.shape[0])).indices
    return NeuronView(layer, unit, scores.cpu().numpy(), top_inputs, order.cpu().numpy(),
                      acts[order].cpu().numpy().astype(np.float32))
