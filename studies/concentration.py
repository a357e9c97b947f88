"""Architecture for interpretability, measured (issue 16, study 4).

The digits MLP of the backdoor study, poisoned at 10% with the patch trigger (target drawn per
seed), trained six ways: ``plain`` (64-64-32-10), ``narrow`` (64-32-16-10), ``wide``
(64-128-64-10), ``L1 on activations`` (`L1_WEIGHT` × Σ hidden layers mean |activation|),
``dropout`` (`DROPOUT` after each hidden layer) and ``top-k`` (a k-sparse activation,
`netviz_widget.layers.TopK`, after each hidden ReLU keeping `TOPK_SHARE` of its units: 16 of 64
and 8 of 32). Hyper-parameters are fixed in advance, not tuned.
For each model, on test unless named:

- clean accuracy and attack success rate (ASR);
- **decision concentration**: per test digit, the fewest hidden units carrying 80% of the
  positive conductance toward its predicted class, as a share of the hidden units (mean);
- **backdoor occupancy**: the fewest hidden units carrying 80% of the rise of conductance toward
  the target from clean to triggered *validation* digits (measured with the real trigger), as a
  share of the hidden units;
- **blind removal**: the tool's method of the backdoor study (Neural Cleanse's suspect class,
  conductance-rise order, zero interventions, prefix chosen on validation within 2 points of
  validation accuracy) — test ASR and clean accuracy after it, and the share of units it takes
  for the reversed trigger to fail on 90% of validation digits.

    python -m studies.concentration --seeds 10 --out docs/results/
    python -m studies.concentration --variants top-k --merge --out docs/results/  # one arm, merged
"""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from netviz_widget import datasets
from netviz_widget.engine._calls import small_work_threads
from netviz_widget.engine.explainer import Explainer
from netviz_widget.layers import TopK
from studies import backdoor as bd
from studies import backdoor_defences as defences
from studies.common import experiment_parser, markdown_table, report
from studies.protocol import bootstrap_ci, compare_arms, format_ci

VARIANTS = {"plain": (64, 64, 32, 10), "narrow": (64, 32, 16, 10), "wide": (64, 128, 64, 10),
            "L1 on activations": (64, 64, 32, 10), "dropout": (64, 64, 32, 10),
            "top-k": (64, 64, 32, 10)}
L1_WEIGHT = 0.05
DROPOUT = 0.3
TOPK_SHARE = 0.25  # units kept per example by each hidden TopK (16 of 64, 8 of 32)
RATE = 0.1


def build(variant: str, seed: int) -> nn.Sequential:
    """The untrained MLP of `variant` (``dropout`` adds dropout after each hidden ReLU, ``top-k``
    a `TopK` keeping `TOPK_SHARE` of the layer's units)."""
    model = datasets.mlp(VARIANTS[variant], seed=seed)
    if variant not in ("dropout", "top-k"):
        return model
    layers: list[tuple[str, nn.Module]] = []
    width = 0
    for name, module in model.named_children():
        layers.append((name, module))
        width = module.out_features if isinstance(module, nn.Linear) else width
        if name.startswith("relu") and variant == "dropout":
            layers.append((name.replace("relu", "drop"), nn.Dropout(DROPOUT)))
        elif name.startswith("relu"):
            layers.append((name.replace("relu", "topk"), TopK(round(TOPK_SHARE * width))))
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


def units_carrying(contribution: np.ndarray, share: float = 0.8) -> int:
    """The fewest entries whose positive values sum to `share` of the positive total (0 if none)."""
    positive = np.sort(np.clip(np.asarray(contribution, dtype=float), 0, None))[::-1]
    if positive.sum() <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(positive) / positive.sum(), share - 1e-12) + 1)


def decision_concentration(model: nn.Module, x: torch.Tensor) -> float:
    """Mean over inputs of the share of hidden units carrying 80% of the positive conductance
    toward the predicted class."""
    explainer = Explainer(model, x, n_steps=16)
    snapshot = explainer.snapshot()
    scores = np.hstack([snapshot.node_scores[layer] for layer in defences.hidden_layers(explainer)])
    return float(np.mean([units_carrying(row) for row in scores]) / scores.shape[1])


