"""Attention (issue 13, item 4): nn.MultiheadAttention and nn.TransformerEncoder[Layer] drawn with
each head a unit, checked against Captum on hand-unrolled references (tests/zoo_attention.py),
by the effect of zeroing a head, by completeness, and by the model being left as found."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from captum.attr import LayerConductance
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget.engine.interventions import make_intervention
from netviz_widget.errors import GraphError
from tests.captum_ref import explainer_input_ig
from tests.model_state import assert_unchanged, fingerprint
from tests.wire import decode_array
from tests.zoo_attention import FAMILIES, Reference

N_STEPS = 6
# the fast paths these models take in eval under no_grad (batch_first, no mask)
FUSED = {"self_attention": "aten::_native_multi_head_attention",
         "post_norm_encoder": "aten::_transformer_encoder_layer_fwd",
         "token_transformer": "aten::_transformer_encoder_layer_fwd"}


def build(name):
    model_fn, input_fn = FAMILIES[name]
    return model_fn().eval(), input_fn()


@pytest.fixture(params=sorted(FAMILIES))
def family(request):
    model, x = build(request.param)
    before = fingerprint(model)
    ex = Explainer(model, x, n_steps=N_STEPS)
    yield request.param, model, ex
    assert_unchanged(model, before)


def _heads(ex):
    return [layer for layer in ex.graph.layers if layer.kind == "attention"]


def _per_unit(result: torch.Tensor, unit_axis: int) -> np.ndarray:
    """(batch, units) from a Captum layer attribution: every axis but the units' summed."""
    result = result.detach()
    if unit_axis == -1:
        result = result.movedim(-1, 1)
    return result.reshape(result.shape[0], result.shape[1], -1).sum(-1).numpy()


def _tap(reference, name):
    return reference.taps[name.replace(".", "__")]


def _captum_layer(reference, tap, ex):
    return LayerConductance(reference, tap).attribute(
        ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target, n_steps=N_STEPS)


def test_the_engine_computes_what_the_model_computes(family):
    """The unrolled graph gives the model's output: with gradients (torch's plain path) and
    under no_grad in eval, where nn.TransformerEncoderLayer / MultiheadAttention take their fused
    fast path; and the hand-written reference agrees too."""
    name, model, ex = family
    logits = ex.snapshot().logits
    with torch.no_grad(), torch.autograd.profiler.profile() as profile:
        fused = model(ex.tokens if ex.tokens is not None else ex.inputs).numpy()
    if name in FUSED:  # the comparison below is against torch's fused kernel
        assert FUSED[name] in {event.name for event in profile.function_events}
    with torch.no_grad():
        by_hand = Reference(model, []).forward(ex.inputs).numpy()
    plain = model(ex.tokens if ex.tokens is not None else ex.inputs).detach().numpy()
    for expected in (fused, plain, by_hand):
        np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6, err_msg=name)
    assert len(_heads(ex)) >= 1 and ex.graph.traced


def test_input_ig_equals_captum(family):
    _name, model, ex = family
    expected = explainer_input_ig(model, ex, N_STEPS + 1)
    np.testing.assert_allclose(ex.snapshot().input_scores, expected, rtol=1e-5,
                               atol=1e-7 * np.abs(expected).max())


def test_every_layer_and_every_head_equals_captum_on_the_hand_unrolled_model(family):
    """Each unit layer's conductance (heads: summed over positions and head dimensions; patterns:
    over queries and keys; token-wise layers: over positions) equals Captum's LayerConductance
    at the same place of an independent hand-written forward with the same weights."""
    name, model, ex = family
    snap = ex.snapshot()
    hidden = [layer for layer in ex.graph.layers[1:] if layer.role == "hidden"]
    reference = Reference(model, [layer.name for layer in hidden])
    for layer in hidden:
        tap = _tap(reference, layer.name)
        axis = 1 if layer.kind.startswith("attention") else -1
        expected = _per_unit(_captum_layer(reference, tap, ex), axis)
        np.testing.assert_allclose(snap.node_scores[layer.name], expected, rtol=1e-5,
                                   atol=1e-6 * max(np.abs(expected).max(), 1e-6),
                                   err_msg=f"{name}: {layer.name}")
    head = ex.graph.output_layer.name
    expected = _per_unit(_captum_layer(reference, model.get_submodule(head), ex), 1)
    np.testing.assert_allclose(snap.node_scores[head], expected, rtol=1e-5, atol=1e-7)


