"""forward(a, b): several inputs given as a tuple, packed along axis 1."""

from __future__ import annotations

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
    for layer in ex.graph.layers[1:]:
        result = LayerConductance(gm, ex.graph.runner.probes[layer.tap]).attribute(
            ex.inputs, baselines=torch.zeros_like(ex.inputs), target=ex.target, n_steps=N_STEPS)
        np.testing.assert_allclose(snap.node_scores[layer.name], result.detach().numpy(),
                                   rtol=1e-5, atol=1e-7)
    # each tower reads only its own input's units
    ranges = {b.dst: b.ranges for b in ex.graph.blocks if b.src == "input"}
    assert ranges == {"user": ((0, 0, 4),), "item": ((0, 4, 3),)}
    assert_unchanged(model, before)


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
