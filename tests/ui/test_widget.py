"""NetViz: Snapshot ⇄ traits, intent ⇄ Explainer, untrusted front-end messages."""

from __future__ import annotations

import numpy as np
import pytest

from netviz_widget import NetViz
from netviz_widget.datasets import digits_cnn, digits_mlp, load_digits_split
from netviz_widget.errors import InputError
from netviz_widget.ui._serialization import encode_array, payload_bytes
from netviz_widget.ui.export import standalone_html
from tests.wire import decode_array
from tests.zoo import ZOO, example_input


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


@pytest.fixture
def viz(digits):
    return NetViz(digits_mlp(), digits.x_test[:3], reference=digits.x_train[:200])


def state_array(viz, name):
    return decode_array(viz.view.state[name])


def test_topology_describes_every_layer_and_the_shipped_edges(viz):
    topology = viz.view.topology
    assert [la["name"] for la in topology["layers"]] == ["input", "fc1", "fc2", "fc3"]
    assert [la["offset"] for la in topology["layers"]] == [0, 64, 96, 112]
    assert topology["layers"][0]["image"] == {"mode": "grid", "size": [8, 8]}
    assert topology["n_edges_total"] == 64 * 32 + 32 * 16 + 16 * 10
    assert len(decode_array(topology["edges"]["src"])) == topology["n_edges_total"]


def test_state_carries_the_snapshot_of_the_shown_example(viz):
    snap = viz.snapshot
    scores = state_array(viz, "node_scores")
    np.testing.assert_array_equal(scores[64:96], snap.node_scores["fc1"][0])
    viz.example = 2
    assert viz.controls.example.value == 2  # the slider follows a change made from Python
    np.testing.assert_array_equal(state_array(viz, "node_scores")[64:96], snap.node_scores["fc1"][2])
    viz.controls.example.value = 1  # and Python follows the slider
    assert viz.example == 1
    viz.example = 2
    assert viz.view.state["predicted"] == int(snap.prediction[2])
    edges = state_array(viz, "edge_scores")
    src = decode_array(viz.view.topology["edges"]["src"])
    dst = decode_array(viz.view.topology["edges"]["dst"])
    k = int(np.nonzero((src == 64 + 5) & (dst == 96 + 2))[0][0])
    assert edges[k] == snap.edge_scores[("fc1", "fc2")][2, 2, 5]


def test_an_intervention_updates_only_state_and_keeps_the_update_small(viz):
    topology = viz.view.topology
    seq = viz.view.state["seq"]
    viz.select("fc1", 4)
    snap = viz.intervene(mode="zero")
    assert viz.view.topology is topology
    assert viz.view.state["seq"] == seq + 1
    assert viz.view.state["probabilities"] == [round(float(p), 6) for p in snap.probabilities[0]]
    assert viz.view.state["ablated"] == [64 + 4]
    n_edges = len(decode_array(topology["edges"]["src"]))
    n_units = topology["n_nodes"]
    buffers = sum(len(viz.view.state[k]["buffer"]) for k in ("node_scores", "activations", "edge_scores"))
    assert buffers <= 4.5 * n_edges + 8 * n_units
    assert payload_bytes(viz.view.state) <= 4.5 * n_edges + 8 * n_units + 2048


def test_controls_apply_undo_and_show_history(viz):
    clean = viz.view.state["probabilities"]
    viz.select([("fc2", i) for i in range(16)])
    viz.controls.mode.value = "zero"
    viz.controls.apply.click()
    assert viz.view.state["probabilities"] != clean
    assert viz.controls.history.options[0].startswith("1. zero fc2[")
    assert not viz.controls.undo.disabled
    viz.controls.undo.click()
    assert viz.view.state["probabilities"] == clean
    assert viz.controls.history.options == ()
    viz.controls.redo.click()
    assert viz.view.state["probabilities"] != clean
    viz.controls.reset.click()
    assert viz.view.state["probabilities"] == clean


