"""Units that signal the model's own errors (issue 7, case 3; issue 16, study 3).

Fashion-MNIST (default; a 6,000-image training subset and 1,200 held-out test images per seed) or
the digits (split in half): one part trains the model, the held-out part is split again
into a *search* half (finds the units) and an *evaluation* half (scores them). For every hidden
unit, its activation and its layer conductance toward the predicted class (Explainer) are
features; the units whose feature best separates misclassified from correct search inputs
(|AUROC − 0.5|, top 5) feed a logistic regression, whose score on the evaluation half is compared
with the maximum-softmax-probability baseline (1 − max p) by AUROC at flagging errors, alone and
combined with it. Then the selected units are mean-ablated and scaled ×2 ("steered") to see what
they do to accuracy. Models: an MLP 784-64-32-10 on Fashion-MNIST (the digits MLP and CNN with
``--data digits``), each trained normally and under-trained. Means over seeds come with 95%
bootstrap intervals; each score is compared with max softmax, paired by seed, Holm-corrected.
Control: as many units drawn at random per seed, through the same fit and the same interventions.

    python -m studies.error_units --seeds 10 --out docs/results/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from torch import nn
from tqdm.auto import tqdm

from netviz_widget import datasets
from netviz_widget.engine._calls import small_work_threads
from netviz_widget.engine.explainer import Explainer
from studies.common import experiment_parser, markdown_table, report
from studies.protocol import bootstrap_ci, compare_arms, format_ci

TRAINING = {"trained": {"mlp": 40, "cnn": 25, "fashion-mlp": 8},
            "under-trained": {"mlp": 2, "cnn": 1, "fashion-mlp": 1}}
SCORES = ("max softmax", "units: activation", "units: conductance", "max softmax + units")
TOP_UNITS = 5
RANDOM = "random units: activation"
EFFECTS = ("accuracy change: ablate", "accuracy change: steer ×2")


def auroc(errors: np.ndarray, score: np.ndarray) -> float:
    """AUROC of `score` at flagging `errors` (NaN when only one class is present)."""
    errors = np.asarray(errors, dtype=bool)
    if errors.all() or not errors.any():
        return float("nan")
    return float(roc_auc_score(errors, score))


def unit_features(explainer: Explainer) -> tuple[dict[str, np.ndarray], list[tuple[str, int]]]:
    """(inputs, hidden units) activation and conductance matrices, and the (layer, unit) names."""
    snapshot = explainer.snapshot()
    hidden = [layer.name for layer in explainer.graph.layers[1:-1]]
    names = [(layer, unit) for layer in hidden for unit in range(snapshot.activations[layer].shape[1])]
    return ({"activation": np.hstack([snapshot.activations[layer] for layer in hidden]),
             "conductance": np.hstack([snapshot.node_scores[layer] for layer in hidden])}, names)


def separating_units(features: np.ndarray, errors: np.ndarray, top: int = TOP_UNITS) -> np.ndarray:
    """Columns of `features` whose values best separate errors (by |AUROC − 0.5|), best first."""
    strength = np.array([abs(auroc(errors, column) - 0.5) if np.ptp(column) > 0 else 0.0
                         for column in features.T])
    return np.argsort(-np.nan_to_num(strength), kind="stable")[:top]


def fitted_score(train: np.ndarray, errors: np.ndarray, test: np.ndarray) -> np.ndarray:
    """A logistic-regression error score fitted on `train` and applied to `test`."""
    scaler = StandardScaler().fit(train)
    model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")
    model.fit(scaler.transform(train), errors)
    return model.predict_proba(scaler.transform(test))[:, 1]


def _shape(kind: str, x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1, 1, 8, 8) if kind == "cnn" else x


@dataclass
class Half:
    """One half of the held-out digits: labels, errors, the baseline score and unit features."""

    explainer: Explainer
    y: np.ndarray
    errors: np.ndarray  # (n,) bool: misclassified
    softmax: np.ndarray  # (n, 1): 1 − max probability
    features: dict[str, np.ndarray]  # "activation" / "conductance" → (n, hidden units)
    names: list[tuple[str, int]]  # (layer, unit) of each feature column


def held_out_half(model: nn.Module, kind: str, x: torch.Tensor, y: torch.Tensor,
                  reference: torch.Tensor) -> Half:
    """Score `model` on one half: its errors, max-softmax baseline and unit features."""
    explainer = Explainer(model, _shape(kind, x), reference=_shape(kind, reference), n_steps=16)
    probabilities = explainer.snapshot().probabilities
    features, names = unit_features(explainer)
    return Half(explainer, y.numpy(), probabilities.argmax(1) != y.numpy(),
                1 - probabilities.max(1, keepdims=True), features, names)


def intervention_effects(half: Half, units: list[tuple[str, int]]) -> dict[str, float]:
    """Accuracy change on `half` when `units` are mean-ablated, and when they are scaled ×2."""
    def accuracy() -> float:
        return float((half.explainer.evaluate().argmax(1) == half.y).mean())
    base, effects = accuracy(), {}
    for label, mode, value in (("ablate", "mean", None), ("steer ×2", "scale", 2.0)):
        for layer in dict.fromkeys(layer for layer, _ in units):
            half.explainer.intervene(layer, [u for name, u in units if name == layer], mode, value=value)
        effects[f"accuracy change: {label}"] = accuracy() - base
        half.explainer.reset()
    return effects


def fashion_split(seed: int, n_train: int = 6000, n_held_out: int = 1200) -> datasets.Digits:
    """Flat Fashion-MNIST: a seeded training subset and a seeded held-out subset of the test set."""
    data = datasets.fashion_mnist()
    rng = np.random.default_rng(seed)
    train = torch.from_numpy(rng.choice(len(data.y_train), n_train, replace=False))
    held = torch.from_numpy(rng.choice(len(data.y_test), n_held_out, replace=False))
    return datasets.Digits(data.x_train[train].reshape(n_train, -1), data.y_train[train],
                           data.x_test[held].reshape(n_held_out, -1), data.y_test[held])


def run_one(kind: str, training: str, seed: int) -> dict:
    """One model: error-flagging AUROC of every score, and the effect of ablating/steering."""
    if kind == "fashion-mlp":
        data = fashion_split(seed)
        model = datasets.train_classifier(datasets.mlp((784, 64, 32, 10), seed=seed), data.x_train,
                                          data.y_train, epochs=TRAINING[training][kind], lr=2e-3, seed=seed)
    else:
        data = datasets.load_digits_split(test_fraction=0.5, seed=seed)
        model = datasets.mlp(seed=seed) if kind == "mlp" else datasets.cnn(seed=seed)
        model = datasets.train_classifier(model, _shape(kind, data.x_train), data.y_train,
                                          epochs=TRAINING[training][kind], seed=seed)
    order = np.random.default_rng(seed).permutation(len(data.y_test))
    search, evaluation = (held_out_half(model, kind, data.x_test[half], data.y_test[half], data.x_train)
                          for half in (order[: len(order) // 2], order[len(order) // 2:]))
    result = {"kind": kind, "training": training, "seed": seed,
              "accuracy": 1 - float(np.mean(np.concatenate([search.errors, evaluation.errors]))),
              "errors (evaluation half)": int(evaluation.errors.sum()),
              "max softmax": auroc(evaluation.errors, evaluation.softmax[:, 0])}
    if search.errors.all() or not search.errors.any():
        return {**result, **dict.fromkeys((*SCORES[1:], RANDOM, *EFFECTS), float("nan")), "units": [],
                **{f"random {key}": float("nan") for key in EFFECTS}}
    columns = {}
    for feature in ("activation", "conductance"):
        columns[feature] = separating_units(search.features[feature], search.errors)
        score = fitted_score(search.features[feature][:, columns[feature]], search.errors,
                             evaluation.features[feature][:, columns[feature]])
        result[f"units: {feature}"] = auroc(evaluation.errors, score)
    chosen = columns["activation"]
    combined = fitted_score(np.hstack([search.softmax, search.features["activation"][:, chosen]]),
                            search.errors,
                            np.hstack([evaluation.softmax, evaluation.features["activation"][:, chosen]]))
    result["max softmax + units"] = auroc(evaluation.errors, combined)
    units = [search.names[c] for c in chosen]
    result["units"] = [f"{layer}[{unit}]" for layer, unit in units]
    # the control: as many units drawn at random, through the same fit and the same interventions
    drawn = np.random.default_rng(10_000 + seed).choice(len(search.names), len(chosen), replace=False)
    result[RANDOM] = auroc(evaluation.errors, fitted_score(search.features["activation"][:, drawn],
                                                           search.errors,
                                                           evaluation.features["activation"][:, drawn]))
    random_units = [search.names[c] for c in drawn]
    result["random units"] = [f"{layer}[{unit}]" for layer, unit in random_units]
    control = {f"random {key}": value
               for key, value in intervention_effects(evaluation, random_units).items()}
    return {**result, **intervention_effects(evaluation, units), **control}


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, kinds: tuple[str, ...] = ("mlp", "cnn"),
        trainings: tuple[str, ...] = tuple(TRAINING), progress: bool = True) -> list[dict]:
    """Every architecture, training length and seed."""
    jobs = [(k, t, s) for k in kinds for t in trainings for s in range(seeds)]
    return [run_one(*job) for job in tqdm(jobs, disable=not progress, desc="models")]


def _ci(values: list[float]) -> str:
    kept = [v for v in values if not np.isnan(v)]
    return (format_ci(*bootstrap_ci(kept)) + ("" if len(kept) == len(values) else f" (n={len(kept)})")
            if kept else "—")


def summarise(runs: list[dict]) -> str:
    """Markdown: AUROC of each error score (mean [95% CI]) with its paired difference to max
    softmax (Holm over the three unit scores), and the effect of ablating/steering the units."""
    rows = []
    for kind in sorted({r["kind"] for r in runs}):
        for training in TRAINING:
            items = [r for r in runs if r["kind"] == kind and r["training"] == training]
            items = [r for r in items if not any(np.isnan(r[s]) for s in SCORES)]
            if not items:
                continue
            versus = {row.arm: row for row in compare_arms({s: [r[s] for r in items] for s in SCORES},
                                                           "max softmax")}
            cells = [_ci([r["max softmax"] for r in items])]
            for score in SCORES[1:]:
                row = versus[score]
                cells.append(f"{format_ci(row.mean, row.low, row.high)}; Δ {row.difference:+.3f} "
                             f"(p={row.p_holm:.2g})")
            rows.append([kind, training, str(len(items)), _ci([r["accuracy"] for r in items]),
                         f"{np.mean([r['errors (evaluation half)'] for r in items]):.1f}", *cells,
                         _ci([r["accuracy change: ablate"] for r in items]),
                         _ci([r["accuracy change: steer ×2"] for r in items])])
    return ("AUROC at flagging misclassified held-out inputs (evaluation half); mean [95% bootstrap CI] "
            "over seeds; Δ: paired difference to max softmax, Holm-corrected p.\n\n"
            + markdown_table(["model", "training", "seeds", "accuracy", "errors", "AUROC: max softmax",
                              *(f"AUROC: {s}" for s in SCORES[1:]), "accuracy change: ablate units",
                              "accuracy change: steer units ×2"], rows)
            + ("\n\n" + control_table(runs) if any(RANDOM in r for r in runs) else ""))


def control_table(runs: list[dict]) -> str:
    """Markdown: the searched units against as many random units (same fit, same interventions):
    each measure's mean [95% CI] for both, and their paired difference (Holm over the measures)."""
    measures = (("AUROC (activation units)", "units: activation", RANDOM),
                *((f"{key} (units)", key, f"random {key}") for key in EFFECTS))
    rows = []
    for kind in sorted({r["kind"] for r in runs}):
        for training in TRAINING:
            items = [r for r in runs if r["kind"] == kind and r["training"] == training and RANDOM in r
                     and not any(np.isnan(r[key]) for _, a, b in measures for key in (a, b))]
            if not items:
                continue
            differences = {label: [r[a] - r[b] for r in items] for label, a, b in measures}
            tests = {row.arm: row for row in compare_arms({"zero": [0.0] * len(items), **differences},
                                                          "zero")}
            for label, searched, drawn in measures:
                row = tests[label]
                rows.append([kind, training, str(len(items)), label, _ci([r[searched] for r in items]),
                             _ci([r[drawn] for r in items]),
                             f"{format_ci(row.mean, row.low, row.high)} (p={row.p_holm:.2g})"])
    return ("**Control: as many random units** (drawn per seed, same logistic regression on the search "
            "half, same interventions on the evaluation half); searched − random paired by seed, "
            "Holm-corrected over the three measures.\n\n"
            + markdown_table(["model", "training", "seeds", "measure", "searched units", "random units",
                              "searched − random [95% CI]"], rows))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the experiment and write results/error_units.json and .md."""
    parser = experiment_parser("error_units", __doc__, seeds=10)
    parser.add_argument("--data", choices=("fashion", "digits"), default="fashion")
    args = parser.parse_args(argv)
    runs = run(args.seeds, kinds=("fashion-mlp",) if args.data == "fashion" else ("mlp", "cnn"))
    return report(args.out, "error_units", runs, summarise(runs),
                  {"seeds": args.seeds, "data": args.data, "training_epochs": TRAINING,
                   "top_units": TOP_UNITS})


if __name__ == "__main__":
    raise SystemExit(main())