def test_edges_into_a_head_add_up_to_its_conductance_exactly(family):
    """value edges (the A(α_{k-1})·ΔV part, split over the stream features) plus the pattern edge
    (ΔA·V(α_k)) give each head's conductance; the attends edges into a pattern give the
    conductance of its scores Q Kᵀ/√d (Captum at a tap on the unmasked scores); the
    out-projection's edges from the heads give its output's conductance."""
    name, model, ex = family
    snap = ex.snapshot()
    for layer in _heads(ex):
        into = sum(snap.edge_scores[(b.src, b.dst)].sum(2) for b in ex.graph.blocks_into(layer.name))
        assert {b.kind for b in ex.graph.blocks_into(layer.name)} == {"value", "pattern"}
        np.testing.assert_allclose(into, snap.node_scores[layer.name], rtol=1e-5, atol=1e-7,
                                   err_msg=f"{name}: {layer.name}")
        pattern = f"{layer.name}.pattern"
        (attends,) = ex.graph.blocks_into(pattern)
        assert attends.kind == "attends"
        reference = Reference(model, [f"{layer.name}.scores", f"{layer.name}.out_proj"])
        scores = _per_unit(_captum_layer(reference, _tap(reference, f"{layer.name}.scores"), ex), 1)
        np.testing.assert_allclose(snap.edge_scores[(attends.src, pattern)].sum(2), scores,
                                   rtol=1e-4, atol=1e-6 * np.abs(scores).max())
        out = _per_unit(_captum_layer(reference, _tap(reference, f"{layer.name}.out_proj"), ex), -1)
        into_out = snap.edge_scores[(layer.name, f"{layer.name}.out_proj")].sum(2)
        np.testing.assert_allclose(into_out, out,
                                   rtol=1e-4, atol=1e-6 * np.abs(out).max())


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_scores_add_up_to_the_output_change(name):
    model, x = build(name)
    ex = Explainer(model, x, n_steps=200)
    snap = ex.snapshot()
    change = snap.output_change
    assert np.all(np.abs(snap.delta) <= 0.01 * np.abs(change) + 1e-4)
    for layer in _heads(ex):  # every head layer carries the whole change through its stream
        assert layer.n_units == model.get_submodule(layer.name).num_heads


def test_zeroing_a_head_equals_the_model_with_that_head_zeroed_and_undo_restores(family):
    name, model, ex = family
    clean = ex.snapshot()
    for layer in _heads(ex):
        head = int(np.abs(clean.node_scores[layer.name][0]).argmax())
        changed = ex.intervene(layer.name, [head], "zero")
        with torch.no_grad():
            expected = Reference(model, [], zero_head=(layer.name, head))(ex.inputs).numpy()
        np.testing.assert_allclose(changed.logits, expected, rtol=1e-5, atol=1e-6, err_msg=name)
        assert not np.allclose(changed.logits, clean.logits)
        assert np.all(changed.node_scores[layer.name][:, head] == 0)  # also along the path
        ex.undo()
    ex._cache.clear()
    assert ex.snapshot().equals(clean)


def test_a_head_can_be_scaled_mean_ablated_and_patched(family):
    _name, _model, ex = family
    layer = _heads(ex)[0].name
    zero = ex.evaluate([make_intervention(ex.graph, layer, [0], "zero")])
    scaled = ex.evaluate([make_intervention(ex.graph, layer, [0], "scale", 0.0)])
    np.testing.assert_array_equal(scaled, zero)
    same = ex.inputs  # (token ids: their embedding)
    patched = make_intervention(ex.graph, layer, [0, 1], "patch", patch_input=same)
    np.testing.assert_allclose(ex.evaluate([patched]), ex.evaluate([]), rtol=1e-6, atol=1e-7)
    other = same.flip(0)
    assert not np.allclose(ex.evaluate([make_intervention(ex.graph, layer, [0, 1], "patch",
                                                          patch_input=other)]), ex.evaluate([]))
    mean = make_intervention(ex.graph, layer, [1], "mean", reference=same)
    assert mean.source.shape == ex.graph.layer(layer).shape
    assert not np.allclose(ex.evaluate([mean]), ex.evaluate([]))


