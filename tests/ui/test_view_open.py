"""NetViz's view opens its comm with the topology and state in the creation message: anywidget
0.11 drops every update message to a model whose ES module took over 2 s to load (a busy page),
so the first picture must not wait for one (issue 14 item 8)."""

from __future__ import annotations

import comm
import torch
from torch import nn

from netviz_widget import NetViz
from netviz_widget.ui.view import NetworkView


def _opened(monkeypatch) -> list[dict]:
    """The `data` of every comm opened from now on."""
    real, opened = comm.create_comm, []

    def record(**kwargs):
        opened.append(kwargs.get("data", {}))
        return real(**kwargs)

    monkeypatch.setattr(comm, "create_comm", record)
    return opened


def test_the_view_is_created_with_its_topology_and_state(monkeypatch):
    opened = _opened(monkeypatch)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    viz = NetViz(model, torch.randn(2, 4))
    views = [d["state"] for d in opened if d["state"].get("_model_name") == "AnyModel"
             and "topology" in d["state"]]
    assert len(views) == 1  # one creation message, sent once the view had its data
    created = views[0]
    assert [layer["n_units"] for layer in created["topology"]["layers"]] == [4, 5, 3]
    assert created["state"]["seq"] == viz.view.state["seq"]
    assert viz.view.comm is not None and viz.view.model_id == viz.view.comm.comm_id


def test_a_view_opens_at_once_unless_deferred(monkeypatch):
    opened = _opened(monkeypatch)
    views = lambda: [d for d in opened if d["state"].get("_model_name") == "AnyModel"]  # noqa: E731
    assert NetworkView().comm is not None
    deferred = NetworkView(defer_open=True)
    assert deferred.comm is None and len(views()) == 1
    deferred.topology = {"layers": []}  # no comm yet: nothing is sent, nothing fails
    deferred.open_with_state()
    assert deferred.comm is not None and len(views()) == 2
    assert views()[-1]["state"]["topology"] == {"layers": []}
