"""Explainer.compare: B − A of two models' snapshots on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget import Explainer
from netviz_widget.datasets import digits_mlp, load_digits_split, mlp
from netviz_widget.engine.compare import diff_snapshots
from netviz_widget.errors import GraphError, InputError, NetVizError
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo import example_input, small_cnn


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def test_a_model_compared_with_itself_changes_nothing(digits):
    ex = Explainer(digits_mlp(), digits.x_test[:4], n_steps=8)
    for other in (ex.model, digits_mlp(), Explainer(digits_mlp(), digits.x_test[:4], n_steps=8)):
        diff = ex.compare(other)
        assert diff.max_abs() == 0.0
        assert all(not np.any(w) for w in diff.weights.values())
        np.testing.assert_array_equal(diff.prediction_a, diff.prediction_b)
        assert not diff.predictions_differ.any()
        assert all(c.change == 0.0 for c in diff.top_units(5))


def test_the_diff_is_the_difference_of_the_two_snapshots(digits):
    a, b = digits_mlp(seed=0), digits_mlp(seed=1)
    ex = Explainer(a, digits.x_test[:4], n_steps=8)
    diff = ex.compare(b)
    snap_a = ex.snapshot()
    # B scored independently, explaining A's targets
    snap_b = Explainer(b, digits.x_test[:4], target=ex.target, n_steps=8).snapshot()
    for name in ("node_scores", "activations", "edge_scores"):
        for key, value in getattr(snap_a, name).items():
            np.testing.assert_array_equal(getattr(diff, name)[key], getattr(snap_b, name)[key] - value)
    np.testing.assert_array_equal(diff.logits, snap_b.logits - snap_a.logits)
    np.testing.assert_array_equal(diff.prediction_b, snap_b.prediction)
    np.testing.assert_array_equal(diff.weights[("fc1", "fc2")],
                                  (b.fc2.weight - a.fc2.weight).detach().numpy())
    assert diff.max_abs() > 0


def test_top_units_rank_the_largest_changes_first(digits):
    ex = Explainer(digits_mlp(seed=0), digits.x_test[:4], n_steps=8)
    diff = ex.compare(digits_mlp(seed=1))
    top = diff.top_units(6)
    magnitudes = [float(np.abs(diff.node_scores[c.layer][:, c.unit]).mean()) for c in top]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert [c.magnitude for c in top] == pytest.approx(magnitudes)
    everything = max(float(np.abs(v).mean(0).max()) for k, v in diff.node_scores.items() if k != "input")
    assert magnitudes[0] == pytest.approx(everything)
    first = top[0]
    assert first.score_a == pytest.approx(float(diff.a.node_scores[first.layer][:, first.unit].mean()))
    one = diff.top_units(1, example=2, by="activation")[0]
    assert abs(one.activation_b - one.activation_a) == pytest.approx(
        max(float(np.abs(v[2]).max()) for k, v in diff.activations.items() if k != "input"))
    assert "predictions differ" in diff.summary()


def test_interventions_in_force_are_part_of_the_compared_state(digits):
    a = Explainer(digits_mlp(), digits.x_test[:4], n_steps=8)
    b = Explainer(digits_mlp(), digits.x_test[:4], n_steps=8)
    b.intervene("fc2", [0, 1, 2], mode="zero")
    diff = a.compare(b)
    assert np.all(diff.activations["fc2"][:, 3:] == 0)
    np.testing.assert_array_equal(diff.activations["fc2"][:, :3], -a.snapshot().activations["fc2"][:, :3])


def test_a_different_architecture_is_refused_with_the_difference(digits):
    ex = Explainer(digits_mlp(), digits.x_test[:2], n_steps=4)
    wider = mlp((64, 48, 16, 10))
    before = fingerprint(wider)
    with pytest.raises(GraphError, match=r"other: expected a model with the same layered graph.*fc1\[48\]"):
        ex.compare(wider)
    assert_unchanged(wider, before)
    cnn = small_cnn()
    with pytest.raises(NetVizError):
        Explainer(cnn, example_input(cnn)).compare(Explainer(small_cnn(), example_input(cnn, batch=2)))
    with pytest.raises(InputError, match="same inputs"):
        ex.compare(Explainer(digits_mlp(), digits.x_test[2:4], n_steps=4))
    with pytest.raises(InputError, match="same targets"):
        ex.compare(Explainer(digits_mlp(), digits.x_test[:2], target=[1, 1], n_steps=4))
    with pytest.raises(InputError, match=r"an Explainer or a torch\.nn\.Module"):
        ex.compare("model")


def test_compare_leaves_both_models_unchanged(digits):
    a, b = digits_mlp(seed=0), digits_mlp(seed=1)
    b.train()
    before_a, before_b = fingerprint(a), fingerprint(b)
    Explainer(a, digits.x_test[:2], n_steps=4).compare(b)
    assert_unchanged(a, before_a)
    assert_unchanged(b, before_b)


def test_diff_snapshots_refuses_snapshots_of_other_inputs(digits):
    ex = Explainer(digits_mlp(), digits.x_test[:2], n_steps=4)
    other = Explainer(digits_mlp(), digits.x_test[:3], n_steps=4)
    with pytest.raises(GraphError, match="same inputs"):
        diff_snapshots(ex.snapshot(), other.snapshot())
    assert torch.equal(ex.inputs, digits.x_test[:2])
