"""Blind backdoor study: the attack, Neural Cleanse's detection, the tool's conductance order and
its zero interventions, the retraining defences, on a small poisoned digits MLP."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from netviz_widget import datasets
from netviz_widget.engine.explainer import Explainer
from studies import backdoor as bd
from studies import backdoor_defences as defences
from studies import backdoor_report
from tests.model_state import assert_unchanged, fingerprint


@lru_cache(maxsize=1)
def poisoned():
    """A digits MLP with a 10% patch backdoor (seed 0), its task, target and trigger."""
    task = bd.load_task("digits-mlp", 0)
    target, trigger = bd.target_of(0), bd.trigger_function("patch", task.side)
    x, y, mask = bd.poison(task.x_train, task.y_train, 0.1, target, trigger, 0)
    model = datasets.train_classifier(task.build(0), x, y, epochs=20, lr=task.lr, seed=0)
    return task, target, trigger, model, mask


@lru_cache(maxsize=1)
def reversed_triggers():
    """Neural Cleanse's reversed trigger of every class of the poisoned model (40 steps each)."""
    task, _, _, model, _ = poisoned()
    return defences.reverse_triggers(model, task.shape, task.x_val, task.side, 10, steps=40)


def test_poisoning_triggers_and_relabels_the_chosen_rate():
    task = bd.load_task("digits-mlp", 0)
    for kind in bd.TRIGGERS:
        trigger = bd.trigger_function(kind, task.side)
        x, y, mask = bd.poison(task.x_train, task.y_train, 0.05, 3, trigger, seed=0)
        assert mask.sum() == round(0.05 * len(y))
        assert torch.all(y[mask] == 3) and torch.all(task.y_train[mask] != 3)
        assert torch.allclose(x[mask], trigger(task.x_train[mask]))
        assert torch.equal(x[~mask], task.x_train[~mask]) and torch.equal(y[~mask], task.y_train[~mask])
    x, y, mask = bd.poison(task.x_train, task.y_train, 0.0, 3, trigger, seed=0)
    assert not mask.any() and torch.equal(x, task.x_train)


def test_triggers_by_hand():
    x = torch.zeros(2, 64)
    patched = bd.trigger_function("patch", 8)(x).reshape(2, 8, 8)
    assert patched[:, 6:, 6:].eq(1).all() and patched.sum() == 2 * 4
    blended = bd.trigger_function("blend", 8)(torch.ones(1, 64))
    assert torch.allclose(blended, 0.8 + 0.2 * bd.blend_pattern(8))


def test_anomaly_index_by_hand():
    norms = np.array([10, 11, 9, 10, 12, 8, 2.0])  # median 10, MAD 1 → scale 1.4826
    index = defences.anomaly_index(norms)
    assert index[-1] == pytest.approx(8 / 1.4826)
    assert index[0] == 0 and index[4] < 0


def test_neural_cleanse_names_the_unknown_target():
    _, target, _, _, _ = poisoned()
    reversed_ = reversed_triggers()
    index = defences.anomaly_index([r.norm for r in reversed_])
    assert int(np.argmax(index)) == target and index[target] > 2
    assert reversed_[target].success > 0.9


def test_the_tool_order_switches_the_backdoor_off_far_faster_than_random():
    task, target, trigger, model, _ = poisoned()
    reversed_ = reversed_triggers()
    suspect = int(np.argmax(defences.anomaly_index([r.norm for r in reversed_])))
    stamped = reversed_[suspect].stamp(task.x_val, task.side)
    state = fingerprint(model)
    order = [(layer, unit) for layer, unit, _ in defences.conductance_rise(model, task.shape, task.x_val,
                                                                          stamped, suspect)]
    assert {layer for layer, _ in order} == {"fc1", "fc2"} and len(order) == 96
    keep = task.y_test != target
    triggered = Explainer(model, trigger(task.x_test[keep]), n_steps=1)
    shuffled = [order[i] for i in np.random.default_rng(0).permutation(len(order))]
    asr = {name: float((defences.predictions(triggered, units[:15]) == target).mean())
           for name, units in (("tool", order), ("random", shuffled))}
    assert asr["tool"] < 0.3 < asr["random"] - 0.3
    assert_unchanged(model, state)


def test_zero_interventions_equal_pruning_the_units():
    task, _, _, model, _ = poisoned()
    units = [("fc1", 3), ("fc2", 0), ("fc2", 7)]
    explainer = Explainer(model, task.x_test, n_steps=1)
    pruned = defences.prune(model, {"fc1": [3], "fc2": [0, 7]})
    with torch.no_grad():
        assert np.array_equal(defences.predictions(explainer, units), pruned(task.x_test).argmax(1).numpy())


def test_prefix_search_stays_within_the_budget():
    task, target, trigger, model, _ = poisoned()
    clean = Explainer(model, task.x_val, n_steps=1)
    stamped = Explainer(model, trigger(task.x_val[task.y_val != target]), n_steps=1)
    order = [("fc2", u) for u in range(32)]
    chosen, trace = defences.select_prefix(order, clean, task.y_val.numpy(), stamped, target, budget=0.02)
    base = float((defences.predictions(clean, []) == task.y_val.numpy()).mean())
    assert float((defences.predictions(clean, chosen) == task.y_val.numpy()).mean()) >= base - 0.02
    assert all(step["accuracy"] >= base - 0.02 for step in trace)
    if chosen:
        best = min(step["success"] for step in trace)
        assert float((defences.predictions(stamped, chosen) == target).mean()) == pytest.approx(best)


