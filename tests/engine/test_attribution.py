"""Scores that are right: equal to Captum, flows that add up, completeness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget import Explainer
from tests.captum_ref import integrated_gradients, layer_conductance, module_conductance, neuron_conductance
from tests.zoo import ZOO, example_input

TRACED = ["sequential_mlp", "custom_mlp", "small_cnn", "conv_block", "residual_mlp",
          "layernorm_gelu_mlp", "inplace_relu_mlp"]


def explainer(name, n_steps=16, batch=3, **kwargs):
    model = ZOO[name]().eval()
    return model, Explainer(model, example_input(model, batch=batch), n_steps=n_steps, **kwargs)


@pytest.mark.parametrize("name", TRACED)
def test_unit_scores_equal_captum_layer_conductance(name):
    model, ex = explainer(name)
    snap = ex.snapshot()
    if name == "inplace_relu_mlp":  # Captum cannot hook an in-place module; compare on a twin
        for module in model.modules():
            if isinstance(module, torch.nn.ReLU):
                module.inplace = False
    for layer in ex.graph.layers[1:]:
        expected = layer_conductance(ex.graph, layer.name, ex.inputs, ex.target, ex.n_steps)
        np.testing.assert_allclose(snap.node_scores[layer.name], expected, rtol=1e-5, atol=1e-6,
                                   err_msg=layer.name)


@pytest.mark.parametrize("name", ["sequential_mlp", "small_cnn", "residual_mlp"])
def test_input_scores_equal_captum_integrated_gradients(name):
    model, ex = explainer(name)
    expected = integrated_gradients(model, ex.inputs, ex.target, ex.n_steps + 1)
    np.testing.assert_allclose(ex.snapshot().input_scores, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sequential_mlp", "custom_mlp", "conv_block", "small_cnn"])
def test_edge_scores_flow_out_of_each_source_unit(name):
    _, ex = explainer(name)
    snap = ex.snapshot()
    checked = 0
    for block in ex.graph.blocks:
        src = ex.graph.layer(block.src)
        if src.role == "input" or block.kind == "identity":
            continue
        out_of_src = snap.edge_scores[(block.src, block.dst)].sum(axis=1)
        if block.input_key == src.tap or block.group > 1:  # no pooling between: exact
            np.testing.assert_allclose(out_of_src, snap.node_scores[block.src], rtol=1e-4,
                                       atol=1e-5, err_msg=f"{block.src}->{block.dst}")
            checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name", ["sequential_mlp", "conv_block", "small_cnn", "residual_mlp"])
def test_edge_scores_flow_into_each_pre_activation(name):
    model, ex = explainer(name)
    snap = ex.snapshot()
    for block in ex.graph.blocks:
        if block.module is None:
            continue
        module = model.get_submodule(block.module)
        expected = module_conductance(model, module, ex.inputs, ex.target, ex.n_steps)
        into_dst = snap.edge_scores[(block.src, block.dst)].sum(axis=2)
        np.testing.assert_allclose(into_dst, expected, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{block.src}->{block.dst}")


@pytest.mark.parametrize("name", ["sequential_mlp", "conv_block", "layernorm_gelu_mlp"])
def test_every_layer_adds_up_to_the_output_change(name):
    _, ex = explainer(name, n_steps=200)
    snap = ex.snapshot()
    change = snap.output_change
    assert np.all(np.abs(snap.delta) <= 0.01 * np.abs(change) + 1e-4)
    for layer in ex.graph.layers[1:]:
        total = snap.node_scores[layer.name].sum(axis=1)
        np.testing.assert_allclose(total, change, rtol=0.02, atol=1e-3, err_msg=layer.name)


def test_ablated_units_have_zero_conductance_and_the_rest_redistributes():
    _, ex = explainer("sequential_mlp", n_steps=200)
    before = ex.snapshot()
    after = ex.intervene("0", [1, 2, 5], "zero")
    assert np.all(after.node_scores["0"][:, [1, 2, 5]] == 0)
    assert np.all(after.edge_scores[("0", "2")][:, :, [1, 2, 5]] == 0)
    assert not np.allclose(after.node_scores["2"], before.node_scores["2"])
    np.testing.assert_allclose(after.node_scores["2"].sum(1), after.output_change, rtol=0.02, atol=1e-3)
    mean = ex.intervene("2", [0], "mean")
    assert np.all(mean.node_scores["2"][:, 0] == 0)


def test_neuron_drill_down_equals_captum_neuron_conductance():
    model, ex = explainer("sequential_mlp")
    unit = int(np.abs(ex.snapshot().node_scores["0"][0]).argmax())  # a live unit
    expected = neuron_conductance(model, model[1], ex.inputs, unit, ex.target, ex.n_steps)
    view = ex.neuron("0", unit)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(view.input_scores, expected, rtol=1e-5, atol=1e-7)
    order = np.argsort(-np.abs(expected[0]))[:3]
    assert list(view.top_inputs[0][:3]) == list(order)


def test_channel_drill_down_is_the_sum_over_its_positions():
    model, ex = explainer("conv_block", batch=2)
    view = ex.neuron("conv2", 1)
    expected = sum(neuron_conductance(model, model.relu2, ex.inputs, (1, h, w), ex.target, ex.n_steps)
                   for h in range(3) for w in range(3))
    np.testing.assert_allclose(view.input_scores, expected, rtol=1e-4, atol=1e-6)


def test_top_activating_examples_come_from_the_reference():
    model, ex = explainer("sequential_mlp", reference=example_input(ZOO["sequential_mlp"](), 40, 3))
    view = ex.neuron("0", 2, k=4)
    with torch.no_grad():
        acts = torch.relu(model[0](ex.reference))[:, 2]
    assert list(view.top_examples) == acts.topk(4).indices.tolist()
    np.testing.assert_allclose(view.top_activations, acts.topk(4).values.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["sequential_mlp", "small_cnn", "residual_mlp"])
def test_input_only_pass_gives_the_same_input_scores(name):
    # explain()'s runner-up pass skips the layers: its input IG must be the full pass's, bit for bit
    from netviz_widget.engine.attribution import path_scores

    _, ex = explainer(name, n_steps=6)
    rival = (ex.target + 1) % ex.graph.output_layer.n_units
    full = path_scores(ex.graph, ex.inputs, ex.baseline, rival, ex.n_steps, edges=False)
    only = path_scores(ex.graph, ex.inputs, ex.baseline, rival, ex.n_steps, edges=False, layers=False)
    np.testing.assert_array_equal(only.input_scores, full.input_scores)
    assert set(only.node_scores) == {ex.graph.input_layer.name} and not only.edge_scores
    np.testing.assert_array_equal(only.node_scores[ex.graph.input_layer.name],
                                  full.node_scores[ex.graph.input_layer.name])