def test_mode_specific_inputs_show_and_hide_alone(viz):
    controls = viz.controls
    controls.mode.value = "scale"
    assert controls.value.layout.display is None and controls.value.description == "factor"
    assert controls.patch_from.layout.display == "none"
    controls.mode.value = "patch"
    assert controls.value.layout.display == "none" and controls.patch_from.layout.display is None
    for always in (controls.node_metric, controls.edge_metric, controls.target, controls.top_k):
        assert always.layout.display != "none"


def test_apply_without_selection_and_bad_values_show_errors_not_tracebacks(viz):
    viz.controls.apply.click()
    assert "nothing selected" in viz.view.error
    viz.select("fc1", 1)
    viz.controls.mode.value = "scale"
    viz.controls.value.value = float("inf")
    viz.controls.apply.click()
    assert "finite" in viz.view.error and "finite" in viz.controls.status.value
    assert viz.explainer.history == []


@pytest.mark.parametrize("bad", [
    [["nope", 1]],
    [["fc1", 32]],
    [["fc1", -1]],
    [["fc1", "3"]],
    [[1, 2]],
    [["fc1"]],
    "fc1",
    [["fc1", 1]] * 5000,
    [["fc1", float("nan")]],
])
def test_untrusted_selection_from_the_front_end_is_refused_visibly(viz, bad):
    viz.select("fc2", 3)
    state = viz.view.state
    viz.view.request("select", bad)
    assert viz.view.error.startswith("Rejected a selection from the view.")
    assert viz.view.selection == [["fc2", 3]]
    assert viz._selection == [("fc2", 3)]
    assert viz.view.state is state


def test_selection_from_the_front_end_drives_the_drill_down(viz):
    viz.view.request("select", [["fc2", 7]])
    drill = viz.view.drilldown
    assert (drill["layer"], drill["unit"]) == ("fc2", 7)
    np.testing.assert_allclose(decode_array(drill["input_scores"]),
                               viz.explainer.neuron("fc2", 7).input_scores[0], rtol=1e-6)
    assert viz.controls.selection.value == "selected: fc2[7]"
    viz.view.request("select", [])
    assert viz.view.drilldown == {}


def test_python_owns_the_selection_the_front_end_only_requests_one(viz):
    viz.select("fc2", 3)
    viz.view.set_state({"selection": [["fc2", 9]]})  # a front end writing the trait itself
    assert viz.view.selection == [["fc2", 3]] and viz._selection == [("fc2", 3)]
    assert viz.view.drilldown["unit"] == 3
    viz.view.request("select", [["fc2", 9], ["fc1", 4]])  # a request: Python sets the trait
    assert viz.view.selection == [["fc2", 9], ["fc1", 4]]
    assert viz._selection == [("fc2", 9), ("fc1", 4)] and viz.view.drilldown["unit"] == 4


def test_unknown_requests_are_refused_visibly_and_other_messages_pass(viz):
    viz.select("fc2", 3)
    viz.view._handle_custom_msg({"something": "of anywidget's own"}, [])
    assert viz.view.error == ""
    viz.view._handle_custom_msg({"request": "<b>drop</b>", "value": 1}, [])
    assert viz.view.error.startswith("Rejected a request from the view: unknown request")
    assert viz.view.selection == [["fc2", 3]]


def test_target_change_rescopes_scores(viz):
    viz.target = 4
    assert viz.view.state["target"] == 4
    assert np.all(viz.snapshot.target == 4)
    viz.controls.target.value = -1
    assert viz.view.state["target"] == int(viz.snapshot.prediction[0])


def test_max_edges_ships_the_strongest_edges(digits):
    viz = NetViz(digits_mlp(), digits.x_test[:1], max_edges=300)
    src = decode_array(viz.view.topology["edges"]["src"])
    assert len(src) == 300
    scores = np.abs(state_array(viz, "edge_scores"))
    snap = viz.snapshot
    everything = np.concatenate([np.abs(snap.edge_scores[key][0]).ravel() for key in snap.edge_scores])
    assert scores.min() >= np.sort(everything)[-300] - 1e-7


