"""Fashion-MNIST models and a fast trainer shared by the studies.

Two small networks, both with named layers the tool shows as unit layers:

- `mlp`: Flatten, fc1 784→256, relu1, fc2 256→128, relu2, fc3 128→10 (widths configurable);
- `cnn`: conv1 1→16 (3×3), relu1, pool1, conv2 16→32 (3×3), relu2, pool2, flatten, fc1 1568→64,
  relu3, fc2 64→10.

`train` is a plain Adam / cross-entropy loop (deterministic per seed) with two hooks the studies
need: a `penalty(model, x, y)` added to each batch's loss, and `masks` that keep pruned weights at
zero while fine-tuning. `split` draws the protocol's train / validation / test split, optionally
on a fixed training subset (documented as such wherever it is used).

    python -m studies.fashion --seeds 10 --out results/   # accuracy check
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netviz_widget import datasets
from netviz_widget.engine._calls import small_work_threads
from studies.common import experiment_parser, markdown_table, report
from studies.protocol import Split, bootstrap_ci, format_ci, seed_list, train_val_split

__all__ = ["CNN_TARGET", "MLP_TARGET", "accuracy", "cnn", "mlp", "split", "train"]

MLP_TARGET = 0.88
CNN_TARGET = 0.90
VAL_FRACTION = 1 / 12  # 5,000 of the 60,000 training images


def split(seed: int = 0, n_train: int | None = None, root: str | None = None) -> Split:
    """Fashion-MNIST as train / validation / test (validation: a stratified 1/12 of the training
    images, drawn with `seed`). `n_train` keeps a fixed stratified subset of the remaining
    training images (drawn with a fixed seed from what validation leaves)."""
    data = datasets.fashion_mnist(root)
    parts = train_val_split(data.x_train, data.y_train, data.x_test, data.y_test, VAL_FRACTION, seed)
    if n_train is None or n_train >= parts.x_train.shape[0]:
        return parts
    keep = train_val_split(parts.x_train, parts.y_train, parts.x_test, parts.y_test,
                           n_train / parts.x_train.shape[0], seed=12345)
    return Split(keep.x_val, keep.y_val, parts.x_val, parts.y_val, parts.x_test, parts.y_test)


def mlp(seed: int = 0, widths: tuple[int, ...] = (784, 256, 128, 10), dropout: float = 0.0) -> nn.Sequential:
    """An untrained MLP on (n, 1, 28, 28) images: flatten, fc1, relu1, …, fcN (optional dropout
    after every ReLU)."""
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for i in range(1, len(widths)):
            layers.append((f"fc{i}", nn.Linear(widths[i - 1], widths[i])))
            if i < len(widths) - 1:
                layers.append((f"relu{i}", nn.ReLU()))
                if dropout > 0:
                    layers.append((f"drop{i}", nn.Dropout(dropout)))
    return nn.Sequential(OrderedDict(layers))


def cnn(seed: int = 0, channels: tuple[int, int] = (16, 32), hidden: int = 64) -> nn.Sequential:
    """An untrained small CNN on (n, 1, 28, 28) images (two conv-relu-pool blocks, two linear)."""
    c1, c2 = channels
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(1, c1, 3, padding=1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(c1, c2, 3, padding=1)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(c2 * 7 * 7, hidden)), ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(hidden, 10)),
        ]))


Penalty = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero every parameter entry whose mask is False (`masks`: parameter name → bool tensor)."""
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, keep in masks.items():
            parameters[name].mul_(keep.to(parameters[name].dtype))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 5, lr: float = 1e-3,
          batch_size: int = 128, weight_decay: float = 0.0, seed: int = 0, penalty: Penalty | None = None,
          masks: Mapping[str, torch.Tensor] | None = None, cosine: bool = True) -> nn.Module:
    """Train `model` in place with Adam on cross-entropy (+ `penalty(model, x_batch, y_batch)`),
    the learning rate annealed to 0 on a cosine (`cosine`); `masks` keeps masked parameter
    entries at zero. Deterministic for a seed; the caller's global
    RNG state is left as it was. Returns the model in eval mode."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        steps = epochs * -(-x.shape[0] // batch_size)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: 0.5 * (1 + np.cos(np.pi * step / steps)) if cosine else 1.0)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(x.shape[0])
            for start in range(0, x.shape[0], batch_size):
                batch = order[start:start + batch_size]
                loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                if penalty is not None:
                    loss = loss + penalty(model, x[batch], y[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                if masks:
                    apply_masks(model, masks)
    return model.eval()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2000) -> float:
    """Fraction of `x` that `model` classifies as `y` (in chunks)."""
    with torch.no_grad():
        hits = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                   for i in range(0, x.shape[0], batch_size))
    return hits / x.shape[0]


EPOCHS = {"mlp": 8, "cnn": 5}
LR = {"mlp": 2e-3, "cnn": 3e-3}


def trained(kind: str, seed: int, data: Split, epochs: int | None = None) -> nn.Module:
    """A model of `kind` ('mlp' or 'cnn') trained on `data.x_train` with the studies' settings."""
    model = mlp(seed) if kind == "mlp" else cnn(seed)
    return train(model, data.x_train, data.y_train, epochs=epochs or EPOCHS[kind], lr=LR[kind], seed=seed)


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, epochs: Mapping[str, int] = EPOCHS, n_train: int | None = None) -> list[dict]:
    """Train both models per seed on the full training split; validation and test accuracy."""
    runs = []
    for seed in seed_list(seeds):
        data = split(seed, n_train)
        for kind in ("mlp", "cnn"):
            start = time.perf_counter()
            model = trained(kind, seed, data, epochs[kind])
            runs.append({"seed": seed, "model": kind, "epochs": epochs[kind],
                         "n_train": data.x_train.shape[0],
                         "val_accuracy": accuracy(model, data.x_val, data.y_val),
                         "test_accuracy": accuracy(model, data.x_test, data.y_test),
                         "seconds": time.perf_counter() - start})
    return runs


def summarise(runs: list[dict]) -> str:
    """Markdown table: test accuracy per model with its bootstrap interval and the target."""
    rows = []
    for kind, target in (("mlp", MLP_TARGET), ("cnn", CNN_TARGET)):
        items = [r for r in runs if r["model"] == kind]
        test = [r["test_accuracy"] for r in items]
        mean, low, high = bootstrap_ci(test)
        rows.append([kind.upper(), items[0]["n_train"], items[0]["epochs"], len(items),
                     format_ci(*bootstrap_ci([r["val_accuracy"] for r in items])), format_ci(mean, low, high),
                     f"{min(test):.3f}", f"≥ {target:.2f}", "met" if min(test) >= target else "NOT met"])
    return markdown_table(["model", "training images", "epochs", "seeds", "validation accuracy [95% CI]",
                           "test accuracy [95% CI]", "worst seed", "target", "every seed"], rows)


def main(argv: list[str] | None = None) -> int:
    """CLI: train the Fashion-MNIST models per seed and write fashion_models.json / .md."""
    parser = experiment_parser("fashion", __doc__, seeds=10)
    args = parser.parse_args(argv)
    runs = run(args.seeds)
    return report(Path(args.out), "fashion_models", runs, summarise(runs),
                  {"seeds": args.seeds, "epochs": EPOCHS, "lr": LR, "batch_size": 128,
                   "optimiser": "Adam, cosine to 0"})


if __name__ == "__main__":
    raise SystemExit(main())

