"""The layered graph: exact layer lists, unit counts and edge-block shapes per architecture."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from netviz_widget import LayeredGraph
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo import ZOO, example_input

EXPECTED = {
    # name: ([(layer, kind, role, units, shape)], [(src, dst, kind, (dst, src))])
    "sequential_mlp": (
        [("input", "input", "input", 4, (4,)), ("0", "linear", "hidden", 8, (8,)),
         ("2", "linear", "hidden", 6, (6,)), ("4", "linear", "output", 3, (3,))],
        [("input", "0", "dense", (8, 4)), ("0", "2", "dense", (6, 8)), ("2", "4", "dense", (3, 6))],
    ),
    "custom_mlp": (
        [("input", "input", "input", 5, (5,)), ("fc1", "linear", "hidden", 7, (7,)),
         ("fc2", "linear", "hidden", 4, (4,)), ("head", "linear", "output", 3, (3,))],
        [("input", "fc1", "dense", (7, 5)), ("fc1", "fc2", "dense", (4, 7)),
         ("fc2", "head", "dense", (3, 4))],
    ),
    "small_cnn": (
        [("input", "input", "input", 1, (1, 8, 8)), ("conv1", "conv2d", "hidden", 4, (4, 8, 8)),
         ("conv2", "conv2d", "hidden", 6, (6, 4, 4)), ("fc", "linear", "output", 3, (3,))],
        [("input", "conv1", "conv", (4, 1)), ("conv1", "conv2", "conv", (6, 4)),
         ("conv2", "fc", "dense", (3, 6))],
    ),
    "residual_mlp": (
        [("input", "input", "input", 6, (6,)), ("fc_in", "linear", "hidden", 8, (8,)),
         ("block", "linear", "hidden", 8, (8,)), ("add", "residual", "hidden", 8, (8,)),
         ("out", "linear", "output", 4, (4,))],
        [("input", "fc_in", "dense", (8, 6)), ("fc_in", "block", "dense", (8, 8)),
         ("fc_in", "add", "identity", (8, 8)), ("block", "add", "identity", (8, 8)),
         ("add", "out", "dense", (4, 8))],
    ),
    "inplace_relu_mlp": (
        [("input", "input", "input", 4, (4,)), ("fc1", "linear", "hidden", 6, (6,)),
         ("fc2", "linear", "hidden", 5, (5,)), ("fc3", "linear", "output", 2, (2,))],
        [("input", "fc1", "dense", (6, 4)), ("fc1", "fc2", "dense", (5, 6)),
         ("fc2", "fc3", "dense", (2, 5))],
    ),
    "layernorm_gelu_mlp": (
        [("input", "input", "input", 4, (4,)), ("fc1", "linear", "hidden", 6, (6,)),
         ("fc2", "linear", "hidden", 5, (5,)), ("fc3", "linear", "output", 3, (3,))],
        [("input", "fc1", "dense", (6, 4)), ("fc1", "fc2", "dense", (5, 6)),
         ("fc2", "fc3", "dense", (3, 5))],
    ),
}


def layer_rows(graph):
    return [(la.name, la.kind, la.role, la.n_units, la.shape) for la in graph.layers]


def block_rows(graph):
    return [(b.src, b.dst, b.kind, b.shape) for b in graph.blocks]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layers_and_blocks_match_the_architecture(name):
    model = ZOO[name]()
    graph = LayeredGraph.from_module(model, example_input(model))
    layers, blocks = EXPECTED[name]
    assert graph.traced
    assert layer_rows(graph) == layers
    assert block_rows(graph) == blocks


def test_unit_is_read_after_its_nonlinearity():
    model = ZOO["custom_mlp"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    x = example_input(model)
    with graph.runner.probing(capture=[graph.layer("fc1").tap]) as store:
        graph.forward(x)
    expected = torch.relu(model.fc1(x))
    assert torch.allclose(store[graph.layer("fc1").tap], expected)


def test_linear_weights_are_shipped_as_they_are():
    model = ZOO["sequential_mlp"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    np.testing.assert_array_equal(graph.blocks[1].weight, model[2].weight.detach().numpy())


def test_conv_weights_reduce_to_signed_l2_norm_per_channel_pair():
    model = ZOO["small_cnn"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    kernel = model.conv2.weight.detach()[2, 1]
    expected = kernel.norm().item() * (1 if kernel.sum() >= 0 else -1)
    assert graph.blocks[1].weight[2, 1] == pytest.approx(expected, rel=1e-6)


def test_flatten_maps_linear_features_back_to_channels():
    model = ZOO["small_cnn"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    block = graph.blocks[2]
    assert block.group == 16
    weight = model.fc.weight.detach()[1, 5 * 16:6 * 16]
    expected = weight.norm().item() * (1 if weight.sum() >= 0 else -1)
    assert block.weight[1, 5] == pytest.approx(expected, rel=1e-6)


def test_skip_connection_becomes_identity_edges():
    model = ZOO["residual_mlp"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    skips = [b for b in graph.blocks if b.kind == "identity"]
    assert {b.src for b in skips} == {"fc_in", "block"}
    for block in skips:
        np.testing.assert_array_equal(block.weight, np.eye(8, dtype=np.float32))


def test_untraceable_model_falls_back_to_hooks_with_a_warning():
    model = ZOO["branchy_mlp"]()
    before = fingerprint(model)
    with pytest.warns(UserWarning, match="skip edges may be missing"):
        graph = LayeredGraph.from_module(model, example_input(model))
    assert not graph.traced
    assert layer_rows(graph) == [("input", "input", "input", 4, (4,)),
                                 ("fc1", "linear", "hidden", 6, (6,)),
                                 ("fc2", "linear", "output", 3, (3,))]
    assert block_rows(graph) == [("input", "fc1", "dense", (6, 4)), ("fc1", "fc2", "dense", (3, 6))]
    assert graph.layer("fc1").tap == "act:out"
    assert_unchanged(model, before)


def test_models_in_train_mode_are_traced_in_eval_mode_and_restored():
    model = ZOO["small_cnn"]().train()
    before = fingerprint(model)
    graph = LayeredGraph.from_module(model, example_input(model))
    assert [la.name for la in graph.layers] == ["input", "conv1", "conv2", "fc"]
    assert_unchanged(model, before)
    assert model.training and model.bn.training


@pytest.mark.parametrize("name", sorted(ZOO))
def test_building_the_graph_leaves_the_model_untouched(name):
    model = ZOO[name]()
    before = fingerprint(model)
    with pytest.warns(UserWarning) if name == "branchy_mlp" else contextlib.nullcontext():
        graph = LayeredGraph.from_module(model, example_input(model))
    assert_unchanged(model, before)
    # the probed copy computes exactly what the model computes
    x = example_input(model, batch=4, seed=7)
    with torch.no_grad():
        model.eval()
        np.testing.assert_allclose(graph.forward(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_summary_and_text_table():
    model = ZOO["small_cnn"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    rows = graph.summary()
    assert [r["units"] for r in rows] == [1, 4, 6, 3]
    assert rows[3]["in_edges"] == 18 and rows[3]["from"] == "conv2"
    text = graph.to_text()
    assert "conv2d" in text and text.splitlines()[0].startswith("layer")
    assert "conv1[4]" in repr(graph)



def test_a_quote_in_a_module_name_falls_back_to_hooks_instead_of_crashing() -> None:
    """torch.fx generates Python source with module names inside string literals: a name holding
    a quote makes that source invalid. The build falls back to hooks (and says so)."""
    import warnings
    from collections import OrderedDict

    from torch import nn

    from netviz_widget.engine.graph.layered import LayeredGraph

    names = ["fc\"1", "act'", "fc<2>"]
    model = nn.Sequential(OrderedDict([(names[0], nn.Linear(4, 3)), (names[1], nn.ReLU()),
                                       (names[2], nn.Linear(3, 2))]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = LayeredGraph.from_module(model, torch.rand(2, 4))
    assert any("could not trace" in str(w.message) for w in caught)
    assert not graph.traced
    assert [layer.name for layer in graph.layers][1:] == [names[0], names[2]]