def test_cnn_input_draws_as_channel_maps(digits):
    viz = NetViz(digits_cnn(), digits.images(digits.x_test[:2]))
    assert viz.view.topology["layers"][0]["image"] == {"mode": "maps", "size": [8, 8]}
    assert len(state_array(viz, "input_map")) == 64


def test_bad_widget_arguments(digits):
    with pytest.raises(InputError, match="class_labels"):
        NetViz(digits_mlp(), digits.x_test[:1], class_labels=["a", "b"])
    with pytest.raises(InputError, match="max_edges"):
        NetViz(digits_mlp(), digits.x_test[:1], max_edges=0)
    viz = NetViz(digits_mlp(), digits.x_test[:2])
    with pytest.raises(InputError, match="example"):
        viz.example = 5


def test_labels_travel_as_plain_strings_and_the_page_is_offline():
    model = ZOO["sequential_mlp"]()
    labels = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\"quote'"]
    viz = NetViz(model, example_input(model), class_labels=labels)
    assert viz.view.topology["class_labels"] == labels
    page = standalone_html(viz.view)
    assert "<script>alert(1)</script>" not in page  # escaped inside the JSON data block
    assert "http://" not in page.split("<script")[0] and "https://" not in page.split("<script")[0]


def test_serialization_round_trip():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    encoded = encode_array(array)
    assert encoded["dtype"] == "float32" and encoded["shape"] == [2, 3] and len(encoded["buffer"]) == 24
    np.testing.assert_array_equal(decode_array(encoded), array)


def test_show_circuit_highlights_it_and_follows_interventions(viz):
    circuit = viz.show_circuit(True, coverage=0.8)
    offsets = {la["name"]: la["offset"] for la in viz.view.topology["layers"]}
    assert sorted(viz.view.highlight) == sorted(offsets[la] + u for la, u in circuit.unit_pairs())
    viz.intervene("fc1", list(range(32)), "zero")
    assert sorted(viz.view.highlight) == sorted(
        offsets[la] + u for la, u in viz.explainer.circuit(0, 0.8).unit_pairs())
    viz.controls.show_circuit.value = False
    assert viz.view.highlight == []


def test_explain_writes_escaped_text_under_the_view():
    model = ZOO["sequential_mlp"]()
    viz = NetViz(model, example_input(model), class_labels=["<b>x</b>", "y", "z"])
    viz.controls.explain.click()
    assert "The model" in viz.text.value and "Causal check" in viz.text.value
    assert "<b>x</b>" not in viz.text.value or "&lt;b&gt;x&lt;/b&gt;" in viz.text.value
    viz.intervene("0", [0], "zero")
    assert viz.text.value == ""


@pytest.mark.parametrize("name, value", [
    ("node_color", "<script>"), ("edge_color", 3), ("top_k", -5), ("top_k", 10**9),
    ("highlight", [10**6]), ("highlight", ["fc1"]), ("height", 10**7),
])
def test_untrusted_settings_from_the_front_end_are_refused(viz, name, value):
    before = getattr(viz.view, name)
    viz.view.set_trait(name, value)
    assert getattr(viz.view, name) == before
    assert viz.view.error.startswith(f"Rejected {name} from the view")


def test_the_view_warns_when_the_completeness_gap_is_large():
    model = ZOO["custom_mlp"]()  # ReLU then sigmoid: one step misses 24% of F(x) - F(0)
    x = example_input(model, batch=1)
    coarse = NetViz(model, x, n_steps=1)
    fine = NetViz(model, x, n_steps=256)
    assert coarse.snapshot.relative_delta[0] > 0.05, "pick a model where one step is too few"
    assert "increase n_steps" in coarse.view.state["warning"]
    assert fine.snapshot.relative_delta[0] < 0.05 and fine.view.state["warning"] is None
