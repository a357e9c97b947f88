"""More bad input: device, zero-width and very wide layers, front-end payloads, and the list of
messages (run this file with -s to print every message, as in the issue note)."""

from __future__ import annotations

import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, NetViz, NetVizError, Snapshot
from netviz_widget.errors import GraphError, InputError, InterventionError, ModelError
from netviz_widget.ui._serialization import payload_bytes
from tests.wire import decode_array
from tests.zoo import ZOO, example_input


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
    assert (wide["n_nodes"], wide["n_units"]) == (64, 100_000)
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
    viz.view.request("select", [["0", float("inf")]])
    assert "Rejected a selection" in viz.view.error
    assert np.isfinite(viz.snapshot.logits).all()


# ---------------------------------------------------------------- issue 14, item 7
class ClampsInPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.clamp_(min=0.0))


@pytest.mark.parametrize("model", [nn.Sequential(nn.ReLU(inplace=True), nn.Linear(4, 3)), ClampsInPlace()],
                         ids=["ReLU(inplace=True) first", "clamp_ in forward"])
def test_an_in_place_first_op_works_on_a_copy(model):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    given = x.clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = Explainer(model, x, n_steps=4)
    snap = ex.intervene(ex.graph.layers[-1].name, [0], "zero")
    assert torch.equal(x, given)  # the user's tensor is untouched
    with torch.no_grad():
        assert np.allclose(ex.reset().logits, model(x.clone()).numpy(), atol=1e-6)
    assert np.isfinite(snap.input_scores).all()


def test_n_steps_has_a_documented_limit():
    with pytest.raises(InputError, match="n_steps: expected a positive integer of at most 1024, got 8000"):
        Explainer(ZOO["sequential_mlp"](), torch.zeros(1, 4), n_steps=8000)


def test_batch_statistics_are_refused():
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5, track_running_stats=False), nn.Linear(5, 3))
    with pytest.raises(ModelError, match="model: expected normalisation with running statistics"):
        Explainer(model, torch.rand(4, 4))


def test_patch_input_rows_must_match():
    ex = Explainer(ZOO["sequential_mlp"](), torch.rand(8, 4))
    with pytest.raises(InterventionError, match=r"patch_input: expected one example or one per input \(8"):
        ex.intervene("0", [0], "patch", patch_input=torch.rand(3, 4))
    assert ex.history == []
    ex.intervene("0", [0], "patch", patch_input=torch.rand(8, 4))
    ex.intervene("0", [1], "patch", patch_input=torch.rand(1, 4))


def test_new_inputs_keep_the_target_and_baseline_where_they_fit():
    model = ZOO["sequential_mlp"]()
    viz = NetViz(model, torch.rand(4, 4), target=2, baseline="mean", reference=torch.rand(20, 4))
    viz.inputs = torch.rand(6, 4)
    assert (viz.target == 2).all() and viz.explainer.baseline.shape == (6, 4)
    assert torch.allclose(viz.explainer.baseline[0], viz.explainer.reference.mean(0))
    viz.target = [0, 1, 2, 0, 1, 2]
    with pytest.warns(UserWarning, match="reset target"):
        viz.inputs = torch.rand(2, 4)
    assert viz.target.shape == (2,)


def test_python_owned_traits_are_never_taken_from_the_front_end():
    viz = NetViz(ZOO["sequential_mlp"](), torch.rand(2, 4))
    topology, state = viz.view.topology, viz.view.state
    tampered = {**topology, "n_nodes": 10 ** 6}
    viz.view.set_state({"topology": tampered, "state": {}, "error": "x", "node_color": "activation"})
    assert viz.view.topology is topology and viz.view.state is state and viz.view.error == ""
    assert viz.view.node_color == "activation"  # the front end's own settings still arrive
    viz.view.highlight = [10 ** 5]  # an id valid only in the tampered range is still refused
    assert "Rejected highlight" in viz.view.error


def test_snapshot_save_load_with_odd_names_and_bare_paths(tmp_path):
    model = nn.Sequential(OrderedDict([("a->b", nn.Linear(4, 5)), ("relu", nn.ReLU()),
                                       ("c/d", nn.Linear(5, 3))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Explainer(model, torch.rand(2, 4), n_steps=4).snapshot()
    path = tmp_path / "x"
    snap.save(path)
    assert Snapshot.load(path).equals(snap)  # the exact path, no ".npz" added
    snap.save(str(path) + ".npz")
    assert Snapshot.load(str(path) + ".npz").equals(snap)


def test_snapshot_load_checks_sizes_before_decompressing(tmp_path):
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("logits.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (8_000_000,)})
        member.write(bytes(32_000_000))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match="path: expected a Snapshot file of at most 1000000 bytes"):
        Snapshot.load(bomb, max_bytes=1_000_000)
    with pytest.raises(InputError, match=r"path: expected a Snapshot file written by Snapshot\.save"):
        Snapshot.load(bomb)  # small enough to read, but not a snapshot
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(InputError, match=r"path: expected a Snapshot file written by Snapshot\.save"):
        Snapshot.load(tmp_path / "text.npz")


def test_bfloat16_and_numpy_integer_targets():
    model = ZOO["sequential_mlp"]()
    with pytest.raises(InputError, match="inputs: expected a float16, float32 or float64 tensor"):
        Explainer(model, torch.rand(2, 4, dtype=torch.bfloat16))
    with pytest.raises(ModelError, match="model: expected float16, float32 or float64 weights"):
        Explainer(ZOO["sequential_mlp"]().to(torch.bfloat16), torch.rand(2, 4))
    assert Explainer(model, torch.rand(2, 4), target=np.int64(1)).target.tolist() == [1, 1]
    assert Explainer(model, torch.rand(2, 4), target=[np.int64(0), np.int32(2)]).target.tolist() == [0, 2]
    assert Explainer(model, torch.rand(2, 4), target=np.array([2, 1])).target.tolist() == [2, 1]
