"""More bad input: device, zero-width and very wide layers, front-end payloads, and the list of
messages (run this file with -s to print every message, as in the issue note)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn
from zoo import ZOO, example_input

from netviz_widget import Explainer, NetViz, NetVizError
from netviz_widget._serialization import decode_array, payload_bytes
from netviz_widget.errors import GraphError, InputError


def test_inputs_on_another_device_than_the_model():
    model = nn.Sequential(nn.Linear(4, 3)).to("meta")
    with pytest.raises(InputError, match=r"inputs: expected a tensor on the model's device meta"):
        Explainer(model, torch.rand(2, 4))


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_zero_width_layers_are_named():
    model = nn.Sequential(nn.Linear(4, 0), nn.ReLU(), nn.Linear(0, 3))
    expected = r"model: expected layers with at least one unit, got \"'0' with 0 units\""
    with pytest.raises(GraphError, match=expected):
        Explainer(model, torch.rand(2, 4))


def test_a_layer_of_100k_units_is_aggregated_into_groups():
    model = nn.Sequential(nn.Linear(4, 100_000), nn.ReLU(), nn.Linear(100_000, 3))
    viz = NetViz(model, torch.rand(1, 4), n_steps=4, max_edges=5_000)
    wide = viz.view.topology["layers"][1]
    assert (wide["n_units"], wide["units"]) == (64, 100_000)
    assert len(decode_array(viz.view.topology["edges"]["src"])) == 4 * 64 + 64 * 3
    assert payload_bytes(viz.view.topology) < 100_000 and payload_bytes(viz.view.state) < 20_000


def test_patch_input_of_the_wrong_dtype():
    model = ZOO["sequential_mlp"]()
    ex = Explainer(model, example_input(model))
    with pytest.raises(InputError, match="patch_input: expected a floating-point tensor"):
        ex.intervene("0", [0], "patch", patch_input=torch.zeros(1, 4, dtype=torch.int64))


def test_non_finite_reference():
    model = ZOO["sequential_mlp"]()
    reference = torch.full((5, 4), float("inf"))
    with pytest.raises(InputError, match="reference: expected finite values"):
        Explainer(model, example_input(model), reference=reference)


BAD = [
    ("model not a module", lambda: Explainer("model", torch.zeros(1, 4))),
    ("inputs not a tensor", lambda: Explainer(ZOO["sequential_mlp"](), [[0.0] * 4])),
    ("integer inputs", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4, dtype=torch.long))),
    ("no batch dimension", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(4))),
    ("empty batch", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(0, 4))),
    ("NaN input", lambda: Explainer(ZOO["sequential_mlp"](), torch.tensor([[float("nan")] * 4]))),
    ("wrong feature count", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 7))),
    ("n_steps 0", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4), n_steps=0)),
    ("target out of range", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4), target=9)),
    ("target of wrong type", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4), target="3")),
    ("reference of another shape", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4),
                                                     reference=torch.zeros(3, 5))),
    ("unknown layer", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4)).intervene("fc9", [0])),
    ("negative unit", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4)).intervene("0", [-1])),
    ("unknown mode", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4)).intervene(
        "0", [0], "melt")),
    ("clamp NaN", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4)).intervene(
        "0", [0], "clamp", value=float("nan"))),
    ("patch of wrong shape", lambda: Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4)).intervene(
        "0", [0], "patch", patch_input=torch.zeros(1, 6))),
    ("widget class labels", lambda: NetViz(ZOO["sequential_mlp"](), torch.zeros(1, 4), class_labels=["a"])),
]


@pytest.mark.parametrize("name, call", BAD, ids=[b[0] for b in BAD])
def test_each_message_names_argument_expected_and_given(name, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NetVizError) as info:
            call()
    message = str(info.value)
    assert ": expected " in message and ", got " in message
    print(f"{name}: {message}")


def test_viz_selection_payload_with_non_finite_numbers_is_refused():
    model = ZOO["sequential_mlp"]()
    viz = NetViz(model, example_input(model))
    viz.view.selection = [["0", float("inf")]]
    assert "Rejected a selection" in viz.view.error
    assert np.isfinite(viz.snapshot.logits).all()
