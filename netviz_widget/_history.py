"""The Explainer's history of interventions, kept so that a call commits it in one assignment,
and small helpers for what must survive a change of inputs or of the model."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from .graph import LayeredGraph
from .interventions import Intervention

_SERIALS = itertools.count()


@dataclass(frozen=True)
class Entry:
    intervention: Intervention
    predicted_effect: np.ndarray
    actual_effect: np.ndarray
    request: dict[str, Any] = field(repr=False)  # what the user asked, to re-resolve it
    serial: int = field(default_factory=lambda: next(_SERIALS))  # never reused, unlike id()


class History(NamedTuple):
    """Interventions in force (oldest first) and undone ones (most recent last), replaced as a
    whole: one assignment commits a call, so an interrupt leaves the old history or the new."""

    stack: tuple[Entry, ...] = ()
    redo: tuple[Entry, ...] = ()


def fitting_specs(target: object, baseline: object, inputs: object,
                  example_shape: tuple[int, ...]) -> tuple[object, object]:
    """The target and baseline specs that still fit a batch of new `inputs`; a warning names
    the ones that did not (reset to the predicted class and to zeros)."""
    batch = inputs.shape[0] if isinstance(inputs, torch.Tensor) and inputs.dim() else 0
    dropped = []
    if not (target is None or isinstance(target, (int, np.integer))) and \
            (not hasattr(target, "__len__") or len(target) != batch):
        target = None
        dropped.append("target (one per old input): now the predicted class")
    if isinstance(baseline, torch.Tensor) and tuple(baseline.shape) != tuple(example_shape) and \
            baseline.shape[:1] not in ((1,), (batch,)):
        baseline = None
        dropped.append("baseline (one per old input): now zeros")
    if dropped:
        warnings.warn("New inputs: reset " + "; ".join(dropped) + ".", stacklevel=4)
    return target, baseline


def signature(graph: LayeredGraph) -> tuple:
    """What must stay the same for results to be comparable: layers and edge blocks."""
    return (tuple((la.name, la.kind, la.n_units, la.shape) for la in graph.layers),
            tuple((b.src, b.dst, b.kind, b.shape) for b in graph.blocks))
