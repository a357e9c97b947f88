"""forward(a, b): several inputs given as a tuple: one input layer per input (packed along
axis 1 inside the engine), IG per input, edges and interventions per input layer."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerConductance
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget.errors import InputError
from tests.model_state import assert_unchanged, fingerprint

N_STEPS = 6


class TwoTowers(nn.Module):
    """Two inputs, one tower each, merged by concatenation (a two-tower recommender)."""

    def __init__(self) -> None:
        super().__init__()
        self.user, self.item = nn.Linear(4, 5), nn.Linear(3, 5)
        self.head = nn.Linear(10, 2)

    def forward(self, user: torch.Tensor, item: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        joint = torch.cat([torch.relu(self.user(user)), torch.tanh(self.item(item))], 1)
        return self.head(joint) * scale


def _setup():
    torch.manual_seed(0)
    return TwoTowers().eval(), (torch.rand(3, 4), torch.rand(3, 3))


def test_ig_per_input_and_conductance_equal_captum():
    model, (a, b) = _setup()
    before = fingerprint(model)
    ex = Explainer(model, (a, b), n_steps=N_STEPS)
    snap = ex.snapshot()
    zeros = (torch.zeros_like(a), torch.zeros_like(b))
    expected = IntegratedGradients(model).attribute((a, b), baselines=zeros, target=ex.target,
                                                    n_steps=N_STEPS + 1, method="gausslegendre")
    parts = ex.split_inputs(snap.input_scores)
    assert [p.shape for p in parts] == [(3, 4), (3, 3)]
    for got, want in zip(parts, expected):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-5, atol=1e-8)
    gm = ex.graph.runner.gm  # each layer read at its tap (after its activation) on the packed input
    for layer in ex.graph.layers[2:]:  # after the two input layers
        result = LayerConductance(gm, ex.graph.runner.probes[layer.tap]).attribute(
            ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target, n_steps=N_STEPS)
        np.testing.assert_allclose(snap.node_scores[layer.name], result.detach().numpy(),
                                   rtol=1e-5, atol=1e-7)
    # one input layer per input, named after the forward's arguments, each with its own IG
    assert [(la.name, la.n_units, la.role) for la in ex.graph.input_layers] == [
        ("input:user", 4, "input"), ("input:item", 3, "input")]
    for layer, want in zip(ex.graph.input_layers, expected):
        np.testing.assert_allclose(snap.node_scores[layer.name], want.detach().numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(snap.activations["input:item"], b.numpy())
    # each tower reads only its own input's units: one block from each input layer
    ranges = {(b.src, b.dst): b.ranges for b in ex.graph.blocks if b.src.startswith("input")}
    assert ranges == {("input:user", "user"): ((0, 0, 4),), ("input:item", "item"): ((0, 0, 3),)}
    np.testing.assert_array_equal(next(b.weight for b in ex.graph.blocks if b.dst == "item"),
                                  model.item.weight.detach().numpy())
    # the written evidence names each feature within its own input
    evidence = next(line for line in str(ex.explain(0)).splitlines() if line.startswith("Evidence"))
    assert re.search(r"features (user|item)\[\d\] \([+-]", evidence), evidence
    assert_unchanged(model, before)


class Joint(nn.Module):
    """Both inputs concatenated into one Linear: one edge block from each input layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(7, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.fc(torch.cat([b, a], 1))))


