"""Wide layers as groups of units: sums add up, groups expand on click, selections map back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import NetViz
from tests.wire import decode_array


@pytest.fixture
def viz():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 1000), nn.ReLU(), nn.Linear(1000, 300), nn.ReLU(), nn.Linear(300, 3))
    return NetViz(model, torch.rand(2, 6), n_steps=8, input_image=False)


def test_wide_layers_become_groups_whose_scores_are_sums(viz):
    layers = viz.view.topology["layers"]
    assert [(la["n_nodes"], la["n_units"]) for la in layers] == [(6, 6), (63, 1000), (60, 300), (3, 3)]
    assert layers[1]["labels"][0] == "0[0–15]" and layers[1]["labels"][-1] == "0[992–999]"
    scores = decode_array(viz.view.state["node_scores"])
    snap = viz.snapshot
    first = layers[1]["offset"]
    np.testing.assert_allclose(scores[first], snap.node_scores["0"][0][:16].sum(), rtol=1e-5)
    np.testing.assert_allclose(scores[first:first + 63].sum(), snap.node_scores["0"][0].sum(), rtol=1e-4)


def test_an_aggregated_edge_carries_the_sum_of_its_unit_edges(viz):
    topology, state = viz.view.topology, viz.view.state
    src, dst = decode_array(topology["edges"]["src"]), decode_array(topology["edges"]["dst"])
    scores = decode_array(state["edge_scores"])
    o1, o2 = topology["layers"][1]["offset"], topology["layers"][2]["offset"]
    k = int(np.nonzero((src == o1 + 2) & (dst == o2 + 1))[0][0])  # group 2 of fc0 → group 1 of fc2
    table = viz.snapshot.edge_scores[("0", "2")][0]
    np.testing.assert_allclose(scores[k], table[5:10, 32:48].sum(), rtol=1e-4)


def test_clicking_a_group_expands_it_and_units_inside_can_then_be_selected(viz):
    viz.view.request("select", [["0", 3]])  # group 3: units 48–63
    layer = viz.view.topology["layers"][1]
    assert layer["n_nodes"] == 63 - 1 + 16 and layer["labels"][3] == "0[48]"
    assert viz._selection == [] and viz.view.error == ""
    viz.view.request("select", [["0", 3 + 5]])  # unit 53 is now its own node
    assert viz._selection == [("0", 53)]
    assert viz.view.drilldown["unit"] == 53


def test_python_selection_of_a_hidden_unit_expands_its_group(viz):
    viz.select("2", 123)  # group 24 of the 300-unit layer (size 5)
    assert viz.view.selection == [["2", 24 + 3]]
    assert viz.view.topology["layers"][2]["labels"][24 + 3] == "2[123]"
    viz.intervene(mode="zero")
    offset = viz.view.topology["layers"][2]["offset"]
    assert viz.view.state["ablated"] == [offset + 27]
    viz.show_circuit(True)
    assert all(0 <= i < viz.view.topology["n_nodes"] for i in viz.view.highlight)


def test_a_bad_node_index_from_the_view_is_refused(viz):
    viz.view.request("select", [["0", 63]])
    assert viz.view.error.startswith("Rejected a selection from the view.")
    assert "[0, 63)" in viz.view.error


def test_repr_is_one_short_line(viz):
    text = repr(viz)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("NetViz(Sequential 6-1000-300-3, 2 inputs, example 0, 0 interventions")


def test_a_circuit_share_above_100_percent_is_worded_as_mixed_signs():
    from netviz_widget.analysis.explanation import _share_words

    assert _share_words(0.88) == "88% of the layer's attribution"
    over = _share_words(1.04)
    assert over.startswith("104% of the layer's net attribution") and "push against" in over


def test_the_plots_panel_waits_for_bokehjs_around_the_bokeh_widget(viz):
    from jupyter_bokeh.widgets import BokehModel

    from netviz_widget.ui.plots import BOKEH_WAIT_MS, BokehGate

    panel = viz.children[-1]
    assert isinstance(panel, BokehGate) and panel is viz.plots.widget
    assert isinstance(panel.plots, BokehModel) and panel.wait_ms == BOKEH_WAIT_MS
    assert panel.get_state()["plots"] == f"IPY_MODEL_{panel.plots.model_id}"