def test_explain_circuit_and_the_view_run(family):
    _name, model, ex = family
    assert ex.explain().markdown
    assert ex.circuit().units
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = NetViz(model, ex.inputs if ex.tokens is None else ex.tokens, n_steps=2)
    kinds = {layer["kind"] for layer in view.view.topology["layers"]}
    assert {"attention", "attention_pattern"} <= kinds
    # the pattern → head edges (one per head) are the ones drawn dashed, as a gate's
    edges = view.view.topology["edges"]
    dashed = decode_array(edges["modulates"]) == 1
    offsets = {la["name"]: la["offset"] for la in view.view.topology["layers"]}
    src, dst = decode_array(edges["src"]), decode_array(edges["dst"])
    expected = np.zeros_like(dashed)
    for layer in _heads(ex):
        from_pattern, into_head = src - offsets[f"{layer.name}.pattern"], dst - offsets[layer.name]
        expected |= (from_pattern == into_head) & (from_pattern >= 0) & (from_pattern < layer.n_units) \
            & (into_head >= 0) & (into_head < layer.n_units)
    assert dashed.sum() == sum(layer.n_units for layer in _heads(ex))
    np.testing.assert_array_equal(dashed, expected)


def test_the_engine_reads_the_live_parameters():
    model, x = build("self_attention")
    ex = Explainer(model, x, n_steps=2)
    first = ex.snapshot().logits.copy()
    with torch.no_grad():
        model.attn.in_proj_weight.mul_(1.5)
        model.attn.out_proj.bias.add_(0.3)
        expected = model(x).numpy()
    np.testing.assert_allclose(ex.snapshot().logits, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, expected)
    # the edge weights shown follow too: per head and feature, the signed norm of W_v's rows
    w_v = model.attn.in_proj_weight.detach()[16:].reshape(2, 4, 8)
    signed = w_v.pow(2).sum(1).sqrt() * torch.where(w_v.sum(1) < 0, -1.0, 1.0)
    (value,) = [b for b in ex.graph.blocks if b.kind == "value"]
    np.testing.assert_allclose(value.weight, signed.numpy(), rtol=1e-6)


class _SeqFirstReadouts(nn.Module):
    """batch_first=False encoders read out as users do (`readout` of a (positions, batch, E)
    tensor)."""

    def __init__(self, readout) -> None:
        super().__init__()
        self.embed, self.head, self.readout = nn.Linear(3, 8), nn.Linear(8, 2), readout
        layer = nn.TransformerEncoderLayer(8, 2, 12)
        self.first = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.second = nn.TransformerEncoderLayer(8, 4, 12, norm_first=True)

    def forward(self, x):
        h = self.embed(x.transpose(1, 2)).transpose(0, 1)  # (positions, batch, features)
        return self.head(self.readout(self.second(self.first(h))))


@pytest.mark.parametrize("readout", [lambda h: h.mean(0), lambda h: torch.mean(h, dim=0),
                                     lambda h: h[-1], lambda h: h.transpose(0, 1)[:, 0]],
                         ids=["mean(0)", "torch.mean(dim=0)", "[-1]", "transpose back"])
