"""Attribution priors: find the input region a model leans on, then penalise attribution there.

- `find_region`: the location-free finder. It averages an attribution map over validation images
  (per pixel, each image's map normalised to sum 1, toward the predicted class) and flags the
  pixels whose mean share is an outlier of the map: robust z-score
  (value − median) / (1.4826 · MAD) above `z` (default 3.5, Iglewicz & Hoaglin's cut-off for the
  modified z-score, fixed before any run). No location, size or shape is given to it. The map is
  the tool's integrated gradients (zero baseline) by default, or the input gradient
  (|∂ logit / ∂x|, saliency; `method="gradient"`); the study records how both finders do.
- `ig_penalty`: squared integrated gradients of the true-class logit on a pixel mask, on the
  tool's integration path (`attribution.path_points`, Captum's Gauss–Legendre rule), differentiable
  in the weights (Erion et al. 2021's attribution prior with IG; the zero baseline).
- `eg_penalty`: the same prior with expected gradients (Erion et al. 2021's own attribution):
  one baseline per example drawn from the other images of the batch and one α ~ U(0, 1) per
  example, a single-sample estimate each training step as in their training.
- `input_gradient_penalty`: Ross et al. 2017's "right for the right reasons" term: squared input
  gradient of the summed log-probabilities on the mask.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from netviz_widget.engine.attribution import path_points, path_scores
from netviz_widget.engine.graph.layered import LayeredGraph


def input_gradient_penalty(model: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """RRR: mean over the batch of Σ_mask (∂ Σ_classes log p / ∂x)² (`mask` shaped like one input)."""
    x = x.clone().requires_grad_(True)
    log_probs = torch.log_softmax(model(x), dim=1).sum()
    (gradient,) = torch.autograd.grad(log_probs, x, create_graph=True)
    return (gradient.pow(2) * mask).flatten(1).sum(1).mean()


def ig_penalty(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
               n_steps: int = 4) -> torch.Tensor:
    """Mean over the batch of Σ_mask IG², IG of the `y` logit from a zero baseline with `n_steps`
    path points; differentiable in the model's weights."""
    path, _, steps = path_points(x, torch.zeros_like(x), n_steps)
    path = path.requires_grad_(True)
    selected = model(path).gather(1, y.repeat(n_steps).unsqueeze(1)).sum()
    (gradient,) = torch.autograd.grad(selected, path, create_graph=True)
    weights = torch.tensor(steps, dtype=x.dtype).reshape(-1, *[1] * x.dim())
    integrated = (gradient.reshape(n_steps, *x.shape) * weights).sum(0) * x
    return (integrated.pow(2) * mask).flatten(1).sum(1).mean()


def eg_penalty(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of Σ_mask EG², EG the one-sample expected gradients of the `y` logit:
    (x − x') · ∂f/∂x at x' + α (x − x'), x' another image of the batch (a random permutation), α ~ U(0, 1)
    (both from torch's global generator); differentiable in the model's weights."""
    baseline = x[torch.randperm(x.shape[0])]
    alpha = torch.rand(x.shape[0], *[1] * (x.dim() - 1), dtype=x.dtype)
    point = (baseline + alpha * (x - baseline)).requires_grad_(True)
    selected = model(point).gather(1, y.unsqueeze(1)).sum()
    (gradient,) = torch.autograd.grad(selected, point, create_graph=True)
    return ((gradient * (x - baseline)).pow(2) * mask).flatten(1).sum(1).mean()


def attribution_map(model: nn.Module, x: torch.Tensor, n_steps: int = 16,
                    method: str = "ig") -> np.ndarray:
    """Mean over `x` of each image's |attribution| share per input element (toward the predicted
    class), shaped like one input, summing to 1: the tool's integrated gradients (`"ig"`) or the
    input gradient (`"gradient"`)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            target = model(x).argmax(1)
        if method == "gradient":
            inputs = x.clone().requires_grad_(True)
            (gradient,) = torch.autograd.grad(model(inputs).gather(1, target.unsqueeze(1)).sum(), inputs)
            scores = gradient.abs().numpy()
        else:
            graph = LayeredGraph.from_module(model, x[:1])
            scores = np.abs(path_scores(graph, x, torch.zeros_like(x), target, n_steps,
                                        edges=False).input_scores)
    finally:
        model.train(was_training)
    flat = scores.reshape(scores.shape[0], -1)
    flat = flat / np.maximum(flat.sum(1, keepdims=True), 1e-12)
    return flat.mean(0).reshape(x.shape[1:])


def robust_z(values: np.ndarray) -> np.ndarray:
    """(values − median) / (1.4826 · MAD), elementwise (MAD floored to avoid division by zero)."""
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    return (values - median) / max(1.4826 * mad, 1e-12)


def find_region(model: nn.Module, x_val: torch.Tensor, z: float = 3.5, method: str = "ig",
                n_steps: int = 16) -> torch.Tensor:
    """Boolean mask (shaped like one input) of the elements whose mean attribution share on `x_val`
    is an outlier (robust z-score > `z`): where the model leans far more than on the rest."""
    share = attribution_map(model, x_val, n_steps, method)
    return torch.from_numpy(robust_z(share) > z)


def region_quality(found: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Size, precision, recall and IoU of a found mask against the true one."""
    found, truth = found.bool(), truth.bool()
    hits = int((found & truth).sum())
    union = int((found | truth).sum())
    return {"found_pixels": int(found.sum()), "precision": hits / max(int(found.sum()), 1),
            "recall": hits / max(int(truth.sum()), 1), "iou": hits / max(union, 1)}


def resample_region(x: torch.Tensor, mask: torch.Tensor, seed: int) -> torch.Tensor:
    """Copy of `x` whose `mask` elements come from other examples of `x` (a random permutation):
    the tool's resample intervention on input pixels, used to score a model without the region's
    information."""
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    return torch.where(mask, x[order], x)
