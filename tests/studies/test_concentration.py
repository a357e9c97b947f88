"""Architecture study: the 80%-share count by hand, the variants' models, one reduced run."""

from __future__ import annotations

import numpy as np
import torch

from studies import concentration as conc


def test_units_carrying_by_hand():
    assert conc.units_carrying(np.array([5.0, 3.0, 1.0, 1.0])) == 2  # 8 of 10 ≥ 80%
    assert conc.units_carrying(np.array([1.0, 1.0, 1.0, 1.0, 1.0])) == 4
    assert conc.units_carrying(np.array([-2.0, 4.0, 0.0])) == 1  # negatives do not count
    assert conc.units_carrying(np.zeros(3)) == 0


def test_variants_build_the_declared_widths_and_dropout():
    for variant, widths in conc.VARIANTS.items():
        model = conc.build(variant, 0)
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        assert [linears[0].in_features, *(m.out_features for m in linears)] == list(widths)
        assert any(isinstance(m, torch.nn.Dropout) for m in model) == (variant == "dropout")
        kept = [m.k for m in model if isinstance(m, conc.TopK)]
        assert kept == ([16, 8] if variant == "top-k" else [])  # a quarter of 64 and of 32


def test_l1_training_makes_activations_sparser_and_removes_its_hooks():
    from netviz_widget.datasets import load_digits_split

    data = load_digits_split()
    plain = conc.train(conc.build("plain", 0), data.x_train, data.y_train, seed=0, epochs=5)
    sparse = conc.train(conc.build("plain", 0), data.x_train, data.y_train, seed=0, l1=0.5, epochs=5)
    assert all(not m._forward_hooks for m in sparse.modules())

    def active(model):
        with torch.no_grad():
            return float((model.relu2(model.fc2(model.relu1(model.fc1(data.x_test)))) > 0).float().mean())
    assert active(sparse) < active(plain)


def test_a_reduced_top_k_run_is_explained_through_its_topk():
    result = conc.run_one("top-k", 0, epochs=5, nc_steps=15)
    assert result["hidden units"] == 96
    # at most 16 + 8 of the 96 units are non-zero per digit, so at most that share carries 80%
    assert 0.0 < result["decision units (share)"] <= 24 / 96


def test_one_reduced_run():
    result = conc.run_one("plain", 0, epochs=5, nc_steps=15)
    assert result["hidden units"] == 96
    for key in ("decision units (share)", "backdoor units (share)", "units to stop reversed trigger (share)"):
        assert 0.0 < result[key] <= 1.0, key
    assert 0.0 <= result["ASR after tool at budget"] <= 1.0
    table = conc.summarise([result, {**result, "seed": 1}])
    assert "| plain |" in table
