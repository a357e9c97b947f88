"""Captum-exact scores for every unit and weight, from one batched pass over the path.

One forward pass over all points of the integration path (Captum's own
quadrature, `approximation`, the n_steps + 1 points that `LayerConductance` uses) records
every probe point; one `torch.autograd.grad` call takes the gradients of the target output
with respect to all of them. From those:

- **input scores**: integrated gradients, equal to Captum's `IntegratedGradients` with
  ``n_steps + 1`` steps on the same points;
- **node scores**: layer conductance of every unit layer, equal to Captum's
  `LayerConductance` (summed over positions for conv channels);
- **edge scores**: edge conductance
  ``e_ij = Σ_k ∂F/∂z_j(α_{k-1}) · w_ij · (x_i(α_k) − x_i(α_{k-1}))`` into the pre-activation
  ``z_j``, aggregated over positions and kernel taps for convolutions. It is a flow:
  ``Σ_j e_ij`` is the conductance of unit i (where i feeds only this block) and ``Σ_i e_ij``
  the conductance of ``z_j``.

Interventions are applied at every path point, so an ablated unit has zero conductance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from netviz_widget.engine import _attention_edges as attention_edges
from netviz_widget.engine._columns import place_columns
from netviz_widget.engine._recurrence import edge_conductance as recurrent_edges
from netviz_widget.engine.graph.layered import EdgeBlock, LayeredGraph
from netviz_widget.engine.interventions import Intervention, intervened
from netviz_widget.engine.kinds import per_unit
from netviz_widget.errors import ModelError

__all__ = ["PathScores", "path_scores"]


@dataclass
class PathScores:
    """Scores from one pass over the path, as float32 numpy arrays (batch first).

    Attributes:
        input_scores: integrated gradients, shaped like the inputs.
        node_scores: layer name → (batch, units) conductance.
        edge_scores: (src, dst) → (batch, dst units, src units) edge conductance; summed over
            the source units it is the conductance of the block's pre-activation.
        logits, baseline_logits: (batch, classes) outputs at the inputs and at the baseline.
        activations: layer name → (batch, units) activations at the inputs (conv: channel means).
    """

    input_scores: np.ndarray
    node_scores: dict[str, np.ndarray]
    edge_scores: dict[tuple[str, str], np.ndarray]
    logits: torch.Tensor
    baseline_logits: torch.Tensor
    activations: dict[str, np.ndarray]


@lru_cache(maxsize=64)
def approximation(method: str, n_points: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(alphas, step sizes) of Captum's integral approximation `method` ("gausslegendre",
    "riemann_left" / "_right" / "_middle" / "_trapezoid") with `n_points` points, computed as
    Captum computes them (tests/test_quadrature.py checks them against Captum's own)."""
    if method == "gausslegendre":
        points, weights = np.polynomial.legendre.leggauss(n_points)
        return tuple((0.5 * (1 + points)).tolist()), tuple((0.5 * weights).tolist())
    if method not in _RIEMANN or n_points < 2:
        raise ValueError(f"method: expected 'gausslegendre' or one of {sorted(_RIEMANN)} with at least "
                         f"2 points, got {method!r} with {n_points}")
    n = n_points
    steps = [1 / n] * n
    if method == "riemann_trapezoid":
        steps[0] /= 2
        steps[-1] /= 2
    start, stop = _RIEMANN[method](n)
    return tuple(torch.linspace(start, stop, n).tolist()), tuple(steps)


_RIEMANN = {
    "riemann_trapezoid": lambda n: (0, 1),
    "riemann_left": lambda n: (0, 1 - 1 / n),
    "riemann_middle": lambda n: (1 / (2 * n), 1 - 1 / (2 * n)),
    "riemann_right": lambda n: (1 / n, 1),
}


def path_points(x: torch.Tensor, baseline: torch.Tensor, n_points: int,
                method: str = "gausslegendre") -> tuple[torch.Tensor, tuple[float, ...], tuple[float, ...]]:
    """`n_points` inputs on the straight path from `baseline` to `x`, stacked alpha-major as
    Captum lays them out, with Captum's alphas and step sizes for `method`."""
    alphas, steps = approximation(method, n_points)
    alpha = torch.tensor(alphas, dtype=x.dtype, device=x.device).reshape(-1, 1, *[1] * (x.dim() - 1))
    scaled = (baseline.unsqueeze(0) + alpha * (x - baseline).unsqueeze(0)).reshape(-1, *x.shape[1:])
    return scaled, alphas, steps


