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
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["Digits", "FashionMNIST", "digits_cnn", "digits_mlp", "fashion_mnist", "load_digits_split",
           "predict", "train_classifier"]

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


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(n,) class `model` predicts for each row of `x` (`Snapshot.prediction`'s rule): the most
    probable class, or for a one-output (binary) model 1 where its probability is above 0.5 (its
    logit above 0, or its own final sigmoid's output above 0.5) and 0 where not."""
    from netviz_widget.engine.graph.layered import final_activation
    from netviz_widget.engine.snapshot import predicted_classes

    with torch.no_grad():
        outputs = model(x)
    outputs = outputs.reshape(-1, 1) if outputs.dim() == 1 else outputs  # one output, squeezed
    logits = outputs.shape[1] > 1 or final_activation(model, x[:1]) != "sigmoid"
    return torch.as_tensor(predicted_classes(outputs, logits=logits), device=outputs.device)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of `x` that `model` classifies as `y` (classes as `predict` reads them)."""
    return float((predict(model, x) == y).float().mean())


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


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
FASHION_DEBIAN_ROOT = "/usr/share/datasets/fashion-mnist"
_FASHION_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
                  "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@dataclass(frozen=True)
class FashionMNIST:
    """Fashion-MNIST (Xiao et al. 2017): images (n, 1, 28, 28) float32 in [0, 1], labels int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...] = FASHION_CLASSES


def _read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzipped) as a uint8 array of its declared shape."""
    import gzip

    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        from netviz_widget.errors import InputError

        raise InputError("root", "Fashion-MNIST IDX files of unsigned bytes", str(path))
    n_dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims)
    if data.size != int(np.prod(shape)):
        from netviz_widget.errors import InputError

        raise InputError("root", f"an IDX file holding {int(np.prod(shape))} values", str(path))
    return data.reshape(shape)


def _find_fashion_file(folders: list[Path], stem: str) -> Path | None:
    for folder in folders:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


@lru_cache(maxsize=2)
def fashion_mnist(root: str | None = None) -> FashionMNIST:
    """Load Fashion-MNIST's 60k training and 10k test images from IDX files on disk.

    `root` is a folder holding the four IDX files (gzipped or not), or torchvision's layout
    (`root/FashionMNIST/raw/`). Without `root`, the Debian package's folder
    (`/usr/share/datasets/fashion-mnist`, from `apt-get install dataset-fashion-mnist`) is used.
    Nothing is downloaded."""
    from netviz_widget.errors import InputError

    base = Path(root) if root is not None else Path(FASHION_DEBIAN_ROOT)
    folders = [base, base / "FashionMNIST" / "raw", base / "raw"]
    arrays: dict[str, np.ndarray] = {}
    for key, stem in _FASHION_FILES.items():
        path = _find_fashion_file(folders, stem)
        if path is None:
            raise InputError(
                "root", f"a folder with Fashion-MNIST's IDX files ({stem}[.gz])", str(base),
                "Install them with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
                "download the four files from https://github.com/zalandoresearch/fashion-mnist and pass "
                "fashion_mnist(root=<folder>) (torchvision's FashionMNIST/raw layout works too).")
        arrays[key] = _read_idx(path)

    def images(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)

    def labels(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64))

    return FashionMNIST(images(arrays["x_train"]), labels(arrays["y_train"]),
                        images(arrays["x_test"]), labels(arrays["y_test"]))
