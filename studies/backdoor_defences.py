"""Backdoor defences for the blind study (`backdoor.py`): what a defender can do with the model
and a small clean validation set only, plus the detection baselines that need the training set.

- `reverse_triggers` / `anomaly_index` (Neural Cleanse, Wang et al. 2019): per class, the smallest
  mask-and-pattern that sends clean inputs to that class; a class whose mask is anomalously small
  (median-absolute-deviation index > 2) is flagged as the backdoor's target;
- `conductance_rise` / `select_prefix` (the tool): the Explainer's layer conductance toward the
  flagged class on clean inputs stamped with the reversed trigger minus on the same inputs clean;
  units are zeroed (Explainer interventions) in that order, and the prefix kept is the one that
  minimises the reversed trigger's success on validation within the clean-accuracy budget;
- `fine_tune`, `fine_prune` (Liu et al. 2018), `unlearn` (Neural Cleanse's mitigation);
- `activation_clustering` (Chen et al. 2018) and `spectral_signatures` (Tran et al. 2018): they
  inspect the (poisoned) training set, a different threat model, and only detect.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score, silhouette_score
from torch import nn

from netviz_widget.engine.explainer import Explainer
from netviz_widget.engine.interventions import Intervention, make_intervention

Shape = Callable[[torch.Tensor], torch.Tensor]


# ------------------------------------------------------------------ Neural Cleanse
@dataclass(frozen=True)
class Reversed:
    """A reverse-engineered trigger for one class: mask and pattern in [0, 1], (side, side)."""

    label: int
    mask: torch.Tensor
    pattern: torch.Tensor
    success: float  # share of validation inputs it sends to `label`

    @property
    def norm(self) -> float:
        """L1 norm of the mask (pixels it needs)."""
        return float(self.mask.sum())

    def stamp(self, x: torch.Tensor, side: int) -> torch.Tensor:
        """Flat inputs with this trigger applied: (1 − m)·x + m·p."""
        flat_mask, flat_pattern = self.mask.reshape(-1), self.pattern.reshape(-1)
        return ((1 - flat_mask) * x.reshape(len(x), side * side) + flat_mask * flat_pattern).reshape(x.shape)


@dataclass(frozen=True)
class CostSchedule:
    """Wang et al. 2019's dynamic weight of the mask's L1 cost: after `patience` consecutive steps
    with the stamped inputs' success at or above `threshold` the weight is multiplied by `up`, after
    `patience` steps below it divided by `up ** 1.5`; the mask kept is the smallest one met at or
    above the threshold (the last one if none reaches it). Their defaults: 0.99, 5, 1.5."""

    threshold: float = 0.99
    patience: int = 5
    up: float = 1.5


def reverse_trigger(model: nn.Module, shape: Shape, x: torch.Tensor, side: int, label: int,
                    steps: int = 200, weight: float = 0.01, seed: int = 0,
                    schedule: CostSchedule | None = None) -> Reversed:
    """The smallest mask (L1, weighted by `weight`) and pattern that send the flat clean inputs
    `x` to `label` (Adam, `steps` full-batch steps). With `schedule`, `weight` is only the starting
    weight and is adjusted as Neural Cleanse does (`CostSchedule`); without it (the study's
    default) it stays fixed. The model's parameters are not changed."""
    generator = torch.Generator().manual_seed(seed)
    mask_logit = (torch.randn(side, side, generator=generator) * 0.1 - 2.0).requires_grad_(True)
    pattern_logit = (torch.randn(side, side, generator=generator) * 0.1).requires_grad_(True)
    optimiser = torch.optim.Adam([mask_logit, pattern_logit], lr=0.1)
    target = torch.full((len(x),), label, dtype=torch.long)
    flags = [p.requires_grad for p in model.parameters()]
    training = model.training
    model.eval()
    best: tuple[float, torch.Tensor, torch.Tensor] | None = None
    above = below = 0
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        for _ in range(steps):
            mask, pattern = torch.sigmoid(mask_logit), torch.sigmoid(pattern_logit)
            stamped = (1 - mask.reshape(-1)) * x + mask.reshape(-1) * pattern.reshape(-1)
            logits = model(shape(stamped))
            loss = nn.functional.cross_entropy(logits, target) + weight * mask.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if schedule is not None:  # the success and norm of the mask this step used
                success = float((logits.argmax(1) == label).float().mean())
                norm = float(mask.detach().sum())
                if success >= schedule.threshold and (best is None or norm < best[0]):
                    best = (norm, mask.detach().clone(), pattern.detach().clone())
                above, below = (above + 1, 0) if success >= schedule.threshold else (0, below + 1)
                if above >= schedule.patience:
                    above, weight = 0, weight * schedule.up
                elif below >= schedule.patience:
                    below, weight = 0, weight / schedule.up ** 1.5
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(training)
    if best is None:
        best = (0.0, torch.sigmoid(mask_logit).detach(), torch.sigmoid(pattern_logit).detach())
    result = Reversed(label, best[1], best[2], 0.0)
    with torch.no_grad():
        success = float((model(shape(result.stamp(x, side))).argmax(1) == label).float().mean())
    return Reversed(label, result.mask, result.pattern, success)


