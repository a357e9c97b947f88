"""Validation of Explainer arguments and results, with messages for people."""

from __future__ import annotations

import numpy as np
import torch

from .errors import InputError, ModelError


def positive_int(argument: str, value: object) -> int:
    """`value` as an int ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InputError(argument, "a positive integer", value)
    return int(value)


def baseline(value: object, inputs: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Resolve a baseline spec into a tensor shaped like `inputs`."""
    if value is None:
        return torch.zeros_like(inputs)
    if isinstance(value, str):
        if value != "mean":
            raise InputError("baseline", "None, 'mean' or a tensor", value)
        return reference.mean(0, keepdim=True).expand_as(inputs).clone()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = torch.full_like(inputs, float(value))
    if not isinstance(value, torch.Tensor):
        raise InputError("baseline", "None, 'mean', a number or a tensor", value)
    if tuple(value.shape) == tuple(inputs.shape[1:]):
        value = value.unsqueeze(0)
    if value.dim() != inputs.dim() or value.shape[0] not in (1, inputs.shape[0]) \
            or value.shape[1:] != inputs.shape[1:]:
        raise InputError("baseline", f"a tensor of shape {tuple(inputs.shape[1:])} or "
                         f"{tuple(inputs.shape)}", value)
    if not torch.isfinite(value).all():
        raise InputError("baseline", "finite values", value)
    return value.to(inputs.dtype).expand_as(inputs).clone()


def target(value: object, batch: int, n_classes: int, predicted: torch.Tensor) -> torch.Tensor:
    """Resolve a target spec (None, int, or one per input) into a (batch,) long tensor on the
    device of `predicted`."""
    return _target(value, batch, n_classes, predicted).to(predicted.device)


def _target(value: object, batch: int, n_classes: int, predicted: torch.Tensor) -> torch.Tensor:
    if value is None:
        return predicted.clone()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = [int(value)] * batch
    elif isinstance(value, (list, tuple, np.ndarray, torch.Tensor)):
        values = value.tolist() if hasattr(value, "tolist") else list(value)
        if len(values) != batch:
            raise InputError("target", f"one class index per input ({batch})", value)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise InputError("target", "integer class indices", value)
    else:
        raise InputError("target", "None, a class index or one per input", value)
    for v in values:
        if not 0 <= v < n_classes:
            raise InputError("target", f"class indices in [0, {n_classes})", v)
    return torch.tensor(values, dtype=torch.long)


def finite_output(logits: torch.Tensor, where: str) -> torch.Tensor:
    """Raise when `logits` hold NaN/Inf, saying which examples."""
    bad = ~torch.isfinite(logits).all(dim=1)
    if bad.any():
        rows = bad.nonzero()[:, 0].tolist()[:5]
        raise ModelError(where, "finite values", f"NaN/Inf for examples {rows}")
    return logits


def finite_scores(scores: object) -> None:
    """Raise when any score array holds NaN/Inf, saying which layer."""
    if not np.isfinite(scores.input_scores).all():
        raise ModelError("input scores", "finite values", "NaN/Inf",
                         hint="The model's gradients are not finite on the path.")
    for layer, values in scores.node_scores.items():
        if not np.isfinite(values).all():
            raise ModelError(f"scores of layer {layer!r}", "finite values", "NaN/Inf")
    for (src, dst), values in scores.edge_scores.items():
        if not np.isfinite(values).all():
            raise ModelError(f"edge scores {src}→{dst}", "finite values", "NaN/Inf")
