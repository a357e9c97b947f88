"""An attribution prior against a shortcut (after Ross et al., *Right for the Right Reasons*).

Decoy digits: a 2×2 patch in a corner whose intensity encodes the label in training and is
random at test time. Compared, over seeds: plain training, weight decay, dropout, an
input-gradient penalty on the patch (RRR), an integrated-gradients penalty on the patch
computed on the tool's integration path (`attribution.path_points`, Captum's rule), and an
oracle trained without the patch. Reported: test accuracy with random patches and the share of
|IG| the patch receives, whatever they show.

    python -m netviz_widget.experiments.attribution_prior --seeds 10 --out results/
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import datasets
from .._calls import small_work_threads
from ..attribution import path_points
from ..explainer import Explainer
from .common import experiment_parser, markdown_table, mean_std, paired_p, report

METHODS = ("plain", "weight decay", "dropout", "input-gradient penalty", "IG penalty", "oracle (no patch)")
PATCH = np.zeros((8, 8), dtype=bool)
PATCH[:2, :2] = True
PATCH_MASK = torch.from_numpy(PATCH.reshape(-1))


def add_patch(x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Copy of flat digits `x` with the corner patch set to `values` (one per image)."""
    out = x.clone()
    out[:, PATCH_MASK] = values.unsqueeze(1)
    return out


def decoy_data(seed: int) -> dict[str, torch.Tensor]:
    """Training digits whose patch encodes the label (label/9), test digits with random patches."""
    data = datasets.load_digits_split()
    generator = torch.Generator().manual_seed(seed)
    return {
        "x_train": add_patch(data.x_train, data.y_train.float() / 9.0),
        "y_train": data.y_train,
        "x_test": add_patch(data.x_test, torch.rand(len(data.y_test), generator=generator)),
        "y_test": data.y_test,
        "x_train_clean": data.x_train,
    }


def model_for(method: str, seed: int) -> nn.Module:
    """MLP 64-64-10 (with dropout for the dropout method)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layers = [("fc1", nn.Linear(64, 64)), ("relu1", nn.ReLU())]
        if method == "dropout":
            layers.append(("drop", nn.Dropout(0.3)))
        layers.append(("fc2", nn.Linear(64, 10)))
        return nn.Sequential(OrderedDict(layers))


def input_gradient_penalty(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """RRR: squared input gradient of the summed log-probabilities on the patch pixels."""
    x = x.clone().requires_grad_(True)
    log_probs = torch.log_softmax(model(x), dim=1).sum()
    (gradient,) = torch.autograd.grad(log_probs, x, create_graph=True)
    return gradient[:, PATCH_MASK].pow(2).sum(1).mean()


def ig_penalty(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_steps: int = 4) -> torch.Tensor:
    """Squared integrated gradients of the true-class logit on the patch pixels, differentiable
    in the weights; the path and weights are the tool's (Captum's Gauss-Legendre rule)."""
    baseline = torch.zeros_like(x)
    path, _, steps = path_points(x, baseline, n_steps)
    path = path.requires_grad_(True)
    selected = model(path).gather(1, y.repeat(n_steps).unsqueeze(1)).sum()
    (gradient,) = torch.autograd.grad(selected, path, create_graph=True)
    weights = torch.tensor(steps, dtype=x.dtype).reshape(-1, 1, 1)
    integrated = (gradient.reshape(n_steps, *x.shape) * weights).sum(0) * (x - baseline)
    return integrated[:, PATCH_MASK].pow(2).sum(1).mean()


def train(method: str, data: dict, seed: int, epochs: int = 30, penalty: float = 10.0) -> nn.Module:
    """Train one model with `method`."""
    model = model_for(method, seed)
    x = data["x_train_clean"] if method.startswith("oracle") else data["x_train"]
    y = data["y_train"]
    decay = 1e-3 if method == "weight decay" else 0.0
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=decay)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(y))
            for start in range(0, len(y), 128):
                batch = order[start:start + 128]
                loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                if method == "input-gradient penalty":
                    loss = loss + penalty * input_gradient_penalty(model, x[batch])
                elif method == "IG penalty":
                    loss = loss + penalty * ig_penalty(model, x[batch], y[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return model.eval()


def patch_share(model: nn.Module, x: torch.Tensor, n_steps: int = 16) -> float:
    """Share of the total |integrated gradients| (toward the predicted class) on the patch."""
    scores = np.abs(Explainer(model, x, n_steps=n_steps).snapshot().input_scores)
    return float(scores[:, PATCH_MASK.numpy()].sum() / max(scores.sum(), 1e-12))


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, epochs: int = 30, progress: bool = True) -> list[dict]:
    """Every method for every seed."""
    runs = []
    for seed in tqdm(range(seeds), disable=not progress, desc="seeds"):
        data = decoy_data(seed)
        for method in METHODS:
            model = train(method, data, seed, epochs)
            runs.append({"seed": seed, "method": method,
                         "test_accuracy": datasets.accuracy(model, data["x_test"], data["y_test"]),
                         "train_accuracy": datasets.accuracy(model, data["x_train"], data["y_train"]),
                         "patch_share": patch_share(model, data["x_test"][:100])})
    return runs


def summarise(runs: list[dict]) -> str:
    """Markdown table: accuracy with random patches, patch attribution share, paired tests."""
    by = {}
    for r in runs:
        by.setdefault(r["method"], []).append(r)
    seeds = len({r["seed"] for r in runs})
    ig = sorted(by["IG penalty"], key=lambda r: r["seed"])
    rows = []
    for method in METHODS:
        items = sorted(by[method], key=lambda r: r["seed"])
        accuracy = [r["test_accuracy"] for r in items]
        versus = "—" if method == "IG penalty" else (
            f"{100 * (np.mean([r['test_accuracy'] for r in ig]) - np.mean(accuracy)):+.1f} pt "
            f"(p={paired_p([r['test_accuracy'] for r in ig], accuracy):.3g})")
        rows.append([method, mean_std(accuracy), mean_std([r["train_accuracy"] for r in items]),
                     mean_std([r["patch_share"] for r in items]), versus])
    header = f"{seeds} seeds; test digits carry a random patch (the shortcut is useless there).\n\n"
    return header + markdown_table(["method", "test accuracy", "train accuracy (with shortcut)",
                                    "|IG| share on the patch", "IG penalty − method (Wilcoxon)"], rows)


def main(argv: list[str] | None = None) -> int:
    """CLI: run the experiment and write results/attribution_prior.json and .md."""
    parser = experiment_parser("attribution_prior", __doc__, seeds=10)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    runs = run(args.seeds, args.epochs)
    return report(args.out, "attribution_prior", runs, summarise(runs),
                  {"seeds": args.seeds, "epochs": args.epochs, "methods": METHODS, "patch": "2x2 top-left"})


if __name__ == "__main__":
    raise SystemExit(main())
