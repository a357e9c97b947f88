"""Error-signalling units: the AUROC helper, unit selection on planted features, one small run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from studies import error_units as eu


def test_auroc_by_hand_and_degenerate_cases():
    errors = np.array([0, 0, 1, 1], dtype=bool)
    assert eu.auroc(errors, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert eu.auroc(errors, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert eu.auroc(errors, np.array([0.1, 0.8, 0.2, 0.9])) == pytest.approx(0.75)
    assert math.isnan(eu.auroc(np.zeros(4, dtype=bool), np.arange(4.0)))


def test_separating_units_finds_the_planted_columns_in_either_direction():
    rng = np.random.default_rng(0)
    errors = rng.random(400) < 0.2
    features = rng.normal(size=(400, 10))
    features[:, 3] += 2.0 * errors  # higher on errors
    features[:, 7] -= 1.5 * errors  # lower on errors
    features[:, 5] = 1.0  # constant: no signal, no crash
    chosen = eu.separating_units(features, errors, top=2)
    assert set(chosen.tolist()) == {3, 7}
    score = eu.fitted_score(features[:200][:, chosen], errors[:200], features[200:][:, chosen])
    assert eu.auroc(errors[200:], score) > 0.85


def test_one_under_trained_mlp_end_to_end():
    result = eu.run_one("mlp", "under-trained", seed=0)
    assert 0.3 < result["accuracy"] < 0.97
    assert result["errors (evaluation half)"] > 5
    for score in eu.SCORES:
        assert 0.0 <= result[score] <= 1.0
    assert len(result["units"]) == eu.TOP_UNITS and all(u.startswith("fc") for u in result["units"])
    assert 0.0 <= result[eu.RANDOM] <= 1.0 and len(result["random units"]) == eu.TOP_UNITS
    assert result["random units"] != result["units"]  # 5 of 112 units drawn: a different set
    table = eu.summarise([result, {**result, "seed": 1}])
    assert "| mlp | under-trained | 2 |" in table and "Δ" in table
    control = eu.control_table([result, {**result, "seed": 1}])
    expected = result["units: activation"] - result[eu.RANDOM]
    assert "| AUROC (activation units) | " in control
    assert f"{expected:.3f} [{expected:.3f}, {expected:.3f}]" in control  # two identical seeds


def test_fashion_split_is_seeded_and_flat():
    first, again = eu.fashion_split(0, 300, 200), eu.fashion_split(0, 300, 200)
    other = eu.fashion_split(1, 300, 200)
    assert first.x_train.shape == (300, 784) and first.x_test.shape == (200, 784)
    assert torch.equal(first.x_train, again.x_train) and not torch.equal(first.x_train, other.x_train)
    assert float(first.x_train.min()) >= 0.0 and float(first.x_train.max()) <= 1.0
