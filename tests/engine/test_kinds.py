"""Layer kinds are one registry with an explicit unit axis: scores, means and interventions
reduce and edit along the axis the layer's kind names (a kind whose units sit on the last axis,
as token features do, is added with one call)."""

from __future__ import annotations

import contextlib

import pytest
import torch

from netviz_widget import LayeredGraph
from netviz_widget.engine.graph.units import UnitLayer
from netviz_widget.engine.interventions import Intervention
from netviz_widget.engine.kinds import LAYER_KINDS, LayerKind, layer_kind, per_unit, register_layer_kind
from netviz_widget.engine.modes import mode
from netviz_widget.errors import GraphError, InputError
from tests.zoo import ZOO, example_input


@pytest.fixture
def tokens():
    """The example of docs/architecture.md: units on the last axis (batch, positions, features)."""
    kind = register_layer_kind(LayerKind("tokens", unit="a feature of every token", unit_axis=-1,
                                         edges="the weight matrix, as for linear"))
    yield kind
    del LAYER_KINDS["tokens"]


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_kind_the_builders_make_is_registered(name):
    model = ZOO[name]()
    with pytest.warns(UserWarning) if name == "branchy_mlp" else contextlib.nullcontext():
        graph = LayeredGraph.from_module(model, example_input(model))
    for layer in graph.layers:
        assert layer.unit_axis == 1 == layer_kind(layer.kind).unit_axis, layer


def test_a_kind_on_the_last_axis_reduces_and_intervenes_there(tokens):
    layer = UnitLayer("emb", "tokens", "hidden", 4, (3, 4), "emb")
    assert layer.unit_axis == -1
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)  # (batch, positions, units)
    assert torch.equal(per_unit(x, layer.unit_axis), x.sum(1))
    assert torch.equal(per_unit(x, layer.unit_axis, "mean"), x.mean(1))
    zeroed = Intervention("emb", (1, 3), "zero", axis=layer.unit_axis).apply(x)
    expected = x.clone()
    expected[..., [1, 3]] = 0
    assert torch.equal(zeroed, expected)
    means = x.mean(0)  # a mean-mode source: one activation (positions, units), no batch axis
    meaned = Intervention("emb", (2,), "mean", source=means, axis=-1).apply(x)
    expected = x.clone()
    expected[..., 2] = means[:, 2]
    assert torch.equal(meaned, expected)
    patch = -x.flip(0)  # a patch source: a batch of activations
    patched = Intervention("emb", (0,), "patch", source=patch, axis=-1).apply(x)
    assert torch.equal(patched[..., 0], patch[..., 0]) and torch.equal(patched[..., 1:], x[..., 1:])
    assert mode("patch").needs == "patch_input"


def test_unknown_kinds_and_batch_axes_are_refused():
    with pytest.raises(GraphError, match="register_layer_kind"):
        UnitLayer("x", "no such kind", "hidden", 1, (1,), "x").unit_axis  # noqa: B018
    with pytest.raises(InputError, match="unit_axis"):
        register_layer_kind(LayerKind("batchy", "a unit", unit_axis=0))
