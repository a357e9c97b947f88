"""Bundled demo data and models: scikit-learn's 8×8 digits, a small MLP and a small CNN.

Everything is deterministic (fixed split, fixed seeds) and trains in a few seconds on a CPU
(``netviz demo`` prints the time it took); trained models are cached per process. Nothing is
downloaded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
import torch
from torch import nn

__all__ = ["Digits", "digits_cnn", "digits_mlp", "load_digits_split", "train_classifier"]

DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Digits:
    """The digits split: images scaled to [0, 1], flat (n, 64) float32, labels int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...] = DIGIT_CLASSES

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """Reshape flat digits to (n, 1, 8, 8) images for a CNN."""
        return x.reshape(-1, 1, 8, 8)


@lru_cache(maxsize=1)
def load_digits_split(test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """scikit-learn's bundled `load_digits` with a deterministic stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return Digits(torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_te),
                  torch.from_numpy(y_te))


def mlp(widths: tuple[int, ...] = (64, 32, 16, 10), seed: int = 0) -> nn.Sequential:
    """An untrained MLP with named layers fc1, relu1, …, fcN (no activation on the logits)."""
    layers: list[tuple[str, nn.Module]] = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for i, (n_in, n_out) in enumerate(pairwise(widths), start=1):
            layers.append((f"fc{i}", nn.Linear(n_in, n_out)))
            if i < len(widths) - 1:
                layers.append((f"relu{i}", nn.ReLU()))
    return nn.Sequential(OrderedDict(layers))


def cnn(seed: int = 0) -> nn.Sequential:
    """An untrained small CNN for 1×8×8 digits: conv-bn-relu-pool, conv-relu, flatten, fc."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(1, 8, 3, padding=1)),
            ("bn1", nn.BatchNorm2d(8)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(8, 16, 3, padding=1)),
            ("relu2", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(0.1)),
            ("fc", nn.Linear(16 * 4 * 4, 10)),
        ]))


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 60,
                     lr: float = 1e-2, batch_size: int = 128, weight_decay: float = 0.0,
                     seed: int = 0, penalty: Callable[[], torch.Tensor] | None = None,
                     progress: str | None = None) -> nn.Module:
    """Train `model` with Adam and cross-entropy (deterministic for a seed); returns it in
    eval mode. `penalty`, called after each batch's forward pass, is added to the loss (e.g. a
    sparsity term on activations captured by hooks). `progress`, a description, shows a progress
    bar over the epochs. The caller's global RNG state is left untouched."""
    from tqdm.auto import tqdm

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        model.train()
        for _ in tqdm(range(epochs), desc=progress, unit="epoch", disable=progress is None):
            order = torch.randperm(x.shape[0])
            for start in range(0, x.shape[0], batch_size):
                batch = order[start:start + batch_size]
                optimiser.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                (loss if penalty is None else loss + penalty()).backward()
                optimiser.step()
    return model.eval()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of `x` that `model` classifies as `y`."""
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


_TRAINED: dict[tuple[str, int], nn.Module] = {}


def _trained(kind: str, seed: int, progress: bool) -> nn.Module:
    if (kind, seed) not in _TRAINED:
        data = load_digits_split()
        desc = f"training the digits {kind.upper()}" if progress else None
        if kind == "mlp":
            model = train_classifier(mlp(seed=seed), data.x_train, data.y_train, epochs=40, seed=seed,
                                     progress=desc)
        else:
            model = train_classifier(cnn(seed=seed), data.images(data.x_train), data.y_train,
                                     epochs=25, seed=seed, progress=desc)
        _TRAINED[(kind, seed)] = model
    return _TRAINED[(kind, seed)]


def digits_mlp(seed: int = 0, progress: bool = False) -> nn.Sequential:
    """A trained digits MLP 64-32-16-10 (a fresh copy; ≈ 96% test accuracy); `progress` shows a
    progress bar while it trains (once per process)."""
    import copy

    return copy.deepcopy(_trained("mlp", seed, progress))


def digits_cnn(seed: int = 0, progress: bool = False) -> nn.Sequential:
    """A trained small digits CNN taking (n, 1, 8, 8) images (a fresh copy); `progress` as for
    `digits_mlp`."""
    import copy

    return copy.deepcopy(_trained("cnn", seed, progress))
