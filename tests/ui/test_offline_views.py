"""The offline page's per-input views and precomputed drill-downs match what the live widget
publishes for the same input and click."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from netviz_widget import NetViz
from netviz_widget.datasets import digits_mlp, load_digits_split
from netviz_widget.errors import InputError
from netviz_widget.ui.export import standalone_html
from netviz_widget.ui.offline_views import offline_views
from tests.wire import decode_array


@pytest.fixture(scope="module")
def built():
    data = load_digits_split()
    model = digits_mlp()
    viz = NetViz(model, data.x_test[:3], reference=data.x_train[:200])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    views = offline_views(viz, ["first", "second", "<b>third</b>"])
    return viz, views, model, before


def test_one_view_per_input_with_its_own_state(built):
    viz, views, model, _ = built
    assert [v["label"] for v in views["views"]] == ["first", "second", "<b>third</b>"]
    with torch.no_grad():
        predicted = model(viz.explainer.inputs).argmax(1).tolist()
    for i, view in enumerate(views["views"]):
        assert view["state"]["example"] == i
        assert view["state"]["predicted"] == predicted[i]
        assert view["circuit"] == viz._node_ids(viz.explainer.circuit(i, 0.8).unit_pairs())
    assert views["views"][0]["topology"] == viz.view.topology
    assert views["views"][1]["topology"] is None  # every edge shipped: the same topology
    maps = [decode_array(v["state"]["input_map"]) for v in views["views"]]
    assert not np.allclose(maps[0], maps[1])
    assert viz.example == 0  # left showing the input it showed


def test_every_hidden_and_output_unit_has_the_live_drilldown_of_each_input(built):
    viz, views, model, before = built
    n_units = sum(la.n_units for la in viz.explainer.graph.layers if la.role != "input")
    assert len(views["pixels"]) == n_units
    for i, layer, unit in [(0, "fc1", 5), (2, "fc2", 3), (1, "fc3", 7)]:
        viz.example = i
        viz.select(layer, unit)
        live = viz.view.drilldown
        saved = {**views["views"][i]["drilldown"][f"{layer}/{unit}"],
                 "example_pixels": views["pixels"][f"{layer}/{unit}"]}
        assert saved.keys() == live.keys()
        assert (saved["layer"], saved["unit"]) == (layer, unit)
        assert saved["top_inputs"] == live["top_inputs"]
        np.testing.assert_allclose(decode_array(saved["input_scores"]),
                                   decode_array(live["input_scores"]), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(decode_array(saved["example_pixels"]),
                                      decode_array(live["example_pixels"]))
    viz.clear_selection()
    viz.example = 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_labels_are_checked_and_escaped_in_the_page(built):
    viz, views, _, _ = built
    with pytest.raises(InputError, match="labels"):
        offline_views(viz, ["only one"])
    page = standalone_html(viz.view, views=views)
    assert "<b>third</b>" not in page
    state = re.search(r'id="netviz-state">(.*?)</script>', page, re.S).group(1)
    assert json.loads(state)["__views__"]["views"][2]["label"] == "<b>third</b>"


def test_a_view_keeps_its_own_topology_when_its_shipped_edges_differ():
    data = load_digits_split()
    viz = NetViz(digits_mlp(), data.x_test[:2], reference=data.x_train[:50], max_edges=40)
    views = offline_views(viz, ["a", "b"])["views"]
    edges = [decode_array(v["topology"]["edges"]["src"]) for v in views]  # the top edges per input
    assert len(edges[0]) == len(edges[1]) == 40 and not np.array_equal(edges[0], edges[1])
