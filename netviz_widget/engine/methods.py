"""Unit attribution methods, one interface: a method gives every unit of a layer a score per
input, (batch, units), larger = more important for the target. The faithfulness checks rank
units by every registered method (`faithfulness.rank_units`, the report's deletion curves), so a
new method is one `register_method` call (docs/architecture.md has an example; a test adds one)::

    register_method(AttributionMethod("gradient", "gradient",
                                      lambda ex, layer: ex.gradient_times_activation(layer)))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from netviz_widget.engine._registry import Registry

if TYPE_CHECKING:
    from netviz_widget.engine.explainer import Explainer

__all__ = ["METHOD_REGISTRY", "AttributionMethod", "method", "register_method"]


@dataclass(frozen=True)
class AttributionMethod:
    """A unit attribution method.

    Attributes:
        name: its name (a key of `rank_units`' result, a row of the report's curves).
        label: how plots and tables label it.
        scores: ``scores(explainer, layer)`` → (batch, units) float array for the explainer's
            current inputs, targets and interventions.
        magnitude: rank by |score| (an activation's sign says nothing of its importance).
        help: one line for the docs.
    """

    name: str
    label: str
    scores: Callable[[Explainer, str], np.ndarray]
    magnitude: bool = False
    help: str = ""

    def order(self, ex: Explainer, layer: str, example: int = 0) -> np.ndarray:
        """`layer`'s units, most important first, for input `example`."""
        values = np.asarray(self.scores(ex, layer))[example]
        return np.argsort(-(np.abs(values) if self.magnitude else values), kind="stable")


METHOD_REGISTRY: Registry[AttributionMethod] = Registry("method")


def register_method(entry: AttributionMethod, replace: bool = False) -> AttributionMethod:
    """Add `entry` to the registry. Returns it."""
    return METHOD_REGISTRY.register(entry, replace)


def method(name: object) -> AttributionMethod:
    """The registered method `name`; an InputError naming the registered ones otherwise."""
    return METHOD_REGISTRY.lookup(name)


def _weight_norm(ex: Explainer, layer: str) -> np.ndarray:
    """The L2 norm of each unit's outgoing weights (incoming for the last layer), per input."""
    outgoing = [b.weight for b in ex.graph.blocks if b.src == layer]
    if outgoing:
        norms = np.sqrt(sum((w.astype(np.float64) ** 2).sum(0) for w in outgoing))
    else:
        norms = np.sqrt(sum((b.weight.astype(np.float64) ** 2).sum(1) for b in ex.graph.blocks_into(layer)))
    return np.broadcast_to(norms, (ex.inputs.shape[0], norms.shape[0]))


register_method(AttributionMethod("conductance", "conductance",
                                  lambda ex, layer: ex.snapshot().node_scores[layer],
                                  help="layer conductance (Captum's LayerConductance)"))
register_method(AttributionMethod("activation", "activation",
                                  lambda ex, layer: ex.snapshot().activations[layer], magnitude=True,
                                  help="|activation| at the input"))
register_method(AttributionMethod("weight norm", "weight norm", _weight_norm,
                                  help="L2 norm of the unit's outgoing weights"))
register_method(AttributionMethod("gradient × activation", "gradient × activation",
                                  lambda ex, layer: ex.gradient_times_activation(layer),
                                  help="∂F/∂a · a at the input (first-order Taylor)"))