def reverse_triggers(model: nn.Module, shape: Shape, x: torch.Tensor, side: int, n_classes: int,
                     steps: int = 120, weight: float = 0.01, seed: int = 0,
                     max_inputs: int = 256, schedule: CostSchedule | None = None) -> list[Reversed]:
    """`reverse_trigger` for every class, on the first `max_inputs` of `x`."""
    return [reverse_trigger(model, shape, x[:max_inputs], side, c, steps, weight, seed, schedule)
            for c in range(n_classes)]


def anomaly_index(norms: np.ndarray) -> np.ndarray:
    """Neural Cleanse's anomaly index of each value: (median − value) / (1.4826 · MAD); large
    positive values are anomalously small norms."""
    norms = np.asarray(norms, dtype=float)
    median = np.median(norms)
    mad = 1.4826 * np.median(np.abs(norms - median))
    return (median - norms) / max(mad, 1e-12)


# ------------------------------------------------------------------ the tool
def hidden_layers(explainer: Explainer) -> list[str]:
    """The names of the graph's hidden unit layers (not the input, not the logits)."""
    return [layer.name for layer in explainer.graph.layers[1:-1]]


def conductance_rise(model: nn.Module, shape: Shape, x_clean: torch.Tensor, x_stamped: torch.Tensor,
                     label: int, n_steps: int = 16) -> list[tuple[str, int, float]]:
    """Every hidden unit with the rise of its mean layer conductance toward `label` from clean to
    stamped inputs, largest first."""
    def mean_scores(x: torch.Tensor) -> tuple[list[str], dict[str, np.ndarray]]:
        explainer = Explainer(model, shape(x), target=label, n_steps=n_steps)
        snapshot = explainer.snapshot()
        layers = hidden_layers(explainer)
        return layers, {layer: snapshot.node_scores[layer].mean(0) for layer in layers}
    layers, clean = mean_scores(x_clean)
    _, stamped = mean_scores(x_stamped)
    ranked = [(layer, unit, float(stamped[layer][unit] - clean[layer][unit]))
              for layer in layers for unit in range(len(clean[layer]))]
    return sorted(ranked, key=lambda item: -item[2])


def zero_units(explainer: Explainer, units: list[tuple[str, int]]) -> list[Intervention]:
    """Zero interventions on `units` (grouped per layer) for `explainer`'s graph."""
    layers: dict[str, list[int]] = {}
    for layer, unit in units:
        layers.setdefault(layer, []).append(unit)
    return [make_intervention(explainer.graph, layer, chosen, "zero") for layer, chosen in layers.items()]


def predictions(explainer: Explainer, units: list[tuple[str, int]]) -> np.ndarray:
    """The explainer's predicted classes with `units` zeroed (the explainer is not changed)."""
    return explainer.evaluate(zero_units(explainer, units)).argmax(1)


def select_prefix(order: list[tuple[str, int]], clean: Explainer, y_clean: np.ndarray,
                  stamped: Explainer, label: int, budget: float,
                  limit: float = 0.5) -> tuple[list[tuple[str, int]], list[dict]]:
    """Greedy search down `order` (its first `limit` share): a unit joins the set when zeroing the
    set still costs at most `budget` of clean accuracy on `clean`, and is skipped otherwise. Of the
    sets met on the way, the one that minimises the share of `stamped` inputs classified `label`
    is kept (the smallest on ties). Also every accepted step's numbers."""
    base = float((predictions(clean, []) == y_clean).mean())
    best_success = float((predictions(stamped, []) == label).mean())
    best: list[tuple[str, int]] = []
    chosen: list[tuple[str, int]] = []
    trace = []
    for unit in order[:int(limit * len(order))]:
        trial = [*chosen, unit]
        accuracy = float((predictions(clean, trial) == y_clean).mean())
        if accuracy < base - budget:
            continue
        chosen = trial
        success = float((predictions(stamped, chosen) == label).mean())
        trace.append({"k": len(chosen), "accuracy": accuracy, "success": success})
        if success < best_success - 1e-12:
            best, best_success = list(chosen), success
    return best, trace


