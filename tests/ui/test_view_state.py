"""One owner of the view's state: NetViz. The controls mirror it without calling back, one Apply
over several layers is one undo step, and the drill-down is computed once per unit and state."""

from __future__ import annotations

import torch

from netviz_widget import NetViz
from netviz_widget.ui import view_state
from tests.zoo import ZOO, example_input


def make() -> NetViz:
    model = ZOO["custom_mlp"]()
    return NetViz(model, example_input(model, batch=3))


def hidden(viz: NetViz) -> list[str]:
    return [layer.name for layer in viz.explainer.graph.layers if layer.role == "hidden"]


def test_one_apply_over_two_layers_is_one_undo_step():
    viz = make()
    first, second = hidden(viz)[:2]
    clean = viz.snapshot.outputs["logits"].copy()
    viz.select([(first, 0), (second, 1)])
    viz.controls.mode.value = "zero"
    viz.controls.apply.click()
    assert len(viz.explainer.history) == 2 and viz.controls.status.value == ""
    viz.controls.undo.click()
    assert viz.explainer.history == [] and (viz.snapshot.outputs["logits"] == clean).all()
    viz.controls.redo.click()
    assert [h["layer"] for h in viz.explainer.history] == [first, second]


def test_the_controls_mirror_python_without_calling_back(monkeypatch):
    viz = make()
    publishes = []
    original = viz._publish
    monkeypatch.setattr(viz, "_publish", lambda *a, **k: (publishes.append(k), original(*a, **k))[1])
    viz.example = 2
    assert viz.controls.example.value == 2 and len(publishes) == 1  # no second round through the slider
    viz.controls.example.value = 1  # the user moves the slider: one request
    assert viz.example == 1 and len(publishes) == 2
    viz.target = 1
    assert viz.controls.target.value == 1 and len(publishes) == 3
    viz.target = [0, 1, 2]  # per-input targets show as "predicted" without resetting them
    assert viz.controls.target.value == -1 and viz.target.tolist() == [0, 1, 2]
    viz.show_circuit(True)
    assert viz.controls.show_circuit.value and viz.circuit_shown
    viz.controls.show_circuit.value = False
    assert not viz.circuit_shown


def test_the_drilldown_is_cached_per_unit_and_state(monkeypatch):
    viz = make()
    calls = []
    original = view_state.drilldown_trait
    monkeypatch.setattr(view_state, "drilldown_trait", lambda *a: (calls.append(a[1:]), original(*a))[1])
    layer = hidden(viz)[0]
    viz.select(layer, 1)
    viz.select(layer, 1)
    viz.controls.node_metric.value = "activation"
    assert len(calls) == 1 and viz.view.drilldown
    viz.intervene(layer, [0], "zero")  # a new state: computed again
    assert len(calls) == 2
    viz.undo()
    viz.select(layer, 2)
    assert len(calls) == 4 and torch.is_tensor(viz.inputs)
