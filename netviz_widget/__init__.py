"""netviz_widget: look inside small neural networks and change them while you look.

Headless: ``Explainer(model, x)`` (scores, interventions, undo). In a notebook:
``display(NetViz(model, x))``. torch, Captum and the widget stack load lazily on first use (so
that ``netviz --help`` answers at once).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from netviz_widget.errors import NetVizError

try:
    __version__ = version("netviz_widget")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

_LAZY = {
    "EdgeBlock": "netviz_widget.engine.graph.layered",
    "LayeredGraph": "netviz_widget.engine.graph.layered",
    "UnitLayer": "netviz_widget.engine.graph.layered",
    "MODES": "netviz_widget.engine.interventions",
    "Intervention": "netviz_widget.engine.interventions",
    "intervened": "netviz_widget.engine.interventions",
    "make_intervention": "netviz_widget.engine.interventions",
    "Explainer": "netviz_widget.engine.explainer",
    "Snapshot": "netviz_widget.engine.snapshot",
    "NeuronView": "netviz_widget.engine.snapshot",
    "DatasetScores": "netviz_widget.engine.snapshot",
    "NetViz": "netviz_widget.ui.widget",
    "Recorder": "netviz_widget.engine.recorder",
    "Recording": "netviz_widget.engine.recording",
    "SnapshotDiff": "netviz_widget.engine.compare",
    "TopK": "netviz_widget.layers",
}

__all__ = [
    "MODES",
    "DatasetScores",
    "EdgeBlock",
    "Explainer",
    "Intervention",
    "LayeredGraph",
    "NetViz",
    "NetVizError",
    "NeuronView",
    "Recorder",
    "Recording",
    "Snapshot",
    "SnapshotDiff",
    "TopK",
    "UnitLayer",
    "__version__",
    "intervened",
    "make_intervention",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'netviz_widget' has no attribute {name!r}")
