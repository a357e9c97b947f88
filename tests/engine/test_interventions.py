"""Interventions, checked by their effect on the model's output."""

from __future__ import annotations

import contextlib

import pytest
import torch

from netviz_widget import LayeredGraph, intervened, make_intervention
from netviz_widget.engine.interventions import layer_activations
from netviz_widget.errors import GraphError, InterventionError, NetVizError
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo import ZOO, example_input


def setup(name="custom_mlp", batch=3):
    model = ZOO[name]()
    maybe_warns = pytest.warns(UserWarning) if name == "branchy_mlp" else contextlib.nullcontext()
    with maybe_warns:
        graph = LayeredGraph.from_module(model, example_input(model))
    return model, graph, example_input(model, batch=batch)


def run(graph, x, interventions=()):
    with torch.no_grad(), intervened(graph, interventions):
        return graph.forward(x)


@pytest.mark.parametrize("name", ["custom_mlp", "small_cnn", "residual_mlp", "branchy_mlp",
                                  "inplace_relu_mlp"])
def test_zeroing_units_the_output_depends_on_changes_it(name):
    _, graph, x = setup(name)
    layer = graph.layers[1]
    clean = run(graph, x)
    ablated = run(graph, x, [make_intervention(graph, layer.name, range(layer.n_units), "zero")])
    assert not torch.allclose(clean, ablated)
    # and nothing stays applied after the block
    assert torch.equal(run(graph, x), clean)


def test_zero_sets_exactly_the_chosen_units():
    _, graph, x = setup()
    with torch.no_grad(), intervened(graph, [make_intervention(graph, "fc1", [1, 4], "zero")],
                                     capture=[graph.layer("fc1").tap]) as store:
        graph.forward(x)
    acts = store[graph.layer("fc1").tap]
    clean = layer_activations(graph, x, ["fc1"])["fc1"]
    assert torch.all(acts[:, [1, 4]] == 0)
    keep = [0, 2, 3, 5, 6]
    assert torch.equal(acts[:, keep], clean[:, keep])


@pytest.mark.parametrize("name", ["custom_mlp", "small_cnn"])
def test_clamping_a_unit_to_its_own_activation_changes_nothing(name):
    _, graph, x = setup(name, batch=1)
    layer = graph.layers[1]
    own = layer_activations(graph, x, [layer.name])[layer.name]
    patch = make_intervention(graph, layer.name, [0], "patch", patch_input=x)
    assert torch.equal(run(graph, x, [patch]), run(graph, x))
    if own[0, 0].dim() == 0:
        clamp = make_intervention(graph, layer.name, [0], "clamp", value=float(own[0, 0]))
        assert torch.equal(run(graph, x, [clamp]), run(graph, x))


@pytest.mark.parametrize("name", ["custom_mlp", "small_cnn", "residual_mlp"])
def test_patching_every_unit_of_a_layer_reproduces_the_other_output(name):
    _, graph, x = setup(name)
    other = example_input(graph.model, batch=3, seed=99)
    for layer in graph.layers[:-1]:
        if layer.role == "input" or (layer.kind != "residual" and name == "residual_mlp"):
            continue  # in a residual net only the residual stream is a complete cut
        patch = make_intervention(graph, layer.name, range(layer.n_units), "patch",
                                  patch_input=other)
        torch.testing.assert_close(run(graph, x, [patch]), run(graph, other))


def test_scale_one_is_identity_and_scale_zero_is_zero():
    _, graph, x = setup()
    clean = run(graph, x)
    assert torch.equal(run(graph, x, [make_intervention(graph, "fc2", [0, 2], "scale", 1.0)]), clean)
    torch.testing.assert_close(
        run(graph, x, [make_intervention(graph, "fc2", [0, 2], "scale", 0.0)]),
        run(graph, x, [make_intervention(graph, "fc2", [0, 2], "zero")]))


def test_mean_ablation_uses_the_reference_mean():
    _, graph, x = setup()
    reference = example_input(graph.model, batch=50, seed=5)
    mean = layer_activations(graph, reference, ["fc1"])["fc1"].mean(0)
    via_mean = run(graph, x, [make_intervention(graph, "fc1", [3], "mean", reference=reference)])
    via_clamp = run(graph, x, [make_intervention(graph, "fc1", [3], "clamp", float(mean[3]))])
    torch.testing.assert_close(via_mean, via_clamp)


def test_resample_is_seeded_and_draws_reference_activations():
    _, graph, x = setup()
    reference = example_input(graph.model, batch=20, seed=5)
    a = make_intervention(graph, "fc1", [0, 1], "resample", reference=reference, batch_size=3, seed=4)
    b = make_intervention(graph, "fc1", [0, 1], "resample", reference=reference, batch_size=3, seed=4)
    assert torch.equal(a.source, b.source)
    pool = layer_activations(graph, reference, ["fc1"])["fc1"]
    for row in a.source:
        assert any(torch.equal(row, ref) for ref in pool)
    assert torch.equal(run(graph, x, [a]), run(graph, x, [b]))


def test_several_interventions_on_one_layer_compose():
    _, graph, x = setup()
    both = [make_intervention(graph, "fc1", [0], "zero"), make_intervention(graph, "fc1", [1], "zero")]
    torch.testing.assert_close(run(graph, x, both),
                               run(graph, x, [make_intervention(graph, "fc1", [0, 1], "zero")]))


@pytest.mark.parametrize("name", ["custom_mlp", "small_cnn", "branchy_mlp", "inplace_relu_mlp"])
def test_model_is_untouched_also_when_a_forward_raises_mid_way(name):
    model, graph, x = setup(name)
    model.train()
    model.register_forward_hook(lambda *a: None)
    before = fingerprint(model)

    class Boom(RuntimeError):
        pass

    def explode(_):
        raise Boom
    layer = graph.layers[1]
    with pytest.raises(Boom), graph.runner.probing({layer.tap: explode}):
        graph.forward(x)
    with pytest.raises(Boom), intervened(graph, [make_intervention(graph, layer.name, [0], "zero")]):
        graph.forward(x)
        raise Boom
    assert_unchanged(model, before)
    # the runner is clean again: no edit survives
    torch.testing.assert_close(run(graph, x), run(graph, x, []))


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(layer="nope", units=[0], mode="zero"), GraphError, "layer"),
    (dict(layer="fc1", units=[7], mode="zero"), GraphError, "[0, 7)"),
    (dict(layer="fc1", units=[-1], mode="zero"), GraphError, "[0, 7)"),
    (dict(layer="fc1", units=[], mode="zero"), GraphError, "non-empty"),
    (dict(layer="fc1", units=["a"], mode="zero"), GraphError, "integer"),
    (dict(layer="fc1", units=[0], mode="explode"), InterventionError, "'zero'"),
    (dict(layer="fc1", units=[0], mode="clamp", value=float("nan")), InterventionError, "finite"),
    (dict(layer="fc1", units=[0], mode="scale", value=float("inf")), InterventionError, "finite"),
    (dict(layer="fc1", units=[0], mode="mean"), InterventionError, "reference"),
    (dict(layer="fc1", units=[0], mode="patch"), InterventionError, "patch_input"),
    (dict(layer="fc1", units=[0], mode="patch", patch_input=torch.zeros(1, 9)), NetVizError,
     "patch_input"),
])
def test_bad_requests_raise_clear_errors(kwargs, error, words):
    _, graph, _ = setup()
    with pytest.raises(error) as info:
        make_intervention(graph, **kwargs)
    message = str(info.value)
    assert words in message and "expected" in message and "got" in message
