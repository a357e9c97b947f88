"""Units that signal the model's own errors (issue 7, case 3).

The digits are split in half: one half trains the model, the other is held out and split again
into a *search* half (finds the units) and an *evaluation* half (scores them). For every hidden
unit, its activation and its layer conductance toward the predicted class (Explainer) are
features; the units whose feature best separates misclassified from correct search inputs
(|AUROC − 0.5|, top 5) feed a logistic regression, whose score on the evaluation half is compared
with the maximum-softmax-probability baseline (1 − max p) by AUROC at flagging errors, alone and
combined with it. Then the selected units are mean-ablated and scaled ×2 ("steered") to see what
they do to accuracy. Models: the digits MLP and CNN, each trained normally and under-trained.

    python -m netviz_widget.experiments.error_units --seeds 10 --out results/
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from .. import datasets
from ..explainer import Explainer
from .common import experiment_parser, markdown_table, mean_std, report

TRAINING = {"trained": {"mlp": 40, "cnn": 25}, "under-trained": {"mlp": 2, "cnn": 1}}
SCORES = ("max softmax", "units: activation", "units: conductance", "max softmax + units")
TOP_UNITS = 5


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


def run_one(kind: str, training: str, seed: int) -> dict:
    """One model: error-flagging AUROC of every score, and the effect of ablating/steering."""
    data = datasets.load_digits_split(test_fraction=0.5, seed=seed)
    model = datasets.mlp(seed=seed) if kind == "mlp" else datasets.cnn(seed=seed)
    model = datasets.train_classifier(model, _shape(kind, data.x_train), data.y_train,
                                      epochs=TRAINING[training][kind], seed=seed)
    order = np.random.default_rng(seed).permutation(len(data.y_test))
    halves = order[: len(order) // 2], order[len(order) // 2:]
    explainers, errors, softmax = [], [], []
    for half in halves:
        x, y = _shape(kind, data.x_test[half]), data.y_test[half].numpy()
        explainer = Explainer(model, x, reference=_shape(kind, data.x_train), n_steps=16)
        probabilities = explainer.snapshot().probabilities
        explainers.append(explainer)
        errors.append(probabilities.argmax(1) != y)
        softmax.append(1 - probabilities.max(1, keepdims=True))
    evaluation = explainers[1]
    features_search, features_eval = (unit_features(e) for e in explainers)
    names = features_search[1]
    result = {"kind": kind, "training": training, "seed": seed,
              "accuracy": 1 - float(np.mean(np.concatenate(errors))),
              "errors (evaluation half)": int(errors[1].sum()),
              "max softmax": auroc(errors[1], softmax[1][:, 0])}
    if errors[0].all() or not errors[0].any():
        return {**result, **dict.fromkeys(SCORES[1:], float("nan")), "units": [],
                "accuracy change: ablate": float("nan"), "accuracy change: steer ×2": float("nan")}
    for feature in ("activation", "conductance"):
        columns = separating_units(features_search[0][feature], errors[0])
        score = fitted_score(features_search[0][feature][:, columns], errors[0],
                             features_eval[0][feature][:, columns])
        result[f"units: {feature}"] = auroc(errors[1], score)
        if feature == "activation":
            chosen = [names[c] for c in columns]
            combined = fitted_score(np.hstack([softmax[0], features_search[0][feature][:, columns]]),
                                    errors[0],
                                    np.hstack([softmax[1], features_eval[0][feature][:, columns]]))
            result["max softmax + units"] = auroc(errors[1], combined)
    result["units"] = [f"{layer}[{unit}]" for layer, unit in chosen]
    y_eval = data.y_test[halves[1]].numpy()
    base = float((evaluation.evaluate().argmax(1) == y_eval).mean())
    for label, mode, value in (("ablate", "mean", None), ("steer ×2", "scale", 2.0)):
        for layer in dict.fromkeys(layer for layer, _ in chosen):
            evaluation.intervene(layer, [u for name, u in chosen if name == layer], mode, value=value)
        result[f"accuracy change: {label}"] = float((evaluation.evaluate().argmax(1) == y_eval).mean()) - base
        evaluation.reset()
    return result


def run(seeds: int = 10, kinds: tuple[str, ...] = ("mlp", "cnn"),
        trainings: tuple[str, ...] = tuple(TRAINING), progress: bool = True) -> list[dict]:
    """Every architecture, training length and seed."""
    torch.set_num_threads(2)
    jobs = [(k, t, s) for k in kinds for t in trainings for s in range(seeds)]
    return [run_one(*job) for job in tqdm(jobs, disable=not progress, desc="models")]


def _nan_mean_std(values: list[float]) -> str:
    kept = [v for v in values if not np.isnan(v)]
    return mean_std(kept) + ("" if len(kept) == len(values) else f" (n={len(kept)})") if kept else "—"


def summarise(runs: list[dict]) -> str:
    """Markdown table: AUROC of each error score and the effect of ablating/steering the units."""
    rows = []
    for kind in sorted({r["kind"] for r in runs}):
        for training in TRAINING:
            items = [r for r in runs if r["kind"] == kind and r["training"] == training]
            if not items:
                continue
            rows.append([kind, training, mean_std([r["accuracy"] for r in items]),
                         f"{np.mean([r['errors (evaluation half)'] for r in items]):.1f}",
                         *(_nan_mean_std([r[s] for r in items]) for s in SCORES),
                         _nan_mean_std([r["accuracy change: ablate"] for r in items]),
                         _nan_mean_std([r["accuracy change: steer ×2"] for r in items])])
    seeds = len({r["seed"] for r in runs})
    return (f"{seeds} seeds per row; AUROC at flagging misclassified held-out digits (evaluation half).\n\n"
            + markdown_table(["model", "training", "accuracy", "errors", *(f"AUROC: {s}" for s in SCORES),
                              "accuracy change: ablate units", "accuracy change: steer units ×2"], rows))


def main(argv: list[str] | None = None) -> int:
    """CLI: run the experiment and write results/error_units.json and .md."""
    args = experiment_parser("error_units", __doc__, seeds=10).parse_args(argv)
    runs = run(args.seeds)
    return report(args.out, "error_units", runs, summarise(runs),
                  {"seeds": args.seeds, "training_epochs": TRAINING, "top_units": TOP_UNITS})


if __name__ == "__main__":
    raise SystemExit(main())