def path_scores(graph: LayeredGraph, x: torch.Tensor, baseline: torch.Tensor,
                target: torch.Tensor, n_steps: int,
                interventions: Sequence[Intervention] = (),
                method: str = "gausslegendre", edges: bool = True, layers: bool = True) -> PathScores:
    """Input IG, every layer's conductance and every edge block's conductance in one pass.

    The caller puts the model in eval mode (see `Explainer`); `target` is a (batch,) long
    tensor of output indices. With `edges=False` the edge scores are skipped; with
    `layers=False` also the hidden layers' conductances and activations (input IG and the
    input layer's scores only: nothing is captured inside the model).
    """
    batch = x.shape[0]
    path, _, steps = path_points(x, baseline, n_steps + 1, method)
    rows = batch * (n_steps + 1)
    # the inputs and the baseline ride along in the same forward pass (no gradient needed)
    scaled = torch.cat([path, x, baseline]).requires_grad_(True)
    blocks = graph.blocks if edges and layers else []
    inputs = graph.input_layers  # one, or one per input (slices of the packed input)
    hidden = [layer for layer in graph.layers if layer.role != "input"] if layers else []
    keys = list(dict.fromkeys(
        [layer.tap for layer in hidden]
        + [key for block in blocks for key in (block.input_key, block.output_key, block.partner_key)
           if key is not None]
    ))
    with torch.enable_grad(), intervened(graph, interventions, capture=keys) as store:
        output = graph.runner.run(scaled)
        _check_output(output, rows + 2 * batch)
        selected = output[:rows].gather(1, target.repeat(n_steps + 1).unsqueeze(1)).sum()
        tensors = [store[key] for key in keys]
        grads = torch.autograd.grad(selected, [scaled, *tensors], allow_unused=True)
    output = output.detach()
    at_x = {key: tensor.detach()[rows:rows + batch] for key, tensor in zip(keys, tensors)}
    values = {key: tensor.detach()[:rows] for key, tensor in zip(keys, tensors)}
    gradients = {key: _zero_if_none(g, values[key])[:rows] for key, g in zip(keys, grads[1:])}
    input_grad = _zero_if_none(grads[0], scaled)[:rows]

    weights = torch.tensor(steps, dtype=x.dtype, device=x.device).reshape(-1, *[1] * x.dim())
    summed = (input_grad.reshape(n_steps + 1, *x.shape) * weights).sum(0)
    input_scores = summed * (x - baseline)

    node_scores = {}
    for layer in hidden:
        full = _conductance(values[layer.tap], gradients[layer.tap], batch, n_steps)
        node_scores[layer.name] = per_unit(full, layer.unit_axis).cpu().numpy()
    input_units = per_unit(input_scores, graph.input_layer.unit_axis).detach().cpu().numpy()
    for layer in inputs:
        node_scores[layer.name] = layer.own(input_units)

    edge_scores = {}
    for block in blocks:
        edges = _edge_conductance(graph, block, values, gradients, batch, n_steps)
        edge_scores[(block.src, block.dst)] = edges.cpu().numpy()
    input_activations = per_unit(x, graph.input_layer.unit_axis, "mean").detach().cpu().numpy()
    activations = {layer.name: layer.own(input_activations) for layer in inputs}
    activations.update({layer.name: per_unit(at_x[layer.tap], layer.unit_axis, "mean").detach().cpu().numpy()
                        for layer in hidden})
    return PathScores(input_scores.detach().cpu().numpy(), node_scores, edge_scores,
                      output[rows:rows + batch], output[rows + batch:], activations)


def _check_output(output: object, rows: int) -> None:
    if not isinstance(output, torch.Tensor) or output.dim() != 2 or output.shape[0] != rows:
        raise ModelError("model", "an output of shape (batch, classes)", output)


