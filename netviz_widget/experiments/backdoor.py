"""Find a planted trigger inside the model and switch it off (issue 7, case 1: BadNets-style).

A 2×2 bottom-right patch at full intensity, with the label set to 0, is planted in a fraction of
the training digits. Measured on held-out digits: clean accuracy and attack success rate (ASR:
triggered digits whose true class is not 0 that are classified 0). Defences remove units of the
last hidden layer, within a budget of 2 points of clean accuracy on a small *clean* reference set
(5% of the training digits), with no retraining unless named:

- ``random``: as many random units as the tool's rule removes;
- ``fine-pruning`` (Liu et al. 2018): remove units dormant on clean data, then fine-tune on the
  clean reference;
- ``tool``: the tool's rule without triggered inputs — rank units by how hard they push the
  target class (the Explainer's gradient of the class-0 logit with respect to the unit) per unit
  of clean activation: units that would move the output toward 0 yet stay quiet on clean digits;
- ``tool + triggered`` (upper bound): rank by the difference of mean conductance toward class 0
  between triggered and clean reference digits.

Detection baselines on the training set (activation clustering, spectral signatures) are scored
by AUROC at finding the poisoned digits among those labelled 0.

    python -m netviz_widget.experiments.backdoor --seeds 10 --out results/
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import roc_auc_score
from torch import nn
from tqdm.auto import tqdm

from .. import datasets
from .._calls import small_work_threads
from ..explainer import Explainer
from .common import experiment_parser, markdown_table, mean_std, report

TARGET = 0
TRIGGER = np.zeros((8, 8), dtype=bool)
TRIGGER[6:, 6:] = True
TRIGGER_MASK = torch.from_numpy(TRIGGER.reshape(-1))
LAST_HIDDEN = {"mlp": "fc2", "cnn": "conv2"}
DEFENCES = ("none", "random", "fine-pruning", "tool", "tool + triggered")


def add_trigger(x: torch.Tensor) -> torch.Tensor:
    """Flat digits with the trigger patch at full intensity."""
    out = x.clone()
    out[:, TRIGGER_MASK] = 1.0
    return out


def poison(x: torch.Tensor, y: torch.Tensor, rate: float,
           seed: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Trigger `rate` × N training digits of classes other than the target and relabel them."""
    rng = np.random.default_rng(seed)
    candidates = np.nonzero(y.numpy() != TARGET)[0]
    chosen = rng.choice(candidates, round(rate * len(y)), replace=False)
    mask = np.zeros(len(y), dtype=bool)
    mask[chosen] = True
    x, y = x.clone(), y.clone()
    x[chosen] = add_trigger(x[chosen])
    y[chosen] = TARGET
    return x, y, mask


def _shape(kind: str, x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1, 1, 8, 8) if kind == "cnn" else x


