"""Does training for interpretability make a planted trigger easier to find and remove? (issue 7)

The backdoor of case 1 (5% of training digits poisoned) is planted in models trained three ways:
``plain``, ``L1 on activations`` (a penalty on the mean |activation| of every hidden layer: sparse
codes) and ``dropout`` (after every hidden layer). For each model:

- **concentration**: how many units of the last hidden layer carry 80% of the trigger's
  conductance (mean conductance toward the target class on triggered test digits minus on the same
  digits clean, positive part), out of how many;
- **removal**: ASR and clean accuracy after removing exactly those units (needs triggered inputs:
  what an analyst with the trigger in hand can do), and after the clean-data tool rule of case 1
  within its 2-point budget.

    python -m netviz_widget.experiments.concentration --seeds 10 --out results/
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import datasets
from .._calls import small_work_threads
from ..explainer import Explainer
from . import backdoor as bd
from .common import experiment_parser, markdown_table, mean_std, report

REGULARISERS = ("plain", "L1 on activations", "dropout")
L1_WEIGHT = 0.1
DROPOUT = 0.3


def build(kind: str, seed: int, regulariser: str) -> nn.Sequential:
    """The case-1 MLP (64-64-32-10) or CNN; ``dropout`` adds dropout after each hidden layer."""
    model = bd.build(kind, seed)
    if regulariser != "dropout":
        return model
    layers: list[tuple[str, nn.Module]] = []
    for name, module in model.named_children():
        layers.append((name, module))
        if name in ("relu1", "relu2"):
            dropout = nn.Dropout(DROPOUT) if kind == "mlp" else nn.Dropout2d(DROPOUT)
            layers.append((name.replace("relu", "drop"), dropout))
    return nn.Sequential(OrderedDict(layers))


def train(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, seed: int, l1: float = 0.0,
          epochs: int = 30) -> nn.Sequential:
    """`datasets.train_classifier` plus `l1` × Σ_layers mean |activation| of the hidden ReLUs
    (captured by forward hooks, removed afterwards); returns the model in eval mode."""
    if not l1:
        return datasets.train_classifier(model, x, y, epochs=epochs, seed=seed)
    captured: list[torch.Tensor] = []
    relus = [m for name, m in model.named_children() if name.startswith("relu")]
    handles = [m.register_forward_hook(lambda _m, _a, out: captured.append(out)) for m in relus]

    def sparsity() -> torch.Tensor:
        term = l1 * sum(a.abs().mean() for a in captured)
        captured.clear()
        return term
    try:
        return datasets.train_classifier(model, x, y, epochs=epochs, seed=seed, penalty=sparsity)
    finally:
        for handle in handles:
            handle.remove()


def trigger_conductance(model: nn.Module, kind: str, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Per unit of the last hidden layer: mean conductance toward the target on triggered digits
    (true class not the target) minus on the same digits clean."""
    keep = y != bd.TARGET
    layer = bd.LAST_HIDDEN[kind]

    def mean_conductance(inputs: torch.Tensor) -> np.ndarray:
        explainer = Explainer(model, bd._shape(kind, inputs), target=bd.TARGET, n_steps=16)
        return explainer.snapshot().node_scores[layer].mean(0)
    return mean_conductance(bd.add_trigger(x[keep])) - mean_conductance(x[keep])


def units_carrying(contribution: np.ndarray, share: float = 0.8) -> list[int]:
    """The fewest units whose positive contributions sum to `share` of the positive total."""
    positive = np.clip(contribution, 0, None)
    if positive.sum() <= 0:
        return []
    order = np.argsort(-positive, kind="stable")
    cumulative = np.cumsum(positive[order]) / positive.sum()
    return order[: int(np.searchsorted(cumulative, share - 1e-12)) + 1].tolist()


def run_one(kind: str, regulariser: str, seed: int, rate: float = 0.05) -> dict:
    """One poisoned model: concentration of the trigger and the cost of removing it."""
    data = datasets.load_digits_split()
    x, y, _ = bd.poison(data.x_train, data.y_train, rate, seed)
    model = train(build(kind, seed, regulariser), bd._shape(kind, x), y, seed=seed,
                  l1=L1_WEIGHT if regulariser == "L1 on activations" else 0.0)
    rng = np.random.default_rng(seed)
    reference = rng.choice(len(data.y_train), int(0.05 * len(data.y_train)), replace=False)
    x_ref, y_ref = data.x_train[reference], data.y_train[reference]
    carriers = units_carrying(trigger_conductance(model, kind, data.x_test, data.y_test))
    tool_units = bd.within_budget(model, kind, bd.tool_ranking(model, kind, x_ref), x_ref, y_ref)
    without_carriers = bd.remove_units(model, kind, carriers)
    without_tool = bd.remove_units(model, kind, tool_units)
    test = (data.x_test, data.y_test)
    return {"kind": kind, "regulariser": regulariser, "seed": seed, "rate": rate,
            "layer units": int(getattr(model, bd.LAST_HIDDEN[kind]).weight.shape[0]),
            "clean accuracy": bd.accuracy(model, kind, *test),
            "ASR": bd.attack_success_rate(model, kind, *test),
            "units carrying 80%": len(carriers),
            "ASR without them": bd.attack_success_rate(without_carriers, kind, *test),
            "clean accuracy without them": bd.accuracy(without_carriers, kind, *test),
            "tool units": len(tool_units),
            "ASR after tool rule": bd.attack_success_rate(without_tool, kind, *test),
            "clean accuracy after tool rule": bd.accuracy(without_tool, kind, *test)}


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, kinds: tuple[str, ...] = ("mlp", "cnn"), progress: bool = True) -> list[dict]:
    """Every architecture, regulariser and seed."""
    jobs = [(k, r, s) for k in kinds for r in REGULARISERS for s in range(seeds)]
    return [run_one(*job) for job in tqdm(jobs, disable=not progress, desc="models")]


COLUMNS = ("clean accuracy", "ASR", "units carrying 80%", "ASR without them", "clean accuracy without them",
           "ASR after tool rule", "clean accuracy after tool rule")


def summarise(runs: list[dict]) -> str:
    """Markdown table per architecture and regulariser, mean ± std over seeds."""
    rows = []
    for kind in sorted({r["kind"] for r in runs}):
        for regulariser in REGULARISERS:
            items = [r for r in runs if r["kind"] == kind and r["regulariser"] == regulariser]
            if items:
                rows.append([kind, regulariser, *(mean_std([r[c] for r in items]) for c in COLUMNS),
                             str(items[0]["layer units"])])
    seeds = len({r["seed"] for r in runs})
    return (f"{seeds} seeds per row; 5% of training digits poisoned; last hidden layer.\n\n"
            + markdown_table(["model", "training", *COLUMNS, "layer units"], rows))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the comparison and write results/concentration.json and .md."""
    args = experiment_parser("concentration", __doc__, seeds=10).parse_args(argv)
    runs = run(args.seeds)
    return report(args.out, "concentration", runs, summarise(runs),
                  {"seeds": args.seeds, "l1_weight": L1_WEIGHT, "dropout": DROPOUT, "rate": 0.05})


if __name__ == "__main__":
    raise SystemExit(main())