def _zero_if_none(gradient: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if gradient is None else gradient.detach()



def _conductance(value: torch.Tensor, gradient: torch.Tensor, batch: int, n_steps: int) -> torch.Tensor:
    """Captum's LayerConductance formula: Σ_k grad(α_{k-1}) · (a(α_k) − a(α_{k-1}))."""
    difference = value[batch:] - value[:-batch]
    product = difference * gradient[:-batch]
    return product.reshape(n_steps, batch, *value.shape[1:]).sum(0)


def _edge_conductance(graph: LayeredGraph, block: EdgeBlock, values: dict, gradients: dict,
                      batch: int, n_steps: int) -> torch.Tensor:
    """(batch, dst units, src units) edge conductance of one block.

    Identity (residual, concatenation) edges carry Σ_k ∂F/∂z(α_{k-1}) · Δa_k per unit; for a
    product z = a · g the exact split Δ(a g) = g(α_{k-1}) Δa + a(α_k) Δg gives the "gated"
    (main path) and "modulates" (gate) edges. Weighted edges are computed over the consumer's
    whole input and cut into the source layer's runs (see `EdgeBlock.ranges`).
    """
    if block.kind in attention_edges.KINDS:  # value / pattern / attends (engine/_attention_edges.py)
        return attention_edges.edge_conductance(graph, block, values, gradients, batch, n_steps)
    if block.kind == "recurrent":  # input→hidden weights of an unrolled LSTM / GRU / RNN
        layer = graph.runner.probes[graph.layer(block.dst).tap]
        edges = recurrent_edges(layer, values[block.input_key], gradients[block.output_key],
                                batch, n_steps)
        return place_columns(edges, block.ranges, graph.layer(block.src).n_units)
    x_in = values[block.input_key]
    dx = (x_in[batch:] - x_in[:-batch]).reshape(n_steps, batch, *x_in.shape[1:])
    g_z = gradients[block.output_key][:-batch]
    g_z = g_z.reshape(n_steps, batch, *g_z.shape[1:])
    n_src = graph.layer(block.src).n_units
    if block.module is None:
        product = dx * g_z
        if block.partner_key is not None:
            partner = values[block.partner_key]
            partner = partner[:-batch] if block.kind == "gated" else partner[batch:]
            product = product * partner.reshape(n_steps, batch, *partner.shape[1:])
        flow = product.reshape(n_steps, batch, product.shape[2], -1).sum(dim=(0, 3))
        return _place_diagonal(flow, block.ranges, n_src)
    module = graph.model.get_submodule(block.module)
    weight = module.weight.detach()
    if isinstance(module, nn.Linear):
        # token-wise Linear layers arrive as (…, units, positions): summed over positions
        edges = torch.einsum("kbop,kbfp->bof", g_z.reshape(*g_z.shape[:3], -1),
                             dx.reshape(*dx.shape[:3], -1)) * weight
        if block.group > 1:
            edges = edges.reshape(batch, edges.shape[1], -1, block.group).sum(-1)
    else:
        edges = _conv_edges(module, weight, dx, g_z, batch, n_steps)
    return place_columns(edges, block.ranges, n_src)


def _place_diagonal(flow: torch.Tensor, ranges: tuple, n_src: int) -> torch.Tensor:
    """(batch, dst, src) with flow[:, offset + i] at (offset + i, start + i) for each run."""
    if not ranges:
        return torch.diag_embed(flow)
    out = flow.new_zeros(flow.shape[0], flow.shape[1], n_src)
    for offset, start, length in ranges:
        rows = torch.arange(offset, offset + length, device=flow.device)
        cols = torch.arange(start, start + length, device=flow.device)
        out[:, rows, cols] += flow[:, rows]
    return out



_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _tuple(value: int | tuple, dims: int) -> list[int]:
    return list(value) if isinstance(value, (tuple, list)) else [value] * dims


def _conv_edges(module: nn.Module, weight: torch.Tensor, dx: torch.Tensor, g_z: torch.Tensor,
                batch: int, n_steps: int) -> torch.Tensor:
    """Per-example weight gradients (batch folded into the conv groups, so one conv and its
    backward cover every example and path step), times the weights, summed over kernel taps
    → (batch, out channels, in channels). Any padding (numbers, 'same', 'valid', non-zero
    padding modes), stride, dilation, groups; 1-d, 2-d and 3-d."""
    out_channels, in_per_group = weight.shape[:2]
    groups = module.groups
    dims = weight.dim() - 2
    dx_folded = dx.reshape(n_steps, batch * dx.shape[2], *dx.shape[3:])
    gz_folded = g_z.reshape(n_steps, batch * out_channels, *g_z.shape[3:])
    padding = module.padding
    if module.padding_mode != "zeros":
        dx_folded = F.pad(dx_folded, module._reversed_padding_repeated_twice, mode=module.padding_mode)
        padding = 0
    probe = weight.new_zeros(batch * out_channels, in_per_group, *weight.shape[2:])
    if isinstance(padding, str):  # 'same'/'valid': let F.conv work out the (maybe uneven) padding
        probe.requires_grad_(True)
        with torch.enable_grad():
            out = _CONV[dims](dx_folded, probe, None, module.stride, padding, module.dilation,
                              batch * groups)
            (per_example,) = torch.autograd.grad(out, probe, gz_folded)
    else:  # the weight gradient alone: the same kernel autograd calls, without the forward conv
        per_example = torch.ops.aten.convolution_backward(
            gz_folded, dx_folded, probe, None, _tuple(module.stride, dims), _tuple(padding, dims),
            _tuple(module.dilation, dims), False, [0] * dims, batch * groups,
            [False, True, False])[1]
    per_example = per_example.reshape(batch, out_channels, in_per_group, *weight.shape[2:])
    edges = (per_example * weight).reshape(batch, out_channels, in_per_group, -1).sum(-1)
    if groups == 1:
        return edges
    full = edges.new_zeros(batch, out_channels, in_per_group * groups)
    out_per_group = out_channels // groups
    for g in range(groups):
        rows = slice(g * out_per_group, (g + 1) * out_per_group)
        full[:, rows, g * in_per_group:(g + 1) * in_per_group] = edges[:, rows]
    return full