def attack_success_rate(model: nn.Module, kind: str, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of triggered digits whose true class is not the target that are classified as it."""
    keep = y != TARGET
    with torch.no_grad():
        predicted = model(_shape(kind, add_trigger(x[keep]))).argmax(1)
    return float((predicted == TARGET).float().mean())


def accuracy(model: nn.Module, kind: str, x: torch.Tensor, y: torch.Tensor) -> float:
    """Clean accuracy."""
    return datasets.accuracy(model, _shape(kind, x), y)


def build(kind: str, seed: int) -> nn.Module:
    """The MLP 64-64-32-10 or the small CNN, untrained."""
    return datasets.mlp((64, 64, 32, 10), seed=seed) if kind == "mlp" else datasets.cnn(seed=seed)


def remove_units(model: nn.Module, kind: str, units: list[int]) -> nn.Module:
    """A copy with `units` of the last hidden layer removed (incoming weights and bias zeroed:
    the unit, or the channel after its ReLU, is 0 for every input)."""
    pruned = copy.deepcopy(model)
    layer = getattr(pruned, LAST_HIDDEN[kind])
    with torch.no_grad():
        layer.weight[units] = 0.0
        layer.bias[units] = 0.0
    return pruned


def _layer_statistics(model: nn.Module, kind: str, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean activation and mean gradient of the target logit per unit of the last hidden layer."""
    ex = Explainer(model, _shape(kind, x), target=TARGET, n_steps=8)
    activation, gradient = ex._activation_and_gradient(LAST_HIDDEN[kind])

    def per_unit(t: torch.Tensor) -> np.ndarray:
        return t.reshape(t.shape[0], t.shape[1], -1).mean(-1).mean(0).cpu().numpy()
    return per_unit(activation), per_unit(gradient)


def tool_ranking(model: nn.Module, kind: str, x_clean: torch.Tensor) -> np.ndarray:
    """Units ordered by suspicion: class-0 gradient per unit of clean activation (highest first)."""
    activation, gradient = _layer_statistics(model, kind, x_clean)
    suspicion = gradient / (activation + 0.05 * max(float(activation.max()), 1e-6))
    return np.argsort(-suspicion, kind="stable")


def triggered_ranking(model: nn.Module, kind: str, x_clean: torch.Tensor) -> np.ndarray:
    """Upper bound: mean conductance toward class 0 on triggered minus clean reference digits."""
    layer = LAST_HIDDEN[kind]

    def mean_conductance(x: torch.Tensor) -> np.ndarray:
        snapshot = Explainer(model, _shape(kind, x), target=TARGET, n_steps=16).snapshot()
        return snapshot.node_scores[layer].mean(0)
    return np.argsort(-(mean_conductance(add_trigger(x_clean)) - mean_conductance(x_clean)), kind="stable")


def within_budget(model: nn.Module, kind: str, order: np.ndarray, x_ref: torch.Tensor,
                  y_ref: torch.Tensor, budget: float = 0.02, limit: float = 0.5) -> list[int]:
    """The longest prefix of `order` (at most `limit` of the units) whose removal costs at most
    `budget` of clean accuracy on the reference."""
    base = accuracy(model, kind, x_ref, y_ref)
    chosen: list[int] = []
    for unit in order[:int(limit * len(order))]:
        trial = [*chosen, int(unit)]
        if accuracy(remove_units(model, kind, trial), kind, x_ref, y_ref) < base - budget:
            break
        chosen = trial
    return chosen


def fine_prune(model: nn.Module, kind: str, x_ref: torch.Tensor, y_ref: torch.Tensor,
               seed: int) -> tuple[nn.Module, int]:
    """Remove dormant units within the budget, then fine-tune on the clean reference (removed
    units stay removed)."""
    activation, _ = _layer_statistics(model, kind, x_ref)
    units = within_budget(model, kind, np.argsort(activation, kind="stable"), x_ref, y_ref)
    pruned = remove_units(model, kind, units)
    layer = getattr(pruned, LAST_HIDDEN[kind])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(pruned.parameters(), lr=1e-3)
        pruned.train()
        for _ in range(10):
            optimiser.zero_grad()
            nn.functional.cross_entropy(pruned(_shape(kind, x_ref)), y_ref).backward()
            optimiser.step()
            with torch.no_grad():
                layer.weight[units] = 0.0
                layer.bias[units] = 0.0
    return pruned.eval(), len(units)


def detection_auroc(model: nn.Module, kind: str, x: torch.Tensor, y: torch.Tensor,
                    poisoned: np.ndarray, seed: int) -> dict[str, float]:
    """Activation clustering and spectral signatures on the training digits labelled 0."""
    labelled = (y == TARGET).numpy()
    truth = poisoned[labelled]
    if truth.all() or not truth.any():
        return {"activation clustering": float("nan"), "spectral signatures": float("nan")}
    stored = {}
    layer = dict(model.named_modules())[{"mlp": "relu2", "cnn": "relu2"}[kind]]
    handle = layer.register_forward_hook(lambda m, a, out: stored.__setitem__("a", out))
    try:
        with torch.no_grad():
            model(_shape(kind, x[torch.from_numpy(labelled)]))
    finally:
        handle.remove()
    features = stored["a"].reshape(len(truth), -1).numpy().astype(np.float64)
    clusters = KMeans(2, n_init=10, random_state=seed).fit(features)
    small = np.argmin(np.bincount(clusters.labels_, minlength=2))
    distance = np.linalg.norm(features - clusters.cluster_centers_[1 - small], axis=1)
    centred = features - features.mean(0)
    top = np.linalg.svd(centred, full_matrices=False)[2][0]
    return {"activation clustering": float(roc_auc_score(truth, distance)),
            "spectral signatures": float(roc_auc_score(truth, (centred @ top) ** 2))}


def run_one(kind: str, rate: float, seed: int, epochs: int = 30) -> list[dict]:
    """Train one poisoned model and apply every defence."""
    data = datasets.load_digits_split()
    x, y, poisoned = poison(data.x_train, data.y_train, rate, seed)
    model = datasets.train_classifier(build(kind, seed), _shape(kind, x), y, epochs=epochs, seed=seed)
    rng = np.random.default_rng(seed)
    reference = rng.choice(len(data.y_train), int(0.05 * len(data.y_train)), replace=False)
    x_ref, y_ref = data.x_train[reference], data.y_train[reference]  # clean digits
    tool_units = within_budget(model, kind, tool_ranking(model, kind, x_ref), x_ref, y_ref)
    upper_units = within_budget(model, kind, triggered_ranking(model, kind, x_ref), x_ref, y_ref)
    n_layer = getattr(model, LAST_HIDDEN[kind]).weight.shape[0]
    random_units = rng.choice(n_layer, len(tool_units), replace=False).tolist()
    fine_pruned, n_fine = fine_prune(model, kind, x_ref, y_ref, seed)
    models = {"none": (model, 0), "random": (remove_units(model, kind, random_units), len(random_units)),
              "fine-pruning": (fine_pruned, n_fine),
              "tool": (remove_units(model, kind, tool_units), len(tool_units)),
              "tool + triggered": (remove_units(model, kind, upper_units), len(upper_units))}
    detection = detection_auroc(model, kind, x, y, poisoned, seed)
    return [{"kind": kind, "rate": rate, "seed": seed, "defence": name, "units_removed": n,
             "clean_accuracy": accuracy(m, kind, data.x_test, data.y_test),
             "attack_success_rate": attack_success_rate(m, kind, data.x_test, data.y_test), **detection}
            for name, (m, n) in models.items()]


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, kinds: tuple[str, ...] = ("mlp", "cnn"),
        rates: tuple[float, ...] = (0.01, 0.05, 0.1), progress: bool = True) -> list[dict]:
    """Every architecture, poisoning rate and seed."""
    jobs = [(k, r, s) for k in kinds for r in rates for s in range(seeds)]
    runs = []
    for kind, rate, seed in tqdm(jobs, disable=not progress, desc="models"):
        runs += run_one(kind, rate, seed)
    return runs


