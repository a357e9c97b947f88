"""Issue 13: branches, gates, conv details and probability outputs, each checked against Captum;
interventions by their effect on the output; undo bit-identical; the model left as found."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerConductance, LayerIntegratedGradients
from torch import nn

from netviz_widget import Explainer, NetViz
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo_families import FAMILIES

N_STEPS = 6

# layers and edge blocks (src, dst, kind, ranges) the graph must have
EXPECTED_BLOCKS = {
    "inception": [("inception.branch1", "head", "dense", ((0, 0, 2),)),
                  ("inception.branch2.2", "head", "dense", ((2, 0, 3),)),
                  ("inception.branch3.2", "head", "dense", ((5, 0, 2),)),
                  ("inception.branch4.1", "head", "dense", ((7, 0, 2),))],
    "fire": [("fire.expand1x1", "classifier", "conv", ((0, 0, 3),)),
             ("fire.expand3x3", "classifier", "conv", ((3, 0, 3),))],
    "densenet": [("conv0", "dense2", "conv", ((0, 0, 3),)), ("dense1", "dense2", "conv", ((3, 0, 2),)),
                 ("conv0", "fc", "dense", ((0, 0, 3),)), ("dense1", "fc", "dense", ((3, 0, 2),)),
                 ("dense2", "fc", "dense", ((5, 0, 2),))],
    "two_branch_mlp": [("left", "head", "dense", ((0, 0, 4),)), ("right", "head", "dense", ((4, 0, 3),))],
    "split_mlp": [("fc", "a", "dense", ((0, 0, 3),)), ("fc", "b", "dense", ((0, 3, 5),)),
                  ("fc", "head", "dense", ((2, 4, 4),))],
    "glu": [("value", "mul", "gated", ((0, 0, 5),)), ("gate", "mul", "modulates", ((0, 0, 5),))],
    "two_heads": [("head_a", "cat", "identity", ((0, 0, 2),)), ("head_b", "cat", "identity", ((2, 0, 1),))],
    "squeeze_excitation": [("conv", "mul", "gated", ((0, 0, 4),)),
                           ("se.fc2", "mul", "modulates", ((0, 0, 4),))],
}
OUTPUT_ACTIVATION = {"softmax_mlp": "softmax", "log_softmax_mlp": "log_softmax",
                     "binary_mlp": "sigmoid", "captum_convnet": "softmax",
                     "captum_maxpool3d": "softmax"}


def build(name):
    model_fn, input_fn = FAMILIES[name]
    return model_fn().eval(), input_fn()


def logits_twin(model: nn.Module) -> nn.Module:
    """The same weights without the final probability function: what Captum must explain."""
    twin = copy.deepcopy(model)
    if isinstance(twin, nn.Sequential) and isinstance(twin[-1], (nn.Softmax, nn.Sigmoid)):
        return twin[:-1]
    if hasattr(twin, "softmax"):
        twin.softmax = nn.Identity()
        return twin
    if type(twin).__name__ == "LogSoftmaxMLP":
        return _Logits(twin)
    return twin


class _Logits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.fc1, self.fc2 = model.fc1, model.fc2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


@pytest.fixture(params=sorted(FAMILIES))
def family(request):
    model, x = build(request.param)
    before = fingerprint(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = Explainer(model, x, n_steps=N_STEPS)
    yield request.param, model, ex
    assert_unchanged(model, before)


def test_graph_has_the_expected_blocks_and_output_function(family):
    name, _, ex = family
    blocks = {(b.src, b.dst): (b.src, b.dst, b.kind, b.ranges) for b in ex.graph.blocks}
    for expected in EXPECTED_BLOCKS.get(name, []):
        assert blocks[expected[:2]] == expected
    assert ex.graph.traced
    assert ex.graph.output_activation == OUTPUT_ACTIVATION.get(name)


def test_input_ig_equals_captum(family):
    _name, model, ex = family
    if ex.tokens is not None:  # token ids: IG on the embedding output, as Captum's LIG
        embedding = model.get_submodule(ex._front.embedding_name)
        expected = LayerIntegratedGradients(model, embedding).attribute(
            ex.tokens, baselines=torch.zeros_like(ex.tokens), target=ex.target,
            n_steps=N_STEPS + 1, method="gausslegendre").detach().movedim(-1, 1).numpy()
    else:
        expected = IntegratedGradients(logits_twin(model)).attribute(
            ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target,
            n_steps=N_STEPS + 1, method="gausslegendre").detach().numpy()
    got = ex.snapshot().input_scores
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7 * np.abs(expected).max())


def test_every_layer_conductance_equals_captum(family):
    name, _model, ex = family
    snap = ex.snapshot()
    gm = ex.graph.runner.gm  # the traced copy: Captum reads each layer's tap through its probe
    for layer in ex.graph.layers[1:]:
        probe = ex.graph.runner.probes[layer.tap]
        result = LayerConductance(gm, probe).attribute(
            ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target, n_steps=N_STEPS)
        expected = _summed_over_positions(result, probe.axis)
        scale = max(np.abs(expected).max(), 1e-6)
        np.testing.assert_allclose(snap.node_scores[layer.name], expected, rtol=1e-5,
                                   atol=1e-6 * scale, err_msg=f"{name}: {layer.name}")


def test_edges_into_each_layer_add_up_to_its_pre_activation_conductance(family):
    name, model, ex = family
    snap = ex.snapshot()
    twin = logits_twin(model) if ex.tokens is None else ex.graph.model  # ids: from the embedding on
    for layer in ex.graph.layers[1:]:
        blocks = ex.graph.blocks_into(layer.name)
        into = sum(snap.edge_scores[(b.src, b.dst)].sum(axis=2) for b in blocks)
        reused = sum(b.module == blocks[0].module for b in ex.graph.blocks if b.src != b.dst) > 1 \
            and len({b.dst for b in ex.graph.blocks if b.module == blocks[0].module}) > 1
        if blocks[0].module is not None and not reused:  # a Linear/Conv: Captum on the user's module
            module = dict(twin.named_modules())[blocks[0].module]
            forward = twin
        else:  # a sum, a product or a reused module: its output's conductance on the traced copy
            forward, module = ex.graph.runner.gm, ex.graph.runner.probes[blocks[0].output_key]
        result = LayerConductance(forward, module).attribute(
            ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target, n_steps=N_STEPS)
        expected = _summed_over_positions(result, ex.graph.runner.probes[blocks[0].output_key].axis)
        scale = max(np.abs(expected).max(), 1e-6)
        np.testing.assert_allclose(into, expected, rtol=1e-4, atol=1e-4 * scale,
                                   err_msg=f"{name}: into {layer.name}")


def _summed_over_positions(result: torch.Tensor, axis: int) -> np.ndarray:
    """(batch, units) from Captum's layer attribution: every axis but the units' summed (the
    units are on the last axis of a token-wise layer, axis 1 otherwise)."""
    result = result.detach()
    if axis == -1 and result.dim() > 2:
        result = result.movedim(-1, 1)
    return result.reshape(result.shape[0], result.shape[1], -1).sum(-1).numpy()


def test_zero_then_undo_is_bit_identical_and_changes_the_output(family):
    name, _, ex = family
    clean = ex.snapshot()
    layer = next(la for la in ex.graph.layers if la.role == "hidden")
    changed = ex.intervene(layer.name, list(range(layer.n_units)), "zero")
    assert not np.array_equal(changed.logits, clean.logits), name
    ex.undo()
    ex._cache.clear()
    assert ex.snapshot().equals(clean)


def test_explain_circuit_and_the_view_run(family):
    _name, model, ex = family
    explanation = ex.explain()
    assert explanation.markdown
    assert ex.circuit().units
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = NetViz(model, ex.inputs if ex.tokens is None else ex.tokens, n_steps=2)
    assert view.explainer.graph.output_layer.n_units == ex.graph.output_layer.n_units


@pytest.mark.parametrize("name, module", [
    ("inception", "inception.branch3.2"), ("two_branch_mlp", "left"), ("densenet", "dense1"),
    ("fire", "fire.expand1x1"), ("glu", "gate"), ("split_mlp", "fc"),
])
def test_zeroing_a_branch_unit_equals_zeroing_it_in_the_model(name, module):
    """The engine's intervention on a branch unit (the one that matters most) has exactly the effect
    of a forward hook zeroing that channel of the user's module (the activations after it map 0
    to 0; a sigmoid gate is read after its sigmoid, so the hook sets the pre-sigmoid to -inf)."""
    model, x = build(name)
    ex = Explainer(model, x, n_steps=2)
    clean = ex.evaluate([])
    effects = [np.abs(ex.evaluate([_zero(ex, module, u)]) - clean).max()
               for u in range(ex.graph.layer(module).n_units)]
    unit = int(np.argmax(effects))
    got = ex.evaluate([_zero(ex, module, unit)])
    twin = copy.deepcopy(model)
    fill = -float("inf") if name == "glu" else 0.0

    def hook(mod, args, output):
        output = output.clone()
        output[:, unit] = fill
        return output

    dict(twin.named_modules())[module].register_forward_hook(hook)
    with torch.no_grad():
        expected = twin(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert not np.allclose(got, ex.evaluate([]))


def _zero(ex, layer, unit):
    from netviz_widget.engine.interventions import make_intervention

    return make_intervention(ex.graph, layer, [unit], "zero")


def test_probabilities_are_applied_once():
    model, x = build("softmax_mlp")
    ex = Explainer(model, x, n_steps=2)
    with torch.no_grad():
        np.testing.assert_allclose(ex.snapshot().probabilities, model(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ex.snapshot().logits, logits_twin(model)(x).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["binary_mlp", "one_logit_mlp"])
def test_one_output_models_use_the_sigmoid(name):
    model, x = build(name)
    ex = Explainer(model, x, n_steps=2)
    snap = ex.snapshot()
    np.testing.assert_allclose(snap.probabilities, torch.sigmoid(torch.from_numpy(snap.logits)).numpy(),
                               rtol=1e-6)
    assert snap.probabilities.min() > 0 and snap.probabilities.max() < 1
    assert "probability" in ex.explain().markdown


def test_the_view_marks_gate_edges_as_modulates():
    from tests.wire import decode_array

    model, x = build("glu")
    view = NetViz(model, x, n_steps=2)
    edges = view.view.topology["edges"]
    modulates = decode_array(edges["modulates"])
    src = decode_array(edges["src"])
    gate = next(la for la in view.view.topology["layers"] if la["name"] == "gate")
    from_gate = (src >= gate["offset"]) & (src < gate["offset"] + gate["n_nodes"])
    # the gate's 5 one-to-one edges into the product, and nothing else, are "modulates"
    assert modulates.sum() == 5
    assert np.array_equal(modulates == 1, from_gate & (decode_array(edges["dst"]) >= gate["offset"]
                                                       + gate["n_nodes"]))


def test_reference_means_follow_weight_changes():
    """Mean ablation reads cached reference means; an in-place weight update invalidates them."""
    from netviz_widget.engine.interventions import make_intervention

    model, x = build("two_branch_mlp")
    ex = Explainer(model, x, n_steps=2)
    first = make_intervention(ex.graph, "left", [0], "mean", reference=x).source.clone()
    with torch.no_grad():
        model.left.bias += 1.0
    second = make_intervention(ex.graph, "left", [0], "mean", reference=x).source
    with torch.no_grad():
        expected = torch.relu(model.left(x)).mean(0)
    assert torch.equal(second, expected)
    assert not torch.equal(first, second)


def test_untraceable_model_ending_in_a_sigmoid_explains_the_logit():
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(4, 5), nn.Linear(5, 1), nn.Sigmoid()

        def forward(self, x):
            if x.sum() > -1e9:  # data-dependent: forward hooks instead of fx
                x = x * 1.0
            return self.out(self.fc2(torch.relu(self.fc1(x))))

    torch.manual_seed(0)
    model, x = Branchy().eval(), torch.rand(3, 4)
    before = fingerprint(model)
    with pytest.warns(UserWarning, match="torch.fx could not trace"):
        ex = Explainer(model, x, n_steps=4)
    assert ex.graph.output_activation == "sigmoid" and not ex.graph.traced
    with torch.no_grad():
        logits = model.fc2(torch.relu(model.fc1(x)))
    np.testing.assert_allclose(ex.snapshot().logits, logits.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ex.snapshot().probabilities, model(x).detach().numpy(), rtol=1e-6)
    assert_unchanged(model, before)


@pytest.mark.parametrize("name, module", [("token_mlp", "fc1"), ("token_residual", "up"),
                                          ("conv_then_tokens", "mix")])
def test_zeroing_a_token_wise_unit_zeroes_that_feature_at_every_position(name, module):
    """A token-wise unit is a feature on the last axis: the engine's zero equals a hook that
    zeroes output[..., unit] of the module (the activation after it maps 0 to 0)."""
    model, x = build(name)
    ex = Explainer(model, x, n_steps=2)
    assert ex.graph.layer(module).shape[0] == model.get_submodule(module).out_features
    twin = copy.deepcopy(model)
    unit = 1

    def hook(mod, args, output):
        output = output.clone()
        output[..., unit] = 0.0
        return output

    twin.get_submodule(module).register_forward_hook(hook)
    with torch.no_grad():
        expected = twin(x).numpy()
    got = ex.evaluate([_zero(ex, module, unit)])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert not np.allclose(got, ex.evaluate([]))
