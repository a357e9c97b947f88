"""Validation of Explainer arguments and results, with messages for people."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from netviz_widget.errors import InputError, ModelError

# The integration path has n_steps + 1 points per input in one batch: far beyond this, memory and
# time explode before any result (8000 steps spent minutes computing the quadrature alone).
MAX_STEPS = 1024


def positive_int(argument: str, value: object) -> int:
    """`value` as an int ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InputError(argument, "a positive integer", value)
    return int(value)


def n_steps(value: object) -> int:
    """`value` as an int in [1, MAX_STEPS]."""
    steps = positive_int("n_steps", value)
    if steps > MAX_STEPS:
        raise InputError("n_steps", f"a positive integer of at most {MAX_STEPS}", value,
                         hint="32–128 steps give a completeness gap well under 5% for these networks.")
    return steps


def supported_dtype(argument: str, x: object) -> None:
    """Refuse bfloat16 (numpy, where results go, has no bfloat16) with a clear message."""
    if isinstance(x, torch.Tensor) and x.dtype == torch.bfloat16:
        raise InputError(argument, "a float16, float32 or float64 tensor (numpy has no bfloat16)", x,
                         hint="Convert with x.float() (and the model with model.float()).")


def supported_model(model: nn.Module) -> None:
    """Refuse what the engine cannot compute faithfully: bfloat16 weights, and normalisation
    with batch statistics (the path batches many points, so they would mix)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and \
                (not module.track_running_stats or module.running_mean is None):
            raise ModelError("model", "normalisation with running statistics (BatchNorm with "
                             "track_running_stats=True)", f"{name or type(module).__name__!r} "
                             "normalising with batch statistics",
                             hint="Scores are computed on many path points in one batch; batch "
                             "statistics would mix them and change the outputs.")
    bf16 = next((n for n, t in [*model.named_parameters(), *model.named_buffers()]
                 if t.dtype == torch.bfloat16), None)
    if bf16 is not None:
        raise ModelError("model", "float16, float32 or float64 weights (numpy has no bfloat16)",
                         f"bfloat16 {bf16!r}", hint="Convert with model.float().")


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
        values = [int(v) if isinstance(v, np.integer) else v for v in values]
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