# ------------------------------------------------------------------ retraining defences
def fine_tune(model: nn.Module, shape: Shape, x: torch.Tensor, y: torch.Tensor, steps: int, seed: int,
              lr: float = 1e-3, batch_size: int = 64, frozen: dict[str, list[int]] | None = None,
              transform: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> nn.Module:
    """A copy of `model` fine-tuned on (x, y) for `steps` Adam steps; units in `frozen` (linear or
    conv module name → output units) stay zeroed; `transform(batch_x, batch_index)` edits inputs."""
    tuned = copy.deepcopy(model)
    modules = dict(tuned.named_modules())
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(tuned.parameters(), lr=lr)
        tuned.train()
        for _ in range(steps):
            batch = torch.randint(0, len(x), (min(batch_size, len(x)),))
            inputs = x[batch] if transform is None else transform(x[batch], batch)
            optimiser.zero_grad()
            nn.functional.cross_entropy(tuned(shape(inputs)), y[batch]).backward()
            optimiser.step()
            _zero_rows(modules, frozen or {})
    return tuned.eval()


def _zero_rows(modules: dict[str, nn.Module], units: dict[str, list[int]]) -> None:
    with torch.no_grad():
        for name, chosen in units.items():
            modules[name].weight[chosen] = 0.0
            if modules[name].bias is not None:
                modules[name].bias[chosen] = 0.0


def prune(model: nn.Module, units: dict[str, list[int]]) -> nn.Module:
    """A copy with `units` (module name → output units) removed: weights and bias zeroed."""
    pruned = copy.deepcopy(model)
    _zero_rows(dict(pruned.named_modules()), units)
    return pruned


def fine_prune(model: nn.Module, shape: Shape, layer: str, x: torch.Tensor, y: torch.Tensor,
               budget: float, steps: int, seed: int) -> tuple[nn.Module, int]:
    """Liu et al. 2018: prune `layer`'s units in increasing order of mean clean activation while
    validation accuracy stays within `budget`, then fine-tune on the clean set (pruned units stay
    removed). Returns the model and how many units were pruned."""
    explainer = Explainer(model, shape(x), n_steps=1)
    activation = explainer.snapshot().activations[layer].mean(0)
    order = [(layer, int(u)) for u in np.argsort(activation, kind="stable")]
    y_np = y.numpy()
    base = float((predictions(explainer, []) == y_np).mean())
    chosen: list[tuple[str, int]] = []
    for k in range(1, len(order)):
        if float((predictions(explainer, order[:k]) == y_np).mean()) < base - budget:
            break
        chosen = order[:k]
    frozen = {layer: [u for _, u in chosen]}
    return fine_tune(prune(model, frozen), shape, x, y, steps, seed, frozen=frozen), len(chosen)


def unlearn(model: nn.Module, shape: Shape, x: torch.Tensor, y: torch.Tensor, trigger: Reversed,
            side: int, steps: int, seed: int, share: float = 0.2) -> nn.Module:
    """Neural Cleanse's mitigation: fine-tune on the clean set with `share` of each batch stamped
    with the reversed trigger and kept at its true label."""
    def stamp_some(batch: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        chosen = (index * 2654435761 % 1000) < share * 1000  # a fixed share of the set, by index
        out = batch.clone()
        out[chosen] = trigger.stamp(batch[chosen], side)
        return out
    return fine_tune(model, shape, x, y, steps, seed, transform=stamp_some)


# ------------------------------------------------------------------ training-set detectors
def _hidden_features(model: nn.Module, shape: Shape, x: torch.Tensor) -> np.ndarray:
    explainer = Explainer(model, shape(x[:1]), n_steps=1)
    layer = hidden_layers(explainer)[-1]
    from netviz_widget.engine.interventions import layer_activations
    activation = layer_activations(explainer.graph, shape(x), [layer])[layer]
    return activation.reshape(len(x), -1).numpy().astype(np.float64)


def _auroc(truth: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(truth, score)) if 0 < truth.sum() < len(truth) else float("nan")


def training_set_detection(model: nn.Module, shape: Shape, x: torch.Tensor, y: torch.Tensor,
                           poisoned: np.ndarray, target: int, seed: int) -> dict[str, float]:
    """Activation clustering and spectral signatures on the last hidden layer, per label: the
    class each flags (largest silhouette of a 2-means split of the 10-D PCA projection; largest
    share of variance on the top singular direction) and, within the true target class, the
    AUROC of each method's per-sample score at finding the poisoned samples."""
    features = _hidden_features(model, shape, x)
    labels = y.numpy()
    silhouettes, spectral, scores = [], [], {}
    for label in range(int(labels.max()) + 1):
        rows = features[labels == label]
        reduced = PCA(min(10, rows.shape[1], len(rows) - 1), random_state=seed).fit_transform(rows)
        clusters = KMeans(2, n_init=3, random_state=seed).fit(reduced)
        silhouettes.append(silhouette_score(reduced, clusters.labels_, sample_size=min(300, len(rows)),
                                            random_state=seed) if len(set(clusters.labels_)) > 1 else 0.0)
        centred = rows - rows.mean(0)
        singular = np.linalg.svd(centred, full_matrices=False)
        spectral.append(singular[1][0] ** 2 / max((singular[1] ** 2).sum(), 1e-12))
        if label == target:
            small = np.argmin(np.bincount(clusters.labels_, minlength=2))
            scores["activation clustering"] = (clusters.labels_ == small).astype(float) + 1e-3 * \
                np.linalg.norm(reduced - clusters.cluster_centers_[1 - small], axis=1)
            scores["spectral signatures"] = (centred @ singular[2][0]) ** 2
    truth = poisoned[labels == target]
    return {"AC flags target": float(np.argmax(silhouettes) == target),
            "SS flags target": float(np.argmax(spectral) == target),
            "AC AUROC": _auroc(truth, scores["activation clustering"]),
            "SS AUROC": _auroc(truth, scores["spectral signatures"])}
