"""A proxy for a protected attribute inside a loan model, found and switched off (issue 7, case 2).

A generated loan task: approval truly depends on four legitimate features (income, debt, credit
history, years employed), but the *historical* labels the model learns from also penalise one
group (a protected attribute, ``group``), and two features (``postcode``, ``spending``) are
proxies of the group with no legitimate role. An MLP trained on the history learns the penalty.

Variants, all measured on held-out applicants against the *fair* labels (the legitimate signal)
and between groups:

- ``none``: the model as trained;
- ``drop column``: retrained without the ``group`` column (the proxies still carry it);
- ``random``: as many random hidden units mean-ablated as the tool's rule removes;
- ``tool``: the tool's rule on an audit set with group labels (no fair labels): rank hidden units
  by the difference of their mean layer conductance toward "approve" between the groups; of the
  units whose difference is at least 10% of the largest (at most a quarter of the hidden units),
  mean-ablate (Explainer interventions) the prefix that minimises the audit set's
  demographic-parity gap;
- ``drop column + tool``: the same rule on the model trained without the column;
- ``fair labels``: a model trained on the fair labels, the reference that is not available in
  practice.

Metrics: accuracy against fair and historical labels, demographic-parity gap (difference of
approval rates between groups), equalised-odds gap against the fair labels (the larger of the
true- and false-positive-rate differences), and the share of integrated-gradients attribution
(|IG|, approve logit, zero baseline = the population mean) on the group column and on the group
and its proxies together.

    python -m netviz_widget.experiments.bias --seeds 10 --out results/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import datasets
from .._calls import small_work_threads
from ..explainer import Explainer
from ..interventions import Intervention, make_intervention
from .common import experiment_parser, markdown_table, mean_std, report

FEATURES = ("income", "debt", "credit history", "years employed", "postcode", "spending", "group")
GROUP = FEATURES.index("group")
PROXIES = (FEATURES.index("postcode"), FEATURES.index("spending"))
APPROVE = 1
HIDDEN = ("fc1", "fc2")
VARIANTS = ("none", "drop column", "random", "tool", "drop column + tool", "fair labels")


@dataclass(frozen=True)
class Loans:
    """Applicants: standardised features, historical and fair labels, group membership."""

    x: torch.Tensor  # (n, 7) float32, standardised
    y_history: torch.Tensor  # (n,) int64: what past decisions were (biased)
    y_fair: torch.Tensor  # (n,) int64: what the legitimate features alone decide
    group: np.ndarray  # (n,) 0/1

    def rows(self, index: np.ndarray | slice) -> Loans:
        """The applicants at `index`."""
        return Loans(self.x[index], self.y_history[index], self.y_fair[index], self.group[index])

    def without_group(self) -> torch.Tensor:
        """The features with the group column dropped."""
        keep = [i for i in range(self.x.shape[1]) if i != GROUP]
        return self.x[:, keep]


def make_loans(n: int, seed: int, penalty: float = 1.5, proxy_noise: float = 0.5) -> Loans:
    """Generate `n` applicants. History approves when the legitimate score plus noise, minus
    `penalty` for group 1 (plus `penalty`/2 offset so both labels are balanced), is positive;
    the fair label is the same without the penalty. Proxies are the group plus Gaussian noise of
    standard deviation `proxy_noise` (postcode) and twice that (spending)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    legitimate = rng.normal(size=(n, 4))
    score = legitimate @ np.array([1.0, -0.8, 0.6, 0.4]) + rng.normal(scale=0.5, size=n)
    postcode = group + rng.normal(scale=proxy_noise, size=n)
    spending = group + rng.normal(scale=2 * proxy_noise, size=n)
    raw = np.column_stack([legitimate, postcode, spending, group.astype(float)])
    x = (raw - raw.mean(0)) / raw.std(0)
    y_fair = (score > 0).astype(np.int64)
    y_history = (score - penalty * (group - 0.5) > 0).astype(np.int64)
    return Loans(torch.tensor(x, dtype=torch.float32), torch.from_numpy(y_history),
                 torch.from_numpy(y_fair), group)


# ------------------------------------------------------------------ metrics (pure, numpy)
def demographic_parity_gap(approved: np.ndarray, group: np.ndarray) -> float:
    """|P(approved | group 0) − P(approved | group 1)|."""
    approved, group = np.asarray(approved, dtype=float), np.asarray(group)
    return float(abs(approved[group == 0].mean() - approved[group == 1].mean()))


