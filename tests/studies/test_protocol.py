"""The studies' shared protocol: splits, intervals, paired tests, Holm, and the Fashion-MNIST loader."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from netviz_widget.datasets import FASHION_DEBIAN_ROOT, fashion_mnist
from netviz_widget.errors import InputError
from studies.protocol import bootstrap_ci, compare_arms, comparison_table, holm, paired_p, train_val_split


def test_holm_matches_hand_computation() -> None:
    # sorted p: 0.01 (×3 = 0.03), 0.02 (×2 = 0.04), 0.04 (×1 = 0.04); returned in the input order
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # monotone: a later step never drops below an earlier one
    assert holm([0.001, 0.5, 0.03]) == pytest.approx([0.003, 0.5, 0.06])


def test_paired_p_exact_sign_flip() -> None:
    # 5 pairs, all differences positive and distinct: only the all-plus and all-minus sign patterns
    # reach the observed |mean|, so p = 2 / 32
    assert paired_p([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]) == pytest.approx(2 / 32)
    assert paired_p([1, 2, 3], [1, 2, 3]) == 1.0
    # symmetric in the sign of the difference
    assert paired_p([0, 0, 0, 0], [1, 2, 3, 4]) == paired_p([1, 2, 3, 4], [0, 0, 0, 0])


def test_bootstrap_interval_contains_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(1)
    small = rng.normal(0.5, 0.1, size=10)
    large = rng.normal(0.5, 0.1, size=1000)
    mean, low, high = bootstrap_ci(small)
    assert low < mean < high
    _, low_l, high_l = bootstrap_ci(large)
    assert high_l - low_l < (high - low) / 3
    assert bootstrap_ci([0.7]) == (0.7, 0.7, 0.7)


def test_compare_arms_verdicts() -> None:
    results = {"base": [0.80, 0.81, 0.79, 0.80, 0.82, 0.80, 0.81, 0.79, 0.80, 0.81],
               "better": [0.90, 0.91, 0.89, 0.90, 0.92, 0.90, 0.91, 0.89, 0.90, 0.91],
               "same": [0.80, 0.81, 0.79, 0.81, 0.81, 0.80, 0.80, 0.79, 0.81, 0.81]}
    rows = {row.arm: row for row in compare_arms(results, "base")}
    assert rows["better"].verdict() == "better" and rows["better"].difference == pytest.approx(0.1)
    assert rows["same"].verdict() == "tie"
    assert rows["better"].p_holm >= rows["better"].p
    headers, table = comparison_table(results, "base")
    assert len(table) == 3 and table[0][0] == "base" and "p (Holm)" in headers
    with pytest.raises(InputError, match="reference"):
        compare_arms(results, "missing")


def test_train_val_split_is_stratified_disjoint_and_keeps_test() -> None:
    x = torch.arange(200, dtype=torch.float32).reshape(100, 2)
    y = torch.arange(100) % 4
    split = train_val_split(x, y, x[:5], y[:5], val_fraction=0.2, seed=3)
    assert split.x_val.shape[0] == 20 and split.x_train.shape[0] == 80
    assert torch.bincount(split.y_val).tolist() == [5, 5, 5, 5]
    assert not set(split.x_val[:, 0].tolist()) & set(split.x_train[:, 0].tolist())
    assert torch.equal(split.x_test, x[:5])
    with pytest.raises(InputError, match="val_fraction"):
        train_val_split(x, y, x, y, val_fraction=1.5)


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_fashion_mnist_reads_a_users_folder_in_torchvision_layout(tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(raw / "train-images-idx3-ubyte", images)
    _write_idx(raw / "train-labels-idx1-ubyte", np.array([1, 2, 9]))
    _write_idx(raw / "t10k-images-idx3-ubyte", images[:2])
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.array([0, 5]))
    for name in list(raw.iterdir()):
        name.rename(name.with_suffix(".gz") if name.suffix != ".gz" else name)
    data = fashion_mnist(str(tmp_path))
    assert data.x_train.shape == (3, 1, 28, 28) and data.y_train.tolist() == [1, 2, 9]
    assert float(data.x_train[0, 0, 0, 1]) == pytest.approx(1 / 255)
    assert data.classes[9] == "Ankle boot"


def test_fashion_mnist_missing_names_both_ways(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="apt-get install dataset-fashion-mnist") as error:
        fashion_mnist(str(tmp_path / "nowhere"))
    assert "root=" in str(error.value)


@pytest.mark.skipif(not Path(FASHION_DEBIAN_ROOT).is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_debian_package() -> None:
    data = fashion_mnist()
    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.y_test).tolist() == [1000] * 10
