"""Unit-importance criteria for pruning hidden units (neurons, conv channels).

Every criterion scores each output unit of each hidden Linear / Conv2d layer (higher = keep) on a
reference batch `x` with labels `y`:

- ``random``: uniform noise (seeded);
- ``weight magnitude``: L2 norm of the unit's incoming weights (a conv filter);
- ``mean activation``: mean post-ReLU activation (over examples and positions);
- ``Taylor (logit)``: mean over examples of |Σ_positions a · ∂z_y/∂a| (first-order effect of
  removing the unit on the true-class logit; Molchanov et al. 2017 with the logit as objective);
- ``Taylor (loss)``: mean over mini-batches of (Σ_batch Σ_positions a · ∂L/∂a)², L the batch's mean
  cross-entropy (Molchanov et al. 2019's squared-gradient Taylor score, computed on held-out data
  so that the loss is not ≈ 0);
- ``LRP``: mean |relevance| of the unit toward the true class, Captum's `LayerLRP` with the z⁺ rule
  (`Alpha1_Beta0_Rule`) on every Linear / Conv2d layer (Yeom et al. 2021 prune by LRP relevance;
  Captum's default ε-rule with a tiny ε equals gradient × activation on ReLU networks, i.e. the
  Taylor (logit) score, so it would not be a separate baseline);
- ``conductance``: the tool's score, mean |layer conductance| toward the true class.

The model is never changed: hooks live only during a call and LRP runs on a copy.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from netviz_widget.engine.attribution import path_scores
from netviz_widget.engine.graph.layered import LayeredGraph

CRITERIA = ("random", "weight magnitude", "mean activation", "Taylor (logit)", "Taylor (loss)", "LRP",
            "conductance")


def hidden_layers(model: nn.Sequential) -> list[tuple[str, str]]:
    """(layer, activation) names of every Linear / Conv2d but the last, each with the ReLU after it."""
    names = [name for name, _ in model.named_children()]
    pairs = []
    for i, name in enumerate(names):
        if isinstance(getattr(model, name), (nn.Linear, nn.Conv2d)):
            relu = next((n for n in names[i + 1:] if isinstance(getattr(model, n), nn.ReLU)), None)
            following = [n for n in names[i + 1:] if isinstance(getattr(model, n), (nn.Linear, nn.Conv2d))]
            if relu is not None and following:
                pairs.append((name, relu))
    return pairs


def _per_unit(t: torch.Tensor) -> torch.Tensor:
    """(n, units, *positions) → (n, units), summed over positions."""
    return t.flatten(2).sum(2) if t.dim() > 2 else t


def _captured(model: nn.Sequential, x: torch.Tensor, relus: list[str]) -> tuple[torch.Tensor, dict]:
    stored: dict[str, torch.Tensor] = {}
    hooks = [getattr(model, r).register_forward_hook(lambda m, a, out, r=r: stored.__setitem__(r, out))
             for r in relus]
    try:
        logits = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return logits, stored


def taylor_scores(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor,
                  batch_size: int = 32) -> dict[str, dict[str, np.ndarray]]:
    """'mean activation', 'Taylor (logit)' and 'Taylor (loss)' per hidden layer."""
    pairs = hidden_layers(model)
    relus = [r for _, r in pairs]
    logits, acts = _captured(model, x, relus)
    grads = torch.autograd.grad(logits.gather(1, y.unsqueeze(1)).sum(), [acts[r] for r in relus])
    out: dict[str, dict[str, np.ndarray]] = {"mean activation": {}, "Taylor (logit)": {}}
    for (layer, relu), g in zip(pairs, grads):
        a = acts[relu].detach()
        out["mean activation"][layer] = _per_unit(a).mean(0).numpy() / max(1, a[0, 0].numel())
        out["Taylor (logit)"][layer] = _per_unit(a * g).abs().mean(0).numpy()
    out["Taylor (loss)"] = taylor_loss_scores(model, x, y, batch_size)
    return out


def taylor_loss_scores(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor,
                       batch_size: int = 32) -> dict[str, np.ndarray]:
    """'Taylor (loss)' per hidden layer: mean over mini-batches of `x` of (Σ a · ∂L/∂a)²."""
    pairs = hidden_layers(model)
    relus = [r for _, r in pairs]
    squared: dict[str, list[np.ndarray]] = {layer: [] for layer, _ in pairs}
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        logits, acts = _captured(model, xb, relus)
        loss = nn.functional.cross_entropy(logits, yb)
        grads = torch.autograd.grad(loss, [acts[r] for r in relus])
        for (layer, relu), g in zip(pairs, grads):
            squared[layer].append((_per_unit(acts[relu].detach() * g).sum(0) ** 2).numpy())
    return {layer: np.mean(values, axis=0) for layer, values in squared.items()}


class _NoFlatten(nn.Module):
    """The Sequential's layers without its Flatten modules (flattening done in `forward`), so
    that Captum's LRP, which needs a rule for every leaf module, accepts it."""

    def __init__(self, model: nn.Sequential) -> None:
        super().__init__()
        self.names = [n for n, m in model.named_children() if not isinstance(m, nn.Flatten)]
        children = list(model.named_children())
        self.flatten_before = {children[i + 1][0] for i, (_, module) in enumerate(children[:-1])
                               if isinstance(module, nn.Flatten)}
        self.layers = nn.ModuleDict({n: getattr(model, n) for n in self.names})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.names:
            if name in self.flatten_before:
                x = x.flatten(1)
            x = self.layers[name](x)
        return x


