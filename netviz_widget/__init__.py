"""netviz_widget: look inside small neural networks and change them while you look."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .errors import NetVizError
from .graph import EdgeBlock, LayeredGraph, UnitLayer
from .interventions import MODES, Intervention, intervened, make_intervention

try:
    __version__ = version("netviz_widget")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "MODES",
    "EdgeBlock",
    "Intervention",
    "LayeredGraph",
    "NetVizError",
    "UnitLayer",
    "__version__",
    "intervened",
    "make_intervention",
]