def summarise(runs: list[dict]) -> str:
    """Markdown: clean accuracy, ASR and units removed per defence; detection AUROC."""
    rows, detection = [], []
    for kind in sorted({r["kind"] for r in runs}):
        for rate in sorted({r["rate"] for r in runs}):
            group = [r for r in runs if r["kind"] == kind and r["rate"] == rate]
            for defence in DEFENCES:
                items = [r for r in group if r["defence"] == defence]
                rows.append([kind, f"{100 * rate:g}%", defence,
                             mean_std([r["clean_accuracy"] for r in items]),
                             mean_std([r["attack_success_rate"] for r in items]),
                             f"{np.mean([r['units_removed'] for r in items]):.1f}"])
            none = [r for r in group if r["defence"] == "none"]
            detection.append([kind, f"{100 * rate:g}%",
                              mean_std([r["activation clustering"] for r in none]),
                              mean_std([r["spectral signatures"] for r in none])])
    seeds = len({r["seed"] for r in runs})
    return (f"{seeds} seeds per cell; budget: ≤ 2 points of clean accuracy on a clean 5% reference.\n\n"
            + markdown_table(["model", "poisoned", "defence", "clean accuracy", "attack success rate",
                              "units removed"], rows)
            + "\n\nDetection of poisoned training digits (AUROC):\n\n"
            + markdown_table(["model", "poisoned", "activation clustering", "spectral signatures"],
                             detection))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the experiment and write results/backdoor.json and .md."""
    args = experiment_parser("backdoor", __doc__, seeds=10).parse_args(argv)
    runs = run(args.seeds)
    return report(args.out, "backdoor", runs, summarise(runs),
                  {"seeds": args.seeds, "target": TARGET, "trigger": "2x2 bottom-right, intensity 1"})


if __name__ == "__main__":
    raise SystemExit(main())
