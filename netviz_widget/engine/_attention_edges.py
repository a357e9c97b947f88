"""Edge conductance into attention heads and patterns (see `graph/_attention_rules.py`).

With the path points α_0 … α_n (Captum's), Δ the change from α_{k-1} to α_k, x the stream
(the attention's input, (T, features) per example), Q, K, V its projections per head, S = Q Kᵀ/√d
the scores, A = softmax(S) the pattern and O = A V a head's output, every sum below runs over
k = 1 … n and is exact (no further approximation):

- ``value`` (stream feature f → head h): Σ_k Σ ∂F/∂O_h(α_{k-1}) · A_h(α_{k-1}) · Δx_f · W_v[h, :, f]
  — the part A(α_{k-1})·ΔV of ΔO = A(α_{k-1})·ΔV + ΔA·V(α_k), split over the features (V is
  linear in x: ΔV = Δx W_vᵀ);
- ``pattern`` (pattern h → head h): Σ_k Σ ∂F/∂O_h(α_{k-1}) · ΔA_h · V_h(α_k), the other part;
  so the value and pattern edges into a head add up to its conductance exactly;
- ``attends`` (stream feature f → pattern h): Σ_k Σ ∂F/∂S_h(α_{k-1}) · ΔS_h^(f), with
  ΔS = (ΔQ K(α_{k-1})ᵀ + Q(α_k) ΔKᵀ)/√d split over the features through W_q and W_k; they add
  up to the conductance of the scores S (the pattern's pre-activation, as the dense edges into
  a Linear layer add up to its pre-activation's conductance).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from netviz_widget.engine._columns import place_columns
from netviz_widget.engine.graph._attention_rules import block_weight
from netviz_widget.engine.graph._attention_trace import projection, projection_weight

KINDS = frozenset({"value", "pattern", "attends"})


def edge_conductance(graph, block, values: dict, gradients: dict, batch: int,
                     n_steps: int) -> torch.Tensor:
    """(batch, dst units, src units) edge conductance of a value / pattern / attends block."""
    with torch.no_grad():
        return _edges(graph, block, values, gradients, batch, n_steps)


def _edges(graph, block, values: dict, gradients: dict, batch: int, n_steps: int) -> torch.Tensor:
    mha = _attention_module(graph, block)
    h, d = mha.num_heads, mha.head_dim
    points = n_steps + 1

    def along(key: str, source: dict) -> torch.Tensor:
        tensor = source[key]
        return tensor.reshape(points, batch, *tensor.shape[1:])

    stream_key = block.partner_key if block.kind == "pattern" else block.input_key
    x = along(stream_key, values).movedim(2, -1)  # (points, batch, T, features)
    if block.kind == "pattern":
        pattern = along(block.input_key, values)
        v_next = projection(mha, x, 2)[1:]
        g_heads = along(block.output_key, gradients)[:-1]
        flow = torch.einsum("kbhts,kbhsj,kbhtj->bh", pattern[1:] - pattern[:-1], v_next, g_heads)
        return torch.diag_embed(flow)
    dx = x[1:] - x[:-1]
    if block.kind == "value":
        pattern = along(block.partner_key, values)[:-1]
        g_heads = along(block.output_key, gradients)[:-1]
        weight = _per_head(projection_weight(mha, 2)[0], h, d)
        reach = torch.einsum("kbhts,kbhtj->kbhsj", pattern, g_heads)  # what ΔV at key s moves
        edges = torch.einsum("kbse,kbhsj,hje->bhe", dx, reach, weight)
    else:  # attends
        g_scores = along(block.output_key, gradients)[:-1] / math.sqrt(d)
        q, k = projection(mha, x, 0), projection(mha, x, 1)
        g_q = torch.einsum("kbhts,kbhsj->kbhtj", g_scores, k[:-1])
        g_k = torch.einsum("kbhts,kbhtj->kbhsj", g_scores, q[1:])
        w_q, w_k = (_per_head(projection_weight(mha, i)[0], h, d) for i in (0, 1))
        edges = (torch.einsum("kbte,kbhtj,hje->bhe", dx, g_q, w_q)
                 + torch.einsum("kbse,kbhsj,hje->bhe", dx, g_k, w_k))
    return place_columns(edges.detach(), block.ranges, graph.layer(block.src).n_units)


def current_weight(graph, block) -> np.ndarray:
    """A value / pattern / attends block's weights as the model holds them now."""
    return block_weight(_attention_module(graph, block), block.kind, block.ranges,
                        graph.layer(block.src).n_units)


def _per_head(weight: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """(heads, head_dim, features) view of a (heads · head_dim, features) projection."""
    return weight.detach().reshape(heads, head_dim, -1)


def _attention_module(graph, block) -> torch.nn.MultiheadAttention:
    """The (live) nn.MultiheadAttention whose traced operation `block.output_key` is."""
    gm = graph.runner.gm
    node = next(n for n in gm.graph.nodes if n.name == block.output_key)
    return gm.get_submodule(node.args[0].target)

