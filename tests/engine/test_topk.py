"""The k-sparse activation `TopK` (issue 16, study 4): what it computes, that the engine draws it
as a unit-preserving activation (its output is the layer's tap), and that it is explained exactly
(Captum equality, undo and the model left as found: the `topk_mlp` family of test_any_network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, TopK
from netviz_widget.errors import InputError
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo_families import FAMILIES


def test_keeps_exactly_the_k_largest_per_example_and_passes_gradient_through_them():
    x = torch.tensor([[0.5, -2.0, 3.0, 1.0], [4.0, 0.1, -1.0, 2.0]], requires_grad=True)
    out = TopK(2)(x)
    assert out.tolist() == [[0.0, 0.0, 3.0, 1.0], [4.0, 0.0, 0.0, 2.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0]]
    assert torch.equal(TopK(4)(x), x)  # k = all units: the identity


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_a_bad_k_names_the_argument(bad):
    with pytest.raises(InputError, match="k"):
        TopK(bad)


def test_the_layer_is_read_after_its_topk_and_zeroing_a_kept_unit_acts_as_in_the_model():
    model_fn, input_fn = FAMILIES["topk_mlp"]
    model, x = model_fn().eval(), input_fn()
    before = fingerprint(model)
    ex = Explainer(model, x, n_steps=4)
    assert [la.name for la in ex.graph.layers] == ["input", "fc1", "fc2", "head"]
    acts = ex.snapshot().activations
    assert ((acts["fc1"] != 0).sum(1) <= 3).all() and ((acts["fc2"] != 0).sum(1) <= 2).all()
    unit = int(acts["fc2"][0].argmax())  # a kept unit of example 0
    got = ex.intervene("fc2", [unit], "zero").logits

    def zero(_mod, _args, output):
        output = output.clone()
        output[:, unit] = 0
        return output
    handle = model.top2.register_forward_hook(zero)
    try:
        expected = model(x).detach().numpy()
    finally:
        handle.remove()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    ex.undo()
    assert_unchanged(model, before)


def test_a_sequential_with_topk_is_drawn_like_one_with_relu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), TopK(2), nn.Linear(6, 2)).eval()
    ex = Explainer(model, torch.rand(3, 4), n_steps=2)
    assert [la.n_units for la in ex.graph.layers] == [4, 6, 2]
    assert ex.graph.traced


def test_registering_something_other_than_a_module_class_names_the_argument():
    from netviz_widget.engine.graph._ops import register_unit_wise_module

    with pytest.raises(InputError, match="cls"):
        register_unit_wise_module(TopK(2))


class _TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.top, self.head = nn.Linear(3, 6), nn.Linear(2, 6), TopK(2), nn.Linear(6, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.head(self.top(torch.relu(self.a(x) + self.b(y))))


def test_a_model_with_several_inputs_traces_topk_whole_and_reads_the_sum_after_it():
    torch.manual_seed(0)
    ex = Explainer(_TwoInputs().eval(), (torch.rand(3, 3), torch.rand(3, 2)), n_steps=2)
    assert ex.graph.traced
    assert ((ex.snapshot().activations["add"] != 0).sum(1) <= 2).all()