def equalised_odds_gap(approved: np.ndarray, truth: np.ndarray, group: np.ndarray) -> float:
    """The larger of the between-group differences in true-positive and false-positive rates."""
    approved, truth, group = (np.asarray(a) for a in (approved, truth, group))
    gaps = []
    for label in (1, 0):  # TPR, then FPR
        rates = [approved[(group == g) & (truth == label)].astype(float).mean() for g in (0, 1)]
        gaps.append(abs(rates[0] - rates[1]))
    return float(max(gaps))


def attribution_share(scores: np.ndarray, columns: tuple[int, ...]) -> float:
    """Share of the total |attribution| (summed over inputs) that falls on `columns`."""
    magnitude = np.abs(np.asarray(scores, dtype=float))
    total = magnitude.sum()
    return float(magnitude[:, list(columns)].sum() / total) if total > 0 else 0.0


# ------------------------------------------------------------------ the tool's rule
def group_gap_ranking(model: nn.Module, x_audit: torch.Tensor,
                      group: np.ndarray) -> list[tuple[str, int, float]]:
    """Hidden units ranked by |mean conductance toward approve in group 0 − in group 1|."""
    snapshot = Explainer(model, x_audit, target=APPROVE, n_steps=16).snapshot()
    ranked = []
    for layer in HIDDEN:
        scores = snapshot.node_scores[layer]
        gap = scores[group == 0].mean(0) - scores[group == 1].mean(0)
        ranked += [(layer, unit, float(g)) for unit, g in enumerate(gap)]
    return sorted(ranked, key=lambda item: -abs(item[2]))


def by_layer(units: list[tuple[str, int]]) -> dict[str, list[int]]:
    """(layer, unit) pairs grouped by layer, units sorted."""
    grouped: dict[str, list[int]] = {}
    for layer, unit in units:
        grouped.setdefault(layer, []).append(unit)
    return {layer: sorted(chosen) for layer, chosen in grouped.items()}


def mean_ablations(explainer: Explainer, units: list[tuple[str, int]]) -> list[Intervention]:
    """Mean ablation (over the explainer's reference) of `units`, one intervention per layer."""
    return [make_intervention(explainer.graph, layer, chosen, "mean", reference=explainer.reference)
            for layer, chosen in by_layer(units).items()]


def approvals(explainer: Explainer, units: list[tuple[str, int]]) -> np.ndarray:
    """0/1 decisions of the explainer's model on its inputs with `units` mean-ablated."""
    return explainer.evaluate(mean_ablations(explainer, units)).argmax(1)


def choose_units(model: nn.Module, audit: Loans, x_audit: torch.Tensor, limit: float = 0.25,
                 relative_gap: float = 0.1) -> list[tuple[str, int]]:
    """Candidates: units whose conductance gap is at least `relative_gap` of the largest (at most
    `limit` of the hidden units). Chosen: the prefix of the candidates whose mean ablation gives
    the smallest demographic-parity gap on the audit set (ties: fewer units). Units without a
    group gap are never candidates: ablating them could close the gap only by breaking the model
    (approving everyone or no one)."""
    ranking = group_gap_ranking(model, x_audit, audit.group)
    largest = abs(ranking[0][2])
    candidates = [item for item in ranking[:int(limit * len(ranking))]
                  if abs(item[2]) >= relative_gap * largest]
    explainer = Explainer(model, x_audit, target=APPROVE, reference=x_audit)
    best, best_gap = [], demographic_parity_gap(approvals(explainer, []), audit.group)
    for k in range(1, len(candidates) + 1):
        units = [(layer, unit) for layer, unit, _ in candidates[:k]]
        gap = demographic_parity_gap(approvals(explainer, units), audit.group)
        if gap < best_gap - 1e-9:
            best, best_gap = units, gap
    return best


# ------------------------------------------------------------------ one seed
def build(n_features: int, seed: int) -> nn.Sequential:
    """MLP n_features-32-16-2."""
    return datasets.mlp((n_features, 32, 16, 2), seed=seed)