def lrp_scores(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
    """Mean |LRP-z⁺ relevance| (Captum `LayerLRP`) of each hidden unit toward `y`."""
    from captum.attr import LayerLRP
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule

    wrapped = _NoFlatten(copy.deepcopy(model)).eval()
    for module in wrapped.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            module.rule = Alpha1_Beta0_Rule()
    scores = {}
    for layer, _ in hidden_layers(model):
        relevance = LayerLRP(wrapped, wrapped.layers[layer]).attribute(x, target=y)
        scores[layer] = _per_unit(relevance.detach()).abs().mean(0).numpy()
    return scores


def layer_conductance(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_steps: int = 16) -> dict:
    """The tool's layer conductance of every unit toward `y` (zero baseline), without edge scores:
    layer → (n, units). Same numbers as `Explainer(...).snapshot().node_scores`."""
    graph = LayeredGraph.from_module(model, x[:1])
    return path_scores(graph, x, torch.zeros_like(x), y, n_steps, edges=False).node_scores


def unit_scores(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, seed: int,
                n_steps: int = 16, loss_reference: tuple[torch.Tensor, torch.Tensor] | None = None,
                ) -> dict[str, dict[str, np.ndarray]]:
    """criterion → layer → importance of each unit (higher = keep), on reference batch `x`, `y`;
    'Taylor (loss)' on `loss_reference` (images, labels) when given (Molchanov et al. 2019 score
    on a whole held-out split rather than on the small reference batch)."""
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        scores: dict[str, dict[str, np.ndarray]] = {c: {} for c in CRITERIA}
        scores.update(taylor_scores(model, x, y))
        if loss_reference is not None:
            scores["Taylor (loss)"] = taylor_loss_scores(model, *loss_reference)
        scores["LRP"] = lrp_scores(model, x, y)
        conductance = layer_conductance(model, x, y, n_steps)
        for layer, _ in hidden_layers(model):
            weight = getattr(model, layer).weight.detach()
            scores["random"][layer] = rng.random(weight.shape[0])
            scores["weight magnitude"][layer] = weight.flatten(1).norm(dim=1).numpy()
            scores["conductance"][layer] = np.abs(conductance[layer]).mean(0)
    finally:
        model.train(was_training)
    return scores


def prune_masks(model: nn.Sequential, scores: dict[str, np.ndarray],
                sparsity: float) -> dict[str, torch.Tensor]:
    """Parameter masks removing the `sparsity` fraction of lowest-scoring units of every scored
    layer (the unit's weights and bias: its output, hence its ReLU, is 0 for every input)."""
    masks = {}
    for layer, values in scores.items():
        module = getattr(model, layer)
        removed = torch.as_tensor(np.argsort(values, kind="stable")[:round(sparsity * len(values))],
                                  dtype=torch.long)
        keep = torch.ones(module.weight.shape[0], dtype=torch.bool)
        keep[removed] = False
        masks[f"{layer}.weight"] = keep.reshape(-1, *[1] * (module.weight.dim() - 1)).expand_as(module.weight)
        masks[f"{layer}.bias"] = keep.clone()
    return masks
