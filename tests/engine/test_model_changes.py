"""No stale numbers: after an optimizer step, `load_state_dict` or a swapped submodule, every
result is that of the model as it is now (interventions re-resolved, edge weights refreshed);
a changed structure raises a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget.errors import ModelError
from tests.wire import decode_array
from tests.zoo import ZOO


def model_and_inputs() -> tuple[nn.Module, torch.Tensor]:
    model = ZOO["sequential_mlp"]()
    return model, torch.rand(5, 4, generator=torch.Generator().manual_seed(3))


def fresh(model: nn.Module, x: torch.Tensor, *interventions) -> Explainer:
    ex = Explainer(model, x, target=1, n_steps=8, reference=x)
    for layer, units, mode in interventions:
        ex.intervene(layer, units, mode)
    return ex


def step(model: nn.Module, x: torch.Tensor) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model(x)[:, 0].sum().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


CHANGES = {
    "optimizer step": step,
    "load_state_dict": lambda model, x: model.load_state_dict(
        {k: v + 0.25 for k, v in model.state_dict().items()}),
    "swapped submodule": lambda model, x: model.__setitem__(2, nn.Linear(8, 6)),
    "replaced parameter": lambda model, x: setattr(model[0], "bias", nn.Parameter(torch.ones(8))),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_results_follow_the_model_after_it_changes(change):
    model, x = model_and_inputs()
    ex = fresh(model, x, ("0", [1, 2], "mean"), ("2", [0], "zero"))
    stale = ex.snapshot()
    ex.undo()  # one intervention in force, one to redo
    CHANGES[change](model, x)
    now = fresh(model, x, ("0", [1, 2], "mean"))
    assert ex.snapshot().equals(now.snapshot())
    assert ex.history == now.history  # effects re-measured with the new weights
    redone = ex.redo()
    assert redone.equals(fresh(model, x, ("0", [1, 2], "mean"), ("2", [0], "zero")).snapshot())
    assert not redone.equals(stale)
    with torch.no_grad():
        assert torch.allclose(torch.tensor(ex.reset().logits), model.eval()(x), atol=1e-6)
    for block in ex.graph.blocks:  # the edge weights are the model's weights now
        weight = model.get_submodule(block.module).weight.detach().numpy()
        assert np.array_equal(block.weight, weight)


def test_a_changed_structure_raises_a_clear_error():
    model, x = model_and_inputs()
    ex = fresh(model, x)
    model[2] = nn.Linear(8, 5)
    model[4] = nn.Linear(5, 3)
    with pytest.raises(ModelError, match=r"model: expected the layers it had when this Explainer was made"
                       r".*Its structure changed"):
        ex.snapshot()


def test_the_view_shows_the_new_weights():
    model, x = model_and_inputs()
    viz = NetViz(model, x, n_steps=8, target=1)
    before = decode_array(viz.view.topology["edges"]["weight"]).copy()
    with torch.no_grad():
        model[0].weight.mul_(-2.0)
    viz.reset()
    after = decode_array(viz.view.topology["edges"]["weight"])
    assert not np.array_equal(before, after)
    fresh_view = NetViz(model, x, n_steps=8, target=1)
    assert np.array_equal(after, decode_array(fresh_view.view.topology["edges"]["weight"]))
    assert viz.snapshot.equals(fresh_view.snapshot)
