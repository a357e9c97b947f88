"""Where an edge block's columns go: a consumer's inputs cut into its source layers' units."""

from __future__ import annotations

import torch

__all__ = ["place_columns"]


def place_columns(edges: torch.Tensor, ranges: tuple, n_src: int) -> torch.Tensor:
    """(batch, dst, src) from (batch, dst, consumer inputs): each run's columns moved to the
    source layer's units (`EdgeBlock.ranges`: (offset, start, length) runs; none: as they are)."""
    if not ranges:
        return edges
    out = edges.new_zeros(edges.shape[0], edges.shape[1], n_src)
    for offset, start, length in ranges:
        out[:, :, start:start + length] += edges[:, :, offset:offset + length]
    return out