def run_one(variant: str, seed: int, epochs: int = 30, nc_steps: int = 80) -> dict:
    """One poisoned model of `variant`: every measure."""
    task = bd.load_task("digits-mlp", seed)
    target, trigger = bd.target_of(seed), bd.trigger_function("patch", task.side)
    x, y, _ = bd.poison(task.x_train, task.y_train, RATE, target, trigger, seed)
    model = train(build(variant, seed), x, y, seed, L1_WEIGHT if variant == "L1 on activations" else 0.0,
                  epochs)
    keep_val = task.y_val != target
    occupancy_rise = defences.conductance_rise(model, task.shape, task.x_val[keep_val],
                                               trigger(task.x_val[keep_val]), target)
    n_units = len(occupancy_rise)
    reversed_ = defences.reverse_triggers(model, task.shape, task.x_val, task.side, 10, nc_steps, seed=seed)
    suspect = int(np.argmax(defences.anomaly_index([r.norm for r in reversed_])))
    stamped = reversed_[suspect].stamp(task.x_val, task.side)
    order = [(layer, unit) for layer, unit, _ in defences.conductance_rise(model, task.shape, task.x_val,
                                                                          stamped, suspect)]
    clean = Explainer(model, task.x_val, n_steps=1)
    stamped_view = Explainer(model, stamped, n_steps=1)
    chosen, _ = defences.select_prefix(order, clean, task.y_val.numpy(), stamped_view, suspect, bd.BUDGET)
    deep = bd.deep_prefix(order, stamped_view, suspect)
    result = {"variant": variant, "seed": seed, "hidden units": n_units, "target": target,
              "NC finds target": float(suspect == target),
              "clean accuracy": datasets.accuracy(model, task.x_test, task.y_test),
              "ASR": bd.attack_success_rate(model, task.shape, task.x_test, task.y_test, target, trigger),
              "decision units (share)": decision_concentration(model, task.x_test),
              "backdoor units (share)": units_carrying([r for _, _, r in occupancy_rise]) / n_units,
              "units to stop reversed trigger (share)": len(deep) / n_units}
    for label, units in (("tool at budget", chosen), ("tool until reversed trigger stops", deep)):
        layers: dict[str, list[int]] = {}
        for layer, unit in units:
            layers.setdefault(layer, []).append(unit)
        pruned = defences.prune(model, layers)
        result[f"ASR after {label}"] = bd.attack_success_rate(pruned, task.shape, task.x_test, task.y_test,
                                                              target, trigger)
        result[f"clean accuracy after {label}"] = datasets.accuracy(pruned, task.x_test, task.y_test)
    return result


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, variants: tuple[str, ...] = tuple(VARIANTS), progress: bool = True,
        **kwargs) -> list[dict]:
    """Every variant and seed."""
    jobs = [(v, s) for v in variants for s in range(seeds)]
    return [run_one(*job, **kwargs) for job in tqdm(jobs, disable=not progress, desc="models")]


COLUMNS = ("clean accuracy", "ASR", "decision units (share)", "backdoor units (share)",
           "units to stop reversed trigger (share)", "ASR after tool at budget",
           "clean accuracy after tool at budget", "ASR after tool until reversed trigger stops",
           "clean accuracy after tool until reversed trigger stops")


def summarise(runs: list[dict]) -> str:
    """Markdown: every measure per variant, mean [95% CI]; Holm-corrected paired p against plain."""
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in runs)]
    cells: dict[str, dict[str, str]] = {v: {} for v in variants}
    for column in COLUMNS:
        values = {v: [r[column] for r in runs if r["variant"] == v] for v in variants}
        rows = {row.arm: row for row in compare_arms(values, "plain")}
        for v in variants:
            if v == "plain":
                cells[v][column] = format_ci(*bootstrap_ci(values[v]))
            else:
                row = rows[v]
                cells[v][column] = f"{format_ci(row.mean, row.low, row.high)} (p={row.p_holm:.2g})"
    seeds = len({r["seed"] for r in runs})
    table_rows = [[v, *(cells[v][c] for c in COLUMNS)] for v in variants]
    return (f"{seeds} seeds per variant; digits MLPs with a 10% patch backdoor; mean [95% CI]; p: paired "
            "against plain, Holm over the variants.\n\n" + markdown_table(["variant", *COLUMNS], table_rows))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the comparison and write concentration.json and .md."""
    parser = experiment_parser("concentration", __doc__, seeds=10)
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=tuple(VARIANTS),
                        help="variants to run (all)")
    parser.add_argument("--merge", action="store_true", help="keep the other variants' runs of "
                        "<out>/concentration.json (unchanged) and replace these variants' runs")
    args = parser.parse_args(argv)
    runs = run(args.seeds, tuple(args.variants))
    config = {"seeds": args.seeds, "l1_weight": L1_WEIGHT, "dropout": DROPOUT, "rate": RATE,
              "topk_share": TOPK_SHARE, "variants": {k: list(v) for k, v in VARIANTS.items()}}
    if args.merge:
        saved = json.loads((args.out / "concentration.json").read_text())
        kept = [r for r in saved["runs"] if r["variant"] not in args.variants]
        runs = sorted(kept + runs, key=lambda r: list(VARIANTS).index(r["variant"]))
        config = {**saved["config"], **config, "seeds": saved["config"]["seeds"]}
    return report(args.out, "concentration", runs, summarise(runs), config)


if __name__ == "__main__":
    raise SystemExit(main())