def test_seq_first_results_are_read_back_batch_first(readout):
    torch.manual_seed(0)
    model, x = _SeqFirstReadouts(readout).eval(), torch.rand(3, 3, 5)
    before = fingerprint(model)
    ex = Explainer(model, x, n_steps=4)
    with torch.no_grad():
        np.testing.assert_allclose(ex.snapshot().logits, model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert [la.name for la in _heads(ex)] == ["first.layers.0.self_attn", "second.self_attn"]
    assert [la.n_units for la in _heads(ex)] == [2, 4]
    assert_unchanged(model, before)


class _Padded(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.head = nn.Linear(3, 4), nn.Linear(4, 2)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.register_buffer("padding", torch.zeros(2, 5, dtype=torch.bool))

    def forward(self, x):
        h = self.embed(x.transpose(1, 2))
        return self.head(self.attn(h, h, h, key_padding_mask=self.padding)[0].mean(1))


class _Cross(_Padded):
    def forward(self, x):
        h = self.embed(x.transpose(1, 2))
        return self.head(self.attn(h, torch.relu(h), torch.relu(h))[0].mean(1))


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.head = nn.Linear(3, 4), nn.Linear(4, 2)
        self.decoder = nn.TransformerDecoderLayer(4, 2, 8, batch_first=True)

    def forward(self, x):
        h = self.embed(x.transpose(1, 2))
        return self.head(self.decoder(h, h).mean(1))


class _BiasKV(_Padded):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 2, add_bias_kv=True, batch_first=True)

    def forward(self, x):
        h = self.embed(x.transpose(1, 2))
        return self.head(self.attn(h, h, h)[0].mean(1))


class _PerHeadMask(_Padded):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mask", torch.zeros(4, 5, 5))  # (batch · heads, T, T)

    def forward(self, x):
        h = self.embed(x.transpose(1, 2))
        return self.head(self.attn(h, h, h, attn_mask=self.mask)[0].mean(1))


class _Untraceable(_Padded):
    def forward(self, x):
        if x.sum() > -1e9:  # data-dependent: forward hooks instead of fx
            x = x * 1.0
        h = self.embed(x.transpose(1, 2))
        return self.head(self.attn(h, h, h)[0].mean(1))


ATTENTION_ONLY_TRACED = (r"attention heads are drawn for self-attention nn\.MultiheadAttention \(without "
                         r"add_bias_kv / add_zero_attn\), nn\.TransformerEncoderLayer and "
                         r"nn\.TransformerEncoder \(with their own forward\) in a model torch\.fx can "
                         r"trace; not this one")


@pytest.mark.parametrize("build_model, pattern", [
    (_BiasKV, r"got \"MultiheadAttention 'attn'\".*test_attention\.py:\d+ in forward: .*"
              + ATTENTION_ONLY_TRACED),
    (_PerHeadMask, r"MultiheadAttention 'attn' at test_attention\.py:\d+ in forward: .*an attn_mask of "
                   r"shape \(4, 5, 5\) \(per example or head\) is not supported"),
    (_Untraceable, r"MultiheadAttention 'attn' \(torch\.fx could not trace the model, so no source line "
                   r"is known\): " + ATTENTION_ONLY_TRACED),
    (_Padded, r"got \"MultiheadAttention 'attn'\".*MultiheadAttention 'attn' at test_attention\.py:\d+ in "
              r"forward: `return self\.head\(self\.attn\(h, h, h, key_padding_mask=self\.padding\)"
              r"\[0\]\.mean\(1\)\)`: a key_padding_mask is not supported"),
    (_Cross, r"MultiheadAttention 'attn' at test_attention\.py:\d+ in forward: .*cross-attention \(query "
             r"and key from different tensors\) is not drawn as units yet; self-attention is"),
    (_Decoder, r"got \"TransformerDecoderLayer 'decoder'\".*test_attention\.py:\d+ in forward: `return "
               r"self\.head\(self\.decoder\(h, h\)\.mean\(1\)\)`: decoder layers and nn\.Transformer "
               r"\(cross-attention\) are not drawn as units yet; encoder layers are"),
])
def test_unsupported_attention_is_refused_naming_the_module_and_line(build_model, pattern):
    torch.manual_seed(0)
    model = build_model().eval()
    before = fingerprint(model)
    with warnings.catch_warnings(), pytest.raises(GraphError, match=pattern):
        warnings.simplefilter("ignore")  # the fallback's warning (untraceable)
        Explainer(model, torch.rand(2, 3, 5))
    assert_unchanged(model, before)
