"""Backdoor experiment code: poisoning, the attack-success metric, unit selection, detection."""

from __future__ import annotations

import numpy as np
import torch

from netviz_widget.datasets import load_digits_split, mlp
from netviz_widget.experiments import backdoor as bd


def test_poisoning_triggers_and_relabels_the_chosen_rate():
    data = load_digits_split()
    x, y, mask = bd.poison(data.x_train, data.y_train, 0.05, seed=0)
    assert mask.sum() == round(0.05 * len(y))
    assert torch.all(y[mask] == bd.TARGET) and torch.all(data.y_train[mask] != bd.TARGET)
    assert torch.all(x[mask][:, bd.TRIGGER_MASK] == 1.0)
    assert torch.equal(x[~mask], data.x_train[~mask]) and torch.equal(y[~mask], data.y_train[~mask])


class TriggerDetector(torch.nn.Module):
    """Predicts class 0 exactly when the trigger is present, class 5 otherwise."""

    def forward(self, x):
        on = (x[:, bd.TRIGGER_MASK].mean(1) > 0.99).float()
        logits = torch.zeros(len(x), 10)
        logits[:, 0] = on
        logits[:, 5] = 1 - on
        return logits


def test_attack_success_rate_counts_triggered_non_target_digits():
    data = load_digits_split()
    assert bd.attack_success_rate(TriggerDetector(), "mlp", data.x_test, data.y_test) == 1.0
    constant = torch.nn.Sequential(torch.nn.Linear(64, 10))
    with torch.no_grad():
        constant[0].weight.zero_()
        constant[0].bias.copy_(torch.arange(10.0))  # always predicts 9
    assert bd.attack_success_rate(constant, "mlp", data.x_test, data.y_test) == 0.0


def hand_built_backdoor() -> torch.nn.Sequential:
    """fc1 unit 3 fires only on the trigger; fc2 unit 2 relays it; fc3 maps it to class 0."""
    model = mlp((64, 4, 3, 10), seed=0)
    with torch.no_grad():
        model.fc1.weight.zero_()
        model.fc1.bias.zero_()
        model.fc1.weight[:3, :48] = torch.rand(3, 48, generator=torch.Generator().manual_seed(0)) * 0.2
        model.fc1.weight[3, bd.TRIGGER_MASK] = 1.0
        model.fc1.bias[3] = -3.5
        model.fc2.weight.zero_()
        model.fc2.bias.zero_()
        model.fc2.weight[0, 0] = model.fc2.weight[1, 1] = 1.0
        model.fc2.weight[2, 3] = 5.0
        model.fc3.weight.zero_()
        model.fc3.bias.zero_()
        model.fc3.weight[0, 2] = 10.0
        model.fc3.weight[1, 0] = model.fc3.weight[2, 1] = 1.0
        model.fc3.weight[0, 0] = 0.1
    return model.eval()


def test_the_tool_rule_flags_the_trigger_unit_from_clean_digits_only():
    data = load_digits_split()
    clean = data.x_train[:100]
    model = hand_built_backdoor()
    assert bd.attack_success_rate(model, "mlp", data.x_test, data.y_test) == 1.0
    order = bd.tool_ranking(model, "mlp", clean)
    assert order[0] == 2
    assert bd.triggered_ranking(model, "mlp", clean)[0] == 2
    repaired = bd.remove_units(model, "mlp", [2])
    assert bd.attack_success_rate(repaired, "mlp", data.x_test, data.y_test) == 0.0
    assert model.fc2.weight[2, 3] == 5.0  # the original is intact


def test_budgeted_removal_and_detection_scores():
    data = load_digits_split()
    model = hand_built_backdoor()
    chosen = bd.within_budget(model, "mlp", np.array([2, 0, 1]), data.x_train[:200], data.y_train[:200])
    assert chosen[0] == 2
    rows = bd.run_one("mlp", 0.05, seed=1, epochs=3)
    assert {r["defence"] for r in rows} == set(bd.DEFENCES)
    for r in rows:
        assert 0 <= r["attack_success_rate"] <= 1 and 0 <= r["clean_accuracy"] <= 1
        assert 0 <= r["activation clustering"] <= 1 and 0 <= r["spectral signatures"] <= 1


def test_units_carrying_a_share_of_the_trigger_by_hand():
    from netviz_widget.experiments.concentration import units_carrying
    assert units_carrying(np.array([0.1, 5.0, -3.0, 3.0, 1.9])) == [1, 3]  # 5 + 3 = 80% of 10
    assert units_carrying(np.array([0.1, 5.0, -3.0, 3.0, 2.0])) == [1, 3, 4]  # 8 < 80% of 10.1
    assert units_carrying(np.array([1.0, 1.0, 1.0, 1.0, 1.0])) == [0, 1, 2, 3]
    assert units_carrying(np.array([-1.0, 0.0])) == []


def test_regularised_training_builds_and_trains_every_variant():
    from netviz_widget.experiments import concentration as co
    data = load_digits_split()
    x, y = data.x_train[:300], data.y_train[:300]
    dropout = co.build("mlp", 0, "dropout")
    names = [n for n, _ in dropout.named_children()]
    assert names == ["fc1", "relu1", "drop1", "fc2", "relu2", "drop2", "fc3"]
    plain = co.train(co.build("mlp", 0, "plain"), x, y, seed=0, epochs=5)
    sparse = co.train(co.build("mlp", 0, "plain"), x, y, seed=0, epochs=5, l1=0.5)
    with torch.no_grad():
        def mean_activation(model):
            return float(model.relu2(model.fc2(model.relu1(model.fc1(x)))).abs().mean())
        assert mean_activation(sparse) < 0.5 * mean_activation(plain)  # the penalty sparsifies
    assert not plain.training and not sparse.training
    assert all(not h for m in plain.modules() for h in (m._forward_hooks,))  # hooks removed


def test_fine_pruning_removes_the_dormant_trigger_unit_and_keeps_it_removed():
    data = load_digits_split()
    model = hand_built_backdoor()
    pruned, n_removed = bd.fine_prune(model, "mlp", data.x_train[:200], data.y_train[:200], seed=0)
    assert n_removed >= 1
    assert torch.all(pruned.fc2.weight[2] == 0) and pruned.fc2.bias[2] == 0  # dormant on clean digits
    assert bd.attack_success_rate(pruned, "mlp", data.x_test, data.y_test) < 0.5
    assert model.fc2.weight[2, 3] == 5.0  # the original is intact
