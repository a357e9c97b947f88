"""A new user's own models (tests/user_models.py, written as people write them, not the zoo's):
each either draws exactly (input IG and the layers' conductance equal Captum on the user's own
modules, zero changes the output as a hook on the module does, undo is bit-identical, the model
is left as found) or is refused naming the operation, the user's line and a workaround."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerConductance, LayerIntegratedGradients
from torch import nn

from netviz_widget import Explainer, NetViz, datasets
from netviz_widget.errors import GraphError, InputError
from tests.model_state import assert_unchanged, fingerprint
from tests.user_models import CASES, VOCAB, BinaryGRUSigmoid

N_STEPS = 6
EXACT = ["sinusoidal_transformer", "sinusoidal_norm_first", "learned_pos_embedding",
         "learned_pos_parameter", "cls_token", "causal_mask",
         "gru_sentiment", "lstm_sentiment", "bilstm_cat", "stacked_gru", "conv1d_lstm", "text_cnn",
         "two_float_sequences", "binary_logit", "binary_sigmoid", "binary_gru_sigmoid", "binary_squeezed",
         "binary_sigmoid_squeezed", "encoder_final_norm", "gru_time_major", "bilstm_maxpool",
         "pooler_binary", "mha_pooling",
         "token_mlp_block"]
# case: (error type, operation named, reason words)
REFUSED = {
    "padding_mask": (GraphError, "operator.eq", "padding mask ids == 0"),
    "max_over_features": (GraphError, "Tensor.max", "max(x, dim) over the units"),
    "lstm_attention_pool": (GraphError, "operator.mul", "do not line up one to one"),
    "vanilla_rnn": (GraphError, "RNN 'rnn'", "units are on axis 1"),
    "transformer_flatten_head": (GraphError, "Tensor.flatten", "reshapes token-wise units"),
    "image_tabular": (InputError, "inputs[1]", "give the table as constant maps"),
    "two_sequences": (InputError, "inputs[0]", "Several inputs of token ids"),
}


def test_every_case_is_either_exact_or_refused():
    assert set(EXACT) | set(REFUSED) == set(CASES) and not set(EXACT) & set(REFUSED)


def _build(name):
    model_fn, input_fn = CASES[name]
    torch.manual_seed(1)
    return model_fn().eval(), input_fn()


@pytest.fixture(params=EXACT)
def case(request):
    model, x = _build(request.param)
    before = fingerprint(model)
    ex = Explainer(model, x, n_steps=N_STEPS)
    yield request.param, model, x, ex
    assert_unchanged(model, before)


class _Logits(nn.Module):
    """The model with its final probability function removed (what Captum must explain), and
    with its embedding replaced by the identity (it then takes embeddings, as the engine does)."""

    def __init__(self, model: nn.Module, embedding: str | None) -> None:
        super().__init__()
        self.model = copy.deepcopy(model)
        if embedding is not None:
            self.model.set_submodule(embedding, nn.Identity())
        if hasattr(self.model, "sigmoid"):
            self.model.sigmoid = nn.Identity()

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, BinaryGRUSigmoid):  # torch.sigmoid in forward
            _, h = self.model.gru(self.model.embedding(*x))
            return self.model.fc(h[-1])
        out = self.model(*x)
        return out.reshape(-1, 1) if out.dim() == 1 else out  # `.squeeze(1)`: one output


def _twin(ex, model):
    embedding = None if ex.tokens is None else ex._front.embedding_name
    twin = _Logits(model, embedding)
    inputs = (tuple(torch.as_tensor(p) for p in ex.split_inputs(ex.inputs))
              if isinstance(ex.inputs, torch.Tensor) and ex.graph.layers[1].kind == "input"
              else ex.inputs.movedim(1, -1) if ex.tokens is not None else ex.inputs)
    return twin, inputs


def test_input_ig_equals_captum(case):
    _name, model, x, ex = case
    got = ex.snapshot().input_scores
    if ex.tokens is not None:  # Captum's LIG on the user's embedding, all-padding baseline
        emb = model.get_submodule(ex._front.embedding_name)
        twin = _Logits(model, None)
        expected = LayerIntegratedGradients(twin, twin.model.get_submodule(ex._front.embedding_name)
                                            ).attribute(x, baselines=torch.zeros_like(x),
                                                        target=ex.target, n_steps=N_STEPS + 1,
                                                        method="gausslegendre")
        assert emb.padding_idx == 0
        expected = expected.detach().movedim(-1, 1).numpy()
    else:
        twin, inputs = _twin(ex, model)
        single = not isinstance(inputs, tuple)
        inputs = (inputs,) if single else inputs
        result = IntegratedGradients(twin).attribute(
            inputs, baselines=tuple(torch.zeros_like(p) for p in inputs), target=ex.target,
            n_steps=N_STEPS + 1, method="gausslegendre")
        expected = torch.cat([r.detach() for r in result], 1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7 * np.abs(expected).max())


def _atol(expected: np.ndarray, snap) -> float:
    """float32 noise: a millionth of the layer's largest score or 1e-7 of the output change
    (units with scores far below the output change round at the output's scale)."""
    return max(1e-6 * np.abs(expected).max(), 1e-7 * np.abs(snap.output_change).max(), 1e-12)


def _user_module_layers(ex, twin):
    """Layers that are a Linear/Conv module of the user's that Captum can hook (not the
    attention's out_proj, which nn.MultiheadAttention uses through its weight)."""
    modules = dict(twin.model.named_modules())
    return [layer for layer in ex.graph.layers[1:]
            if isinstance(modules.get(layer.name), (nn.Linear, nn.Conv1d, nn.Conv2d))
            and not layer.name.endswith("out_proj")]


def test_layer_conductance_equals_captum_on_the_users_modules(case):
    """Token-wise layers are read at the Linear's output (before the GELU / LayerNorm after it):
    Captum's LayerConductance of the module itself, summed over positions."""
    name, model, _x, ex = case
    snap = ex.snapshot()
    twin, inputs = _twin(ex, model)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    # read at the module's own output (a tap moved onto a ReLU after it: the traced-copy test)
    layers = [la for la in _user_module_layers(ex, twin) if la.tap == la.name.replace(".", "_")]
    assert layers, name
    for layer in layers:
        result = LayerConductance(twin, twin.model.get_submodule(layer.name)).attribute(
            inputs, baselines=tuple(torch.zeros_like(p) for p in inputs), target=ex.target,
            n_steps=N_STEPS).detach()
        result = result.movedim(-1, 1) if layer.unit_axis == -1 or (
            result.dim() == 3 and layer.kind == "linear") else result
        expected = result.reshape(result.shape[0], result.shape[1], -1).sum(2).numpy()
        np.testing.assert_allclose(snap.node_scores[layer.name], expected, rtol=1e-5,
                                   atol=_atol(expected, snap), err_msg=f"{name}: {layer.name}")


def test_every_layer_equals_captum_on_the_traced_copy(case):
    """Every unit layer (heads, recurrent layers, sums included) at its tap in the engine's copy."""
    name, _model, _x, ex = case
    snap = ex.snapshot()
    for layer in [la for la in ex.graph.layers if la.role != "input"]:
        probe = ex.graph.runner.probes[layer.tap]
        result = LayerConductance(ex.graph.runner.gm, probe).attribute(
            ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target,
            n_steps=N_STEPS).detach().movedim(probe.axis, 1)
        expected = result.reshape(result.shape[0], result.shape[1], -1).sum(2).numpy()
        np.testing.assert_allclose(snap.node_scores[layer.name], expected, rtol=1e-5,
                                   atol=_atol(expected, snap), err_msg=f"{name}: {layer.name}")


def test_zero_equals_a_hook_on_the_users_module_and_undo_restores(case):
    name, model, x, ex = case
    clean = ex.snapshot()
    twin, _ = _twin(ex, model)
    for layer in [la for la in _user_module_layers(ex, twin) if la.role == "hidden"] or \
            [la for la in ex.graph.layers if la.role == "hidden"][:1]:
        unit = int(np.abs(clean.node_scores[layer.name][0]).argmax())
        changed = ex.intervene(layer.name, [unit], "zero")
        assert not np.allclose(changed.logits, clean.logits), f"{name}: {layer.name}"
        if layer.tap == layer.name.replace(".", "_"):  # read at the module's own output
            axis = ex.graph.runner.probes[layer.tap].axis

            def zero(_m, _i, out, unit=unit, axis=axis):
                out = out.clone()
                out.select(axis, unit).zero_()
                return out

            copy_ = copy.deepcopy(model)
            handle = copy_.get_submodule(layer.name).register_forward_hook(zero)
            with torch.no_grad():
                expected = copy_(*x) if isinstance(x, tuple) else copy_(x)
            handle.remove()
            np.testing.assert_allclose(changed.logits.reshape(expected.shape), expected.numpy(),
                                       rtol=1e-5, atol=1e-6, err_msg=f"{name}: {layer.name}")
        ex.undo()
    ex._cache.clear()
    assert ex.snapshot().equals(clean)


def test_explain_circuit_and_the_view_run(case):
    _name, model, x, ex = case
    assert ex.explain().markdown
    assert ex.circuit().units
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        NetViz(model, x, n_steps=2)


@pytest.mark.parametrize("name", ["sinusoidal_transformer", "gru_sentiment", "bilstm_cat"])
def test_scores_add_up_to_the_output_change(name):
    model, x = _build(name)
    snap = Explainer(model, x, n_steps=64).snapshot()
    assert np.all(np.abs(snap.delta) <= 0.02 * np.abs(snap.output_change) + 1e-3)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_name_the_operation_the_line_and_a_workaround(name):
    error, op, reason = REFUSED[name]
    model, x = _build(name)
    before = fingerprint(model)
    with pytest.raises(error) as raised:
        Explainer(model, x, n_steps=2)
    message = str(raised.value)
    assert op in message and reason in message and "Workaround" in message, message
    if error is GraphError:
        assert re.search(r"user_models\.py:\d+ in forward: `", message), message
    assert_unchanged(model, before)


def test_a_trained_binary_model_explains_what_it_predicts():
    """A GRU trained briefly (BCE on its sigmoid) to spot token 1: explain()'s verdict and
    datasets.accuracy agree with the model's own predictions."""
    torch.manual_seed(0)
    ids = torch.randint(2, VOCAB, (64, 6))
    labels = (torch.rand(64) < 0.5).long()
    ids[labels == 1, 2] = 1
    model = BinaryGRUSigmoid()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(40):
        optimiser.zero_grad()
        nn.functional.binary_cross_entropy(model(ids).squeeze(1), labels.float()).backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        own = (model(ids).squeeze(1) > 0.5).long()
    assert datasets.accuracy(model, ids, labels) == float((own == labels).float().mean()) > 0.9
    ex = Explainer(model, ids[:4], n_steps=4)
    np.testing.assert_array_equal(ex.snapshot().prediction, own[:4].numpy())
    for example in range(4):
        text = ex.explain(example=example).markdown
        verdict = "so it predicts **0**" if own[example] == 1 else "so it predicts **not 0**"
        assert verdict in text, text


@pytest.mark.parametrize("name", ["binary_squeezed", "binary_sigmoid_squeezed"])
def test_a_one_output_model_returning_batch_predicts_as_its_snapshot(name):
    """`.squeeze(1)` outputs (BCE's (batch,) targets): datasets.predict reads them by the one
    rule (logit > 0, or its own sigmoid > 0.5), as the Explainer's snapshot does."""
    model, x = _build(name)
    x = torch.cat([x, -x])  # both classes
    with torch.no_grad():
        out = model(x)
    assert out.shape == (len(x),)
    own = (out > (0.5 if "sigmoid" in name else 0.0)).long()
    assert 0 < int(own.sum()) < len(x)
    np.testing.assert_array_equal(datasets.predict(model, x).numpy(), own.numpy())
    np.testing.assert_array_equal(Explainer(model, x, n_steps=2).snapshot().prediction, own.numpy())
    assert datasets.accuracy(model, x, own) == 1.0


def test_the_image_and_table_workaround_gives_the_tables_ig():
    """The workaround the image + table refusal suggests: the table as constant maps averaged
    back in forward; its scores summed over positions equal Captum's tuple IG of the table."""
    model, (image, table) = _build("image_tabular")

    class Maps(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: torch.Tensor, table_map: torch.Tensor) -> torch.Tensor:
            return self.model(image, table_map.mean((2, 3)))

    maps = table[:, :, None, None].expand(-1, -1, *image.shape[2:])
    ex = Explainer(Maps(), (image, maps), n_steps=N_STEPS)
    got_image, got_table = ex.split_inputs(ex.snapshot().input_scores)
    expected = IntegratedGradients(model).attribute(
        (image, table), baselines=(torch.zeros_like(image), torch.zeros_like(table)),
        target=ex.target, n_steps=N_STEPS + 1, method="gausslegendre")
    np.testing.assert_allclose(np.asarray(got_image), expected[0].detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(got_table).sum((2, 3)), expected[1].detach().numpy(),
                               rtol=1e-4, atol=1e-6)