def test_a_layer_reading_both_inputs_gets_a_block_from_each_at_its_offsets():
    torch.manual_seed(1)
    model, a, b = Joint().eval(), torch.rand(2, 4), torch.rand(2, 3)
    ex = Explainer(model, (a, b), n_steps=N_STEPS)
    blocks = {b.src: b for b in ex.graph.blocks_into("fc")}
    assert set(blocks) == {"input:a", "input:b"}
    # fc reads b's 3 units first, then a's 4: each block's columns are its own layer's units
    assert blocks["input:b"].ranges == ((0, 0, 3),) and blocks["input:a"].ranges == ((3, 0, 4),)
    weight = model.fc.weight.detach().numpy()
    np.testing.assert_array_equal(blocks["input:a"].weight, weight[:, 3:])
    np.testing.assert_array_equal(blocks["input:b"].weight, weight[:, :3])
    snap = ex.snapshot()
    expected = IntegratedGradients(model).attribute(
        (a, b), baselines=(torch.zeros_like(a), torch.zeros_like(b)), target=ex.target,
        n_steps=N_STEPS + 1, method="gausslegendre")
    np.testing.assert_allclose(snap.node_scores["input:a"], expected[0].numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(snap.node_scores["input:b"], expected[1].numpy(), rtol=1e-5, atol=1e-8)
    # the two blocks' edge scores are the columns of the one block of the same model given
    # the concatenation [b, a] as one input
    single = nn.Sequential(model.fc, nn.ReLU(), model.out)
    one = Explainer(single, torch.cat([b, a], 1), n_steps=N_STEPS).snapshot().edge_scores[("input", "0")]
    np.testing.assert_allclose(snap.edge_scores[("input:b", "fc")], one[:, :, :3], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(snap.edge_scores[("input:a", "fc")], one[:, :, 3:], rtol=1e-5, atol=1e-8)


def test_interventions_act_on_one_input_layer():
    torch.manual_seed(1)
    model, a, b = Joint().eval(), torch.rand(2, 4), torch.rand(2, 3)
    ex = Explainer(model, (a, b), n_steps=2, reference=(torch.rand(5, 4), torch.rand(5, 3)))
    clean = ex.snapshot()
    zeroed = ex.intervene("input:b", [0, 2], "zero")
    b0 = b.clone()
    b0[:, [0, 2]] = 0
    with torch.no_grad():
        np.testing.assert_allclose(zeroed.logits, model(a, b0).numpy(), rtol=1e-6, atol=1e-7)
    assert np.all(zeroed.node_scores["input:b"][:, [0, 2]] == 0)
    assert np.all(zeroed.node_scores["input:a"] != 0)  # the other input is untouched
    ex.undo()
    mean = ex.intervene("input:a", [1], "mean")
    a1 = a.clone()
    a1[:, 1] = ex.reference[:, 1].mean()  # the packed reference: a's 4 units, then b's 3
    with torch.no_grad():
        np.testing.assert_allclose(mean.logits, model(a1, b).numpy(), rtol=1e-6, atol=1e-7)
    ex.undo()
    clamped = ex.intervene("input:b", [1], "clamp", value=0.5)
    b1 = b.clone()
    b1[:, 1] = 0.5
    with torch.no_grad():
        np.testing.assert_allclose(clamped.logits, model(a, b1).numpy(), rtol=1e-6, atol=1e-7)
    ex.undo()
    other = (torch.rand(2, 4), torch.rand(2, 3))
    patched = ex.intervene("input:a", [0, 1, 2, 3], "patch", patch_input=other)
    with torch.no_grad():
        np.testing.assert_allclose(patched.logits, model(other[0], b).numpy(), rtol=1e-6, atol=1e-7)
    ex.reset()
    ex._cache.clear()
    assert ex.snapshot().equals(clean)
    # the drill-down of an input unit: its NeuronConductance sits on that input's feature only
    view = ex.neuron("input:b", 1)
    assert np.count_nonzero(ex.split_inputs(view.input_scores)[0]) == 0
    assert np.count_nonzero(view.input_scores[:, [0, 1, 2, 3, 4, 6]]) == 0  # b[1] is packed unit 5
    assert np.all(view.input_scores[:, 5] != 0)


def test_zero_undo_and_patch_with_a_tuple():
    model, (a, b) = _setup()
    ex = Explainer(model, (a, b), n_steps=2)
    clean = ex.snapshot()
    with torch.no_grad():
        np.testing.assert_allclose(clean.logits, model(a, b).numpy(), rtol=1e-6)
    ex.intervene("item", [0, 1, 2, 3, 4], "zero")
    with torch.no_grad():
        expected = model.head(torch.cat([torch.relu(model.user(a)), torch.zeros(3, 5)], 1))
    np.testing.assert_allclose(ex.snapshot().logits, expected.numpy(), rtol=1e-6, atol=1e-7)
    ex.undo()
    ex._cache.clear()
    assert ex.snapshot().equals(clean)
    other = (torch.rand(3, 4), torch.rand(3, 3))
    patched = ex.intervene("user", list(range(5)), "patch", patch_input=other).logits
    with torch.no_grad():
        expected = model.head(torch.cat([torch.relu(model.user(other[0])),
                                         torch.tanh(model.item(b))], 1))
    np.testing.assert_allclose(patched, expected.numpy(), rtol=1e-6, atol=1e-7)
    NetViz(model, (a, b), n_steps=2)


def test_inputs_that_cannot_be_packed_are_refused_naming_which():
    model, (a, _) = _setup()
    with pytest.raises(InputError, match=r"inputs\[1\]: expected the batch size, dtype and every "
                       r"axis but axis 1 of inputs\[0\]"):
        Explainer(model, (a, torch.rand(2, 3)))
    with pytest.raises(InputError, match=r"inputs: expected one tensor per input of the model's "
                       r"forward \(3\)"):  # user, item and scale
        Explainer(model, (a, torch.rand(3, 3), torch.rand(3, 2), torch.rand(3, 1)))


class RgbDepth(nn.Module):
    """An image and a depth map, one Conv2d each, merged by a sum (an RGB-D classifier)."""

    def __init__(self) -> None:
        super().__init__()
        self.rgb_conv, self.depth_conv = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        fused = torch.relu(self.rgb_conv(rgb)) + torch.relu(self.depth_conv(depth))
        return self.head(fused.mean((2, 3)))


def test_image_inputs_get_channel_input_layers():
    torch.manual_seed(2)
    model, rgb, depth = RgbDepth().eval(), torch.rand(2, 3, 6, 6), torch.rand(2, 1, 6, 6)
    ex = Explainer(model, (rgb, depth), n_steps=N_STEPS)
    assert [(la.name, la.n_units, la.shape) for la in ex.graph.input_layers] == [
        ("input:rgb", 3, (3, 6, 6)), ("input:depth", 1, (1, 6, 6))]
    snap = ex.snapshot()
    expected = IntegratedGradients(model).attribute(
        (rgb, depth), baselines=(torch.zeros_like(rgb), torch.zeros_like(depth)), target=ex.target,
        n_steps=N_STEPS + 1, method="gausslegendre")
    for layer, want in zip(ex.graph.input_layers, expected):  # a channel's score: summed over pixels
        np.testing.assert_allclose(snap.node_scores[layer.name], want.sum((2, 3)).numpy(),
                                   rtol=1e-5, atol=1e-7)
    assert "region" in str(ex.explain(0))  # images: evidence by region, over both inputs' channels


def test_compare_with_a_model_and_the_recorder_on_several_inputs():
    from netviz_widget.engine.recorder import Recorder

    model, (a, b) = _setup()
    ex = Explainer(model, (a, b), n_steps=2)
    other = TwoTowers().eval()
    other.load_state_dict(model.state_dict())
    with torch.no_grad():
        other.item.weight.mul_(2)
    diff = ex.compare(other)  # scored on the same two inputs
    with torch.no_grad():
        np.testing.assert_allclose(diff.b.logits, other(a, b).numpy(), rtol=1e-6, atol=1e-7)
    assert {u.layer for u in diff.top_units(3)} <= {"item", "input:item", "head"}
    with pytest.raises(InputError, match=r"inputs: expected a torch.Tensor batch.*Several inputs go to "
                       r"Explainer / NetViz as a tuple"):
        Recorder(model, (a, b))


def test_the_view_shows_one_input_layer_per_input_and_names_their_features():
    model, (a, b) = _setup()
    viz = NetViz(model, (a, b), n_steps=2)
    layers = viz.view.topology["layers"]
    assert [(la["name"], la["role"], la["n_nodes"]) for la in layers[:2]] == [
        ("input:user", "input", 4), ("input:item", "input", 3)]
    viz.select("item", 2)
    drill = viz.view.drilldown
    packed = drill["top_inputs"]
    assert drill["top_input_names"] == [f"user[{i}]" if i < 4 else f"item[{i - 4}]" for i in packed]
    assert drill["top_input_names"][0].startswith("item[")  # the item tower reads item's features