def measure(model: nn.Module, x: torch.Tensor, test: Loans, x_reference: torch.Tensor,
            units: list[tuple[str, int]], columns: dict[str, tuple[int, ...]]) -> dict:
    """Every metric of one variant on the test applicants."""
    explainer = Explainer(model, x, target=APPROVE, reference=x_reference, n_steps=16)
    for layer, chosen in by_layer(units).items():
        explainer.intervene(layer, chosen, "mean")
    snapshot = explainer.snapshot()
    approved = snapshot.logits.argmax(1)
    ig = snapshot.input_scores
    return {"accuracy (fair labels)": float((approved == test.y_fair.numpy()).mean()),
            "accuracy (historical labels)": float((approved == test.y_history.numpy()).mean()),
            "demographic parity gap": demographic_parity_gap(approved, test.group),
            "equalised odds gap": equalised_odds_gap(approved, test.y_fair.numpy(), test.group),
            "IG share: group": attribution_share(ig, columns["group"]) if columns["group"] else float("nan"),
            "IG share: group + proxies": attribution_share(ig, columns["group + proxies"]),
            "units removed": len(units)}


def run_one(seed: int, n_train: int = 4000, n_audit: int = 1000, n_test: int = 2000,
            epochs: int = 30) -> list[dict]:
    """Train the models of one seed and measure every variant."""
    loans = make_loans(n_train + n_audit + n_test, seed)
    train = loans.rows(slice(0, n_train))
    audit = loans.rows(slice(n_train, n_train + n_audit))
    test = loans.rows(slice(n_train + n_audit, None))
    full = datasets.train_classifier(build(7, seed), train.x, train.y_history, epochs=epochs, seed=seed)
    dropped = datasets.train_classifier(build(6, seed), train.without_group(), train.y_history,
                                        epochs=epochs, seed=seed)
    fair = datasets.train_classifier(build(7, seed), train.x, train.y_fair, epochs=epochs, seed=seed)
    tool_units = choose_units(full, audit, audit.x)
    dropped_units = choose_units(dropped, audit, audit.without_group())
    hidden = [(layer, unit) for layer, width in zip(HIDDEN, (32, 16)) for unit in range(width)]
    rng = np.random.default_rng(seed)
    random_units = [hidden[i] for i in rng.choice(len(hidden), len(tool_units), replace=False)]
    with_column = {"group": (GROUP,), "group + proxies": (*PROXIES, GROUP)}
    without_column = {"group": (), "group + proxies": PROXIES}  # the proxies keep their indices
    variants = {
        "none": (full, test.x, audit.x, [], with_column),
        "drop column": (dropped, test.without_group(), audit.without_group(), [], without_column),
        "random": (full, test.x, audit.x, random_units, with_column),
        "tool": (full, test.x, audit.x, tool_units, with_column),
        "drop column + tool": (dropped, test.without_group(), audit.without_group(), dropped_units,
                               without_column),
        "fair labels": (fair, test.x, audit.x, [], with_column),
    }
    sizes = {"n_train": n_train, "n_audit": n_audit, "n_test": n_test}
    return [{"seed": seed, "variant": name, **sizes, **measure(model, x, test, x_ref, units, columns)}
            for name, (model, x, x_ref, units, columns) in variants.items()]


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, progress: bool = True, **kwargs) -> list[dict]:
    """Every seed."""
    runs = []
    for seed in tqdm(range(seeds), disable=not progress, desc="seeds"):
        runs += run_one(seed, **kwargs)
    return runs


METRICS = ("accuracy (fair labels)", "accuracy (historical labels)", "demographic parity gap",
           "equalised odds gap", "IG share: group", "IG share: group + proxies")


def summarise(runs: list[dict]) -> str:
    """Markdown table: every metric per variant, mean ± std over seeds."""
    rows = []
    for variant in VARIANTS:
        items = [r for r in runs if r["variant"] == variant]
        cells = []
        for metric in METRICS:
            values = [r[metric] for r in items]
            cells.append("—" if np.isnan(values).all() else mean_std(values))
        rows.append([variant, *cells, f"{np.mean([r['units removed'] for r in items]):.1f}"])
    seeds = len({r["seed"] for r in runs})
    first = runs[0]
    return (f"{seeds} seeds; {first['n_train']} training, {first['n_audit']} audit and {first['n_test']} "
            "test applicants per seed.\n\n"
            + markdown_table(["variant", *METRICS, "units removed"], rows))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the experiment and write results/bias.json and .md."""
    args = experiment_parser("bias", __doc__, seeds=10).parse_args(argv)
    runs = run(args.seeds)
    return report(args.out, "bias", runs, summarise(runs),
                  {"seeds": args.seeds, "features": FEATURES, "penalty": 1.5, "proxy_noise": 0.5})


if __name__ == "__main__":
    raise SystemExit(main())
