"""Attribution-guided pruning without fine-tuning (after Yeom et al., *Pruning by Explaining*).

An MLP 64-128-128-10 on scikit-learn's digits is trained per seed; each hidden layer loses a
fraction of its units in one shot, ranked on a small reference set (k examples per class) by:
random, weight norm, mean activation, |gradient|, Taylor (|activation × gradient|), layer
conductance (the tool's score: mean |conductance| toward the true class), and an oracle that
ablates each unit alone and measures the loss increase. Test accuracy, paired tests and rank
correlations with the oracle are reported, whatever they show.

    python -m netviz_widget.experiments.pruning --seeds 20 --out results/
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn
from tqdm.auto import tqdm

from .. import datasets
from .._calls import small_work_threads
from ..explainer import Explainer
from .common import experiment_parser, markdown_table, mean_std, paired_p, report

CRITERIA = ("random", "weight norm", "mean activation", "|gradient|", "Taylor", "conductance", "oracle")
HIDDEN = ("fc1", "fc2")
WIDTHS = (64, 128, 128, 10)


def reference_set(x: torch.Tensor, y: torch.Tensor, per_class: int,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`per_class` examples of every class, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.nonzero(y.numpy() == c)[0], per_class, replace=False)
                             for c in range(int(y.max()) + 1)])
    return x[chosen], y[chosen]


def _activations_and_gradients(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Per hidden layer: post-ReLU activations and ∂loss/∂activation, (n, units)."""
    stored = {}
    hooks = [getattr(model, f"relu{i}").register_forward_hook(
        lambda m, a, out, name=name: stored.__setitem__(name, out)) for i, name in enumerate(HIDDEN, 1)]
    try:
        loss = nn.functional.cross_entropy(model(x), y, reduction="sum")
        grads = torch.autograd.grad(loss, [stored[n] for n in HIDDEN])
    finally:
        for hook in hooks:
            hook.remove()
    return {n: (stored[n].detach(), g.detach()) for n, g in zip(HIDDEN, grads)}


def unit_scores(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, seed: int,
                n_steps: int = 16) -> dict[str, dict[str, np.ndarray]]:
    """criterion → layer → importance of each unit (higher = keep)."""
    rng = np.random.default_rng(seed)
    acts = _activations_and_gradients(model, x, y)
    snapshot = Explainer(model, x, target=y.tolist(), n_steps=n_steps).snapshot()
    with torch.no_grad():
        base_loss = float(nn.functional.cross_entropy(model(x), y))
    scores: dict[str, dict[str, np.ndarray]] = {c: {} for c in CRITERIA}
    for name in HIDDEN:
        a, g = acts[name]
        weight = getattr(model, name).weight.detach()
        scores["random"][name] = rng.random(a.shape[1])
        scores["weight norm"][name] = weight.norm(dim=1).numpy()
        scores["mean activation"][name] = a.abs().mean(0).numpy()
        scores["|gradient|"][name] = g.abs().mean(0).numpy()
        scores["Taylor"][name] = (a * g).abs().mean(0).numpy()
        scores["conductance"][name] = np.abs(snapshot.node_scores[name]).mean(0)
        oracle = np.zeros(a.shape[1])
        for unit in range(a.shape[1]):
            oracle[unit] = _loss_without(model, name, [unit], x, y) - base_loss
        scores["oracle"][name] = oracle
    return scores


def prune(model: nn.Sequential, layer: str, units: list[int]) -> nn.Sequential:
    """A copy of `model` with `units` of `layer` removed (incoming weights and bias zeroed,
    so the ReLU unit is 0 for every input; outgoing weights zeroed too)."""
    pruned = copy.deepcopy(model)
    index = torch.as_tensor(units, dtype=torch.long)
    with torch.no_grad():
        getattr(pruned, layer).weight[index] = 0.0
        getattr(pruned, layer).bias[index] = 0.0
        following = f"fc{int(layer[2:]) + 1}"
        getattr(pruned, following).weight[:, index] = 0.0
    return pruned


