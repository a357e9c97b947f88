"""netviz_widget: look inside small neural networks and change them while you look.

Headless: ``Explainer(model, x)`` (scores, interventions, undo). In a notebook:
``display(NetViz(model, x))``. torch, Captum and the widget stack load lazily on first use (so
that ``netviz --help`` answers at once).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .errors import NetVizError

try:
    __version__ = version("netviz_widget")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

_LAZY = {
    "EdgeBlock": "netviz_widget.graph",
    "LayeredGraph": "netviz_widget.graph",
    "UnitLayer": "netviz_widget.graph",
    "MODES": "netviz_widget.interventions",
    "Intervention": "netviz_widget.interventions",
    "intervened": "netviz_widget.interventions",
    "make_intervention": "netviz_widget.interventions",
    "Explainer": "netviz_widget.explainer",
    "Snapshot": "netviz_widget.snapshot",
    "NeuronView": "netviz_widget.snapshot",
    "DatasetScores": "netviz_widget.snapshot",
    "NetViz": "netviz_widget.widget",
    "Recorder": "netviz_widget.recorder",
    "Recording": "netviz_widget.recording",
    "SnapshotDiff": "netviz_widget.compare",
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
    "UnitLayer",
    "__version__",
    "intervened",
    "make_intervention",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'netviz_widget' has no attribute {name!r}")