def test_retraining_defences_leave_the_model_untouched_and_keep_pruned_units_off():
    task, target, _, model, _ = poisoned()
    state = fingerprint(model)
    tuned, n_pruned = defences.fine_prune(model, task.shape, "fc2", task.x_val, task.y_val, 0.02, 30, 0)
    assert n_pruned > 0
    off = torch.nonzero(tuned.fc2.weight.abs().sum(1) == 0).flatten()
    assert len(off) >= n_pruned and torch.all(tuned.fc2.bias[off] == 0)
    reversed_ = defences.reverse_trigger(model, task.shape, task.x_val, task.side, target, steps=20)
    defences.unlearn(model, task.shape, task.x_val, task.y_val, reversed_, task.side, 20, 0)
    assert_unchanged(model, state)


def test_unlearning_with_the_reversed_trigger_lowers_attack_success():
    task, target, trigger, model, _ = poisoned()
    cleaned = defences.unlearn(model, task.shape, task.x_val, task.y_val, reversed_triggers()[target],
                               task.side, 100, 0)
    before = bd.attack_success_rate(model, task.shape, task.x_test, task.y_test, target, trigger)
    after = bd.attack_success_rate(cleaned, task.shape, task.x_test, task.y_test, target, trigger)
    assert before > 0.9 and after < before - 0.5


def test_training_set_detection_scores_are_aurocs_and_flags():
    task, target, trigger, model, _ = poisoned()
    x, y, mask = bd.poison(task.x_train, task.y_train, 0.1, target, trigger, 0)
    found = defences.training_set_detection(model, task.shape, x, y, mask, target, 0)
    assert set(found) == {"AC flags target", "SS flags target", "AC AUROC", "SS AUROC"}
    assert all(0.0 <= value <= 1.0 for value in found.values())


def test_one_run_end_to_end_and_its_report(tmp_path):
    run = bd.run_one("digits-mlp", "patch", 0.1, 0, epochs=10, nc_steps=15, tune_steps=20)
    assert set(run["defences"]) == set(bd.DEFENCES)
    assert run["defences"]["none"]["units"] == 0
    assert run["NC suspect"] == run["target"] or run["NC finds target"] == 0.0
    for name, result in run["defences"].items():
        assert 0 <= result["ASR"] <= 1 and 0 <= result["clean accuracy"] <= 1, name
    assert [p["fraction"] for p in run["curves"]["tool"]] == list(bd.CURVE_FRACTIONS)
    assert run["curves"]["tool"][0]["ASR"] == pytest.approx(run["defences"]["none"]["ASR"])
    second = {**run, "seed": 1}
    backdoor_report.write_report(tmp_path, [run, second], {"seeds": 2})
    text = (tmp_path / "backdoor.md").read_text()
    assert "| digits-mlp | patch | 10% | tool |" in text and (tmp_path / "backdoor_curves.png").stat().st_size


def test_cnn_task_units_are_conv_channels_and_zeroing_them_equals_pruning():
    x = torch.rand(40, 784)
    y = torch.arange(40) % 10
    task = bd.ImageTask(x, y, x[:20], y[:20], x[20:], y[20:], name="fashion-cnn", side=28, widths=(32,),
                        epochs=1, lr=2e-3, nc_steps=5, tune_steps=5)
    model = task.build(0).eval()
    state = fingerprint(model)
    assert task.shape(x).shape == (40, 1, 28, 28) and task.last_hidden == "conv2"
    explainer = Explainer(model, task.shape(x), n_steps=1)
    assert defences.hidden_layers(explainer) == ["conv1", "conv2", "fc1"]
    units = [("conv1", 2), ("conv2", 5), ("conv2", 9), ("fc1", 0)]
    pruned = defences.prune(model, {"conv1": [2], "conv2": [5, 9], "fc1": [0]})
    with torch.no_grad():
        expected, untouched = pruned(task.shape(x)).numpy(), model(task.shape(x)).numpy()
    logits = explainer.evaluate(defences.zero_units(explainer, units))
    assert np.allclose(logits, expected, atol=1e-5) and not np.allclose(logits, untouched, atol=1e-3)
    assert_unchanged(model, state)


@pytest.mark.skipif(not Path(datasets.FASHION_DEBIAN_ROOT).is_dir(),
                    reason="dataset-fashion-mnist not installed")
def test_one_reduced_cnn_run_switches_conv_channels_off():
    run = bd.run_one("fashion-cnn", "patch", 0.1, 0, n_train=600, n_test=200, epochs=2, nc_steps=5,
                     tune_steps=5)
    assert set(run["defences"]) == set(bd.DEFENCES)
    assert all(unit.split("[")[0] in {"conv1", "conv2", "fc1"} for unit in run["tool units"])
    assert run["defences"]["fine-pruning"]["units"] <= 16  # conv2's channels, as Liu et al.
    assert run["curves"]["tool"][0]["ASR"] == pytest.approx(run["defences"]["none"]["ASR"])


def test_a_report_of_clean_runs_only_draws_no_curves(tmp_path):
    """Clean (0%) runs have no attack success: the report's tables are written, the curve plot is not
    (it used to fail with a zero-row figure)."""
    import json

    committed = json.loads((Path(__file__).parents[2] / "docs/results/backdoor.json").read_text())
    runs = [r for r in committed["runs"] if r["rate"] == 0]
    assert runs
    backdoor_report.plot_curves(runs, tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()
