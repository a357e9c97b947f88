"""Unit→unit weight matrices for the view: Linear as is, conv and flatten groups reduced."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from netviz_widget.engine._recurrence import input_weight_matrix, layer_index


def signed_norm(weight: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """L2 norm over `dims`, carrying the sign of the sum over the same dims."""
    norm = weight.pow(2).sum(dim=dims).sqrt()
    return torch.where(weight.sum(dim=dims) < 0, -norm, norm)


def unit_weight(module: nn.Module, group: int = 1) -> np.ndarray:
    """The (out units, in units) weight matrix of a Linear or Conv module.

    Conv kernels are reduced by their signed L2 norm per (out, in) channel; grouped convs
    expand to a block-diagonal matrix. With `group > 1` (a Flatten before a Linear), each run
    of `group` input features belongs to one source channel and is reduced the same way.
    """
    weight = module.weight.detach().float().cpu()
    if isinstance(module, nn.Linear):
        if group > 1:
            out_features, in_features = weight.shape
            weight = signed_norm(weight.reshape(out_features, in_features // group, group), (2,))
        return weight.numpy().copy()
    reduced = signed_norm(weight, tuple(range(2, weight.dim())))
    groups = module.groups
    if groups == 1:
        return reduced.numpy().copy()
    out_channels, in_per_group = reduced.shape
    full = torch.zeros(out_channels, in_per_group * groups)
    out_per_group = out_channels // groups
    for g in range(groups):
        rows = slice(g * out_per_group, (g + 1) * out_per_group)
        full[rows, g * in_per_group:(g + 1) * in_per_group] = reduced[rows]
    return full.numpy()


def block_weight(model: nn.Module, block) -> np.ndarray:
    """The unit weight matrix of an edge block that has a module, from `model`'s current
    weights (an LSTM / GRU / RNN block: its layer's input→hidden matrix)."""
    module = model.get_submodule(block.module)
    if isinstance(module, nn.RNNBase):
        return input_weight_matrix(module, layer_index(block.dst) if module.num_layers > 1 else 0)
    return unit_weight(module, block.group)


def place_runs(weight: np.ndarray, runs: tuple[tuple[int, int, int], ...], n_src: int) -> np.ndarray:
    """The (dst, n_src) block of a (dst, consumer inputs) weight matrix: each (offset, start,
    length) run of the consumer's inputs moved to the source layer's units start..start+length."""
    block = np.zeros((weight.shape[0], n_src), dtype=np.float32)
    for offset, start, length in runs:
        block[:, start:start + length] += weight[:, offset:offset + length]
    return block
