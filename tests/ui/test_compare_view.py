"""NetViz(model, x, compare=other): the A / B / B − A toggle, hover values, paired interventions."""

from __future__ import annotations

import numpy as np
import pytest

from netviz_widget import Explainer, NetViz
from netviz_widget.datasets import digits_mlp, load_digits_split, mlp
from netviz_widget.errors import GraphError, InputError
from tests.model_state import assert_unchanged, fingerprint
from tests.wire import decode_array

FC1 = slice(64, 96)  # display ids of fc1's units in the digits MLP


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


@pytest.fixture
def viz(digits):
    return NetViz(digits_mlp(seed=0), digits.x_test[:3], reference=digits.x_train[:100], n_steps=8,
                  compare=digits_mlp(seed=1))


def shown(viz, name="node_scores"):
    return decode_array(viz.view.state[name])


def test_the_toggle_shows_a_b_and_the_change(viz, digits):
    a = viz.explainer.snapshot()
    b = Explainer(digits_mlp(seed=1), digits.x_test[:3], target=viz.explainer.target,
                  reference=digits.x_train[:100], n_steps=8).snapshot()
    assert viz.children[0] is viz.comparison.box
    np.testing.assert_array_equal(shown(viz)[FC1], a.node_scores["fc1"][0])
    viz.comparison.toggle.value = "B"  # as a click on the toggle does
    np.testing.assert_array_equal(shown(viz)[FC1], b.node_scores["fc1"][0])
    np.testing.assert_array_equal(shown(viz, "activations")[FC1], b.activations["fc1"][0])
    assert viz.view.state["predicted"] == int(b.prediction[0])
    viz.comparison.show("diff")
    np.testing.assert_array_equal(shown(viz)[FC1], b.node_scores["fc1"][0] - a.node_scores["fc1"][0])
    edges = shown(viz, "edge_scores")
    compare = viz.view.state["compare"]
    assert compare["mode"] == "B − A"
    np.testing.assert_allclose(edges, decode_array(compare["b_edges"]) - decode_array(compare["a_edges"]),
                               atol=1e-6)
    assert np.abs(edges).max() > 0
    viz.example = 2
    np.testing.assert_array_equal(shown(viz)[FC1], b.node_scores["fc1"][2] - a.node_scores["fc1"][2])
    with pytest.raises(InputError, match="mode"):
        viz.comparison.show("C")


def test_the_hover_carries_both_models_values_and_predictions(viz):
    a, b = viz.explainer.snapshot(), viz.explainer.other.snapshot()
    compare = viz.view.state["compare"]
    np.testing.assert_array_equal(decode_array(compare["a_scores"])[FC1], a.node_scores["fc1"][0])
    np.testing.assert_array_equal(decode_array(compare["b_activations"])[FC1], b.activations["fc1"][0])
    assert compare["predicted"] == [int(a.prediction[0]), int(b.prediction[0])]
    assert "A predicts" in viz.comparison.info.value and "B predicts" in viz.comparison.info.value


def test_interventions_apply_to_both_models(viz):
    viz.select("fc2", 3)
    viz.intervene(mode="zero")
    for explainer in (viz.explainer, viz.explainer.other):
        assert [i.describe() for i in explainer.interventions] == [viz.explainer.interventions[0].describe()]
        assert np.all(explainer.snapshot().activations["fc2"][:, 3] == 0)
    viz.comparison.show("B")
    assert np.all(shown(viz, "activations")[96 + 3] == 0)
    viz.undo()
    assert not viz.explainer.interventions and not viz.explainer.other.interventions
    viz.redo()
    assert len(viz.explainer.other.interventions) == 1
    viz.reset()
    assert not viz.explainer.other.interventions
    diff = viz.comparison.diff()
    headless = viz.explainer.compare(viz.explainer.other)
    np.testing.assert_array_equal(diff.node_scores["fc1"], headless.node_scores["fc1"])


def test_a_different_architecture_is_refused(digits):
    other = mlp((64, 32, 12, 10))
    before = fingerprint(other)
    with pytest.raises(GraphError, match=r"compare: expected a model with the same layered graph.*fc2\[12\]"):
        NetViz(digits_mlp(), digits.x_test[:2], compare=other)
    assert_unchanged(other, before)


def test_compare_mode_leaves_both_models_unchanged(digits):
    a, b = digits_mlp(seed=0), digits_mlp(seed=1)
    before_a, before_b = fingerprint(a), fingerprint(b)
    viz = NetViz(a, digits.x_test[:2], n_steps=4, compare=b)
    viz.select("fc1", 0)
    viz.intervene(mode="scale", value=2.0)
    viz.comparison.show("diff")
    assert_unchanged(a, before_a)
    assert_unchanged(b, before_b)