def _loss_without(model: nn.Sequential, layer: str, units: list[int], x: torch.Tensor,
                  y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(nn.functional.cross_entropy(prune(model, layer, units)(x), y))


def prune_by(model: nn.Sequential, scores: dict[str, np.ndarray], sparsity: float) -> nn.Sequential:
    """Remove the `sparsity` fraction of lowest-scoring units from every hidden layer."""
    pruned = model
    for name in HIDDEN:
        n_remove = round(sparsity * len(scores[name]))
        pruned = prune(pruned, name, np.argsort(scores[name], kind="stable")[:n_remove].tolist())
    return pruned


def run_seed(seed: int, per_class: tuple[int, ...], sparsities: tuple[float, ...],
             epochs: int = 40) -> list[dict]:
    """Train one model and evaluate every criterion at every reference size and sparsity."""
    data = datasets.load_digits_split()
    model = datasets.train_classifier(datasets.mlp(WIDTHS, seed=seed), data.x_train, data.y_train,
                                      epochs=epochs, seed=seed)
    dense = datasets.accuracy(model, data.x_test, data.y_test)
    runs = []
    for k in per_class:
        x_ref, y_ref = reference_set(data.x_train, data.y_train, k, seed)
        scores = unit_scores(model, x_ref, y_ref, seed)
        oracle = np.concatenate([scores["oracle"][n] for n in HIDDEN])
        for criterion in CRITERIA:
            flat = np.concatenate([scores[criterion][n] for n in HIDDEN])
            rho = float(spearmanr(flat, oracle).statistic) if criterion != "oracle" else 1.0
            for sparsity in sparsities:
                pruned = prune_by(model, scores[criterion], sparsity)
                runs.append({"seed": seed, "per_class": k, "criterion": criterion, "sparsity": sparsity,
                             "accuracy": datasets.accuracy(pruned, data.x_test, data.y_test),
                             "dense_accuracy": dense, "spearman_with_oracle": rho})
    return runs


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 20, per_class: tuple[int, ...] = (1, 5, 20),
        sparsities: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9), progress: bool = True) -> list[dict]:
    """Every seed (see `run_seed`)."""
    runs = []
    for seed in tqdm(range(seeds), disable=not progress, desc="seeds"):
        runs += run_seed(seed, per_class, sparsities)
    return runs


def summarise(runs: list[dict]) -> str:
    """Markdown tables: accuracy per criterion, paired tests of conductance vs each baseline,
    rank correlation with the oracle."""
    by = {}
    for r in runs:
        by.setdefault((r["per_class"], r["sparsity"], r["criterion"]), []).append(r)
    per_class = sorted({r["per_class"] for r in runs})
    sparsities = sorted({r["sparsity"] for r in runs})
    seeds = len({r["seed"] for r in runs})
    dense = mean_std([r["dense_accuracy"] for r in runs if r["criterion"] == "random"
                      and r["sparsity"] == sparsities[0] and r["per_class"] == per_class[0]])
    parts = [f"{seeds} seeds; dense test accuracy {dense}.", ""]
    for k in per_class:
        rows = []
        for criterion in CRITERIA:
            cells = [mean_std([r["accuracy"] for r in by[(k, s, criterion)]]) for s in sparsities]
            rho = np.mean([r["spearman_with_oracle"] for r in by[(k, sparsities[0], criterion)]])
            rows.append([criterion, *cells, f"{rho:.2f}"])
        parts.append(f"**Reference: {k} example(s) per class** — test accuracy (mean ± sd)")
        parts.append(markdown_table(["criterion", *[f"{int(100 * s)}% pruned" for s in sparsities],
                                     "Spearman ρ with oracle"], rows))
        tests = []
        for baseline in CRITERIA:
            if baseline == "conductance":
                continue
            cells = []
            for s in sparsities:
                a = [r["accuracy"] for r in sorted(by[(k, s, "conductance")], key=lambda r: r["seed"])]
                b = [r["accuracy"] for r in sorted(by[(k, s, baseline)], key=lambda r: r["seed"])]
                cells.append(f"{100 * (np.mean(a) - np.mean(b)):+.1f} pt (p={paired_p(a, b):.3g})")
            tests.append([f"conductance − {baseline}", *cells])
        parts.append("")
        parts.append(markdown_table(["paired (Wilcoxon)", *[f"{int(100 * s)}%" for s in sparsities]], tests))
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """CLI: run the experiment and write results/pruning.json and results/pruning.md."""
    parser = experiment_parser("pruning", __doc__, seeds=20)
    parser.add_argument("--per-class", type=int, nargs="+", default=[1, 5, 20])
    args = parser.parse_args(argv)
    runs = run(args.seeds, tuple(args.per_class))
    return report(args.out, "pruning", runs, summarise(runs),
                  {"seeds": args.seeds, "per_class": args.per_class, "widths": WIDTHS, "criteria": CRITERIA})


if __name__ == "__main__":
    raise SystemExit(main())
