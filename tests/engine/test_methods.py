"""Attribution methods are one interface: a method registered with one call ranks units in the
faithfulness checks next to the built-in ones, and the built-in orders are what their scores say."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer
from netviz_widget.analysis.faithfulness import RANKINGS, deletion_curve, rank_units
from netviz_widget.engine.methods import METHOD_REGISTRY, AttributionMethod, method, register_method
from netviz_widget.errors import InputError


@pytest.fixture
def explainer() -> Explainer:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    return Explainer(model, torch.randn(4, 6))


@pytest.fixture
def gradient():
    """The example of docs/architecture.md: a Taylor ranking (gradient × activation under another
    name, so that its order can be checked against the built-in one)."""
    entry = register_method(AttributionMethod("taylor", "Taylor (logit)",
                                              lambda ex, layer: ex.gradient_times_activation(layer)))
    yield entry
    del METHOD_REGISTRY["taylor"]


def test_builtin_orders_follow_their_scores(explainer):
    orders = rank_units(explainer, "0", example=2)
    assert set(orders) == set(RANKINGS)
    conductance = explainer.snapshot().node_scores["0"][2]
    assert np.all(np.diff(conductance[orders["conductance"]]) <= 0)
    activation = np.abs(explainer.snapshot().activations["0"][2])
    assert np.all(np.diff(activation[orders["activation"]]) <= 0)


def test_a_registered_method_ranks_units_in_the_checks(explainer, gradient):
    orders = rank_units(explainer, "0", example=1)
    assert list(orders)[-2:] == ["taylor", "random"]
    assert np.array_equal(orders["taylor"], orders["gradient × activation"])
    curve = deletion_curve(explainer, "0", orders["taylor"], example=1)
    assert curve.shape == (9,)


def test_unknown_or_duplicate_methods_are_named(gradient):
    with pytest.raises(InputError, match="taylor"):
        method("lrp")
    with pytest.raises(InputError, match="taylor"):
        register_method(AttributionMethod("taylor", "again", lambda ex, layer: None))
