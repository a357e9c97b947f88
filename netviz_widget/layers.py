"""Small layers NetViz draws exactly.

`TopK(k)`: a k-sparse activation (Makhzani & Frey 2013): per example, keep the k largest values
along the unit axis (axis 1) and set the rest to zero. It is registered as a unit-preserving
activation: the graph builders draw it as part of the layer before it (like nn.ReLU), the fx
tracer keeps it as one call, and attribution differentiates its own forward (the gradient flows
through the kept values only)."""

from __future__ import annotations

import torch
from torch import nn

from netviz_widget.engine.graph._ops import register_unit_wise_module
from netviz_widget.errors import InputError

__all__ = ["TopK"]


@register_unit_wise_module
class TopK(nn.Module):
    """Keep the `k` largest activations of each example along axis 1, zero the others.

    Exactly k are kept (ties broken by `torch.topk`); with k ≥ the number of units it is the
    identity. For inputs with positions (batch, units, ...), the top k units are chosen at each
    position."""

    def __init__(self, k: int) -> None:
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError("k", "a positive int (units kept per example)", k)
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] <= self.k:
            return x
        values, indices = x.topk(self.k, dim=1)
        return torch.zeros_like(x).scatter(1, indices, values)

    def extra_repr(self) -> str:
        return f"k={self.k}"
