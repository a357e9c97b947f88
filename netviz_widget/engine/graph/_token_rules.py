"""Token-wise units: tensors shaped (batch, positions, units) with the units on the last axis.

A Linear applied to (batch, positions, features) makes a token-wise layer: its units are its
output features, read on the last axis; the engine reads and edits them as (batch, units,
positions) through probes that move the axis (see `_probes._Probe`), so scores are summed and
activations averaged over positions exactly as for a Conv1d's channels. These helpers work out
where the unit axis goes through permutations, reductions and indexing.
"""

from __future__ import annotations

import torch
from torch import fx


def permutation(node: fx.Node, ndim: int) -> list[int] | None:
    """The dims of the input that a permute / transpose / swapaxes / movedim puts at each output
    position (None for other operations or arguments we cannot read)."""
    target = node.target
    args = list(node.args[1:])
    if target in ("permute", torch.permute):
        dims = args if node.op == "call_method" else args[0] if args else node.kwargs.get("dims")
        if node.op == "call_method" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            dims = args[0]
        if dims is None or not all(isinstance(d, int) for d in dims) or len(dims) != ndim:
            return None
        return [d % ndim for d in dims]
    if target in ("transpose", "swapaxes", "swapdims", torch.transpose, torch.swapaxes):
        if len(args) < 2 or not all(isinstance(a, int) for a in args[:2]):
            return None
        a, b = args[0] % ndim, args[1] % ndim
        order = list(range(ndim))
        order[a], order[b] = order[b], order[a]
        return order
    if target in ("movedim", torch.movedim):
        if len(args) < 2 or not all(isinstance(a, int) for a in args[:2]):
            return None
        source, destination = args[0] % ndim, args[1] % ndim
        order = [d for d in range(ndim) if d != source]
        order.insert(destination, source)
        return order
    return None


def moved_axis(node: fx.Node, ndim: int, unit_dim: int) -> int | None:
    """The Origin.axis (1 or -1) of the units after a permutation of a tensor whose units are at
    `unit_dim`; None when the batch leaves axis 0 or the units land elsewhere."""
    order = permutation(node, ndim)
    if order is None or order[0] != 0:
        return None
    position = order.index(unit_dim)
    if position == 1:
        return 1
    return -1 if position == ndim - 1 else None


def reduced_dims(node: fx.Node, ndim: int) -> set[int] | None:
    """The dims a reduction (mean, sum, amax, …) removes, or None when they are not given."""
    dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
    if isinstance(dims, int):
        return {dims % ndim}
    if isinstance(dims, (list, tuple)) and all(isinstance(d, int) for d in dims):
        return {d % ndim for d in dims}
    return None


def position_index(index: tuple, ndim: int) -> bool:
    """True for x[:, i] / x[:, i, :] on a (batch, positions, units) tensor: one position's
    units (e.g. the first token, or an RNN's last step)."""
    whole = slice(None)
    return (ndim == 3 and len(index) in (2, 3) and index[0] == whole
            and isinstance(index[1], int) and all(i == whole for i in index[2:]))
