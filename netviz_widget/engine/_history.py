"""The Explainer's history of interventions, kept so that a call commits it in one assignment,
and small helpers for what must survive a change of inputs or of the model."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.interventions import Intervention

_SERIALS = itertools.count()


@dataclass(frozen=True)
class Entry:
    intervention: Intervention
    predicted_effect: np.ndarray
    actual_effect: np.ndarray
    request: dict[str, Any] = field(repr=False)  # what the user asked, to re-resolve it
    serial: int = field(default_factory=lambda: next(_SERIALS))  # never reused, unlike id()
    step: int = -1  # entries of one call share it (one undo step); -1: a step of its own

    @property
    def group(self) -> int:
        """The undo step this entry belongs to."""
        return self.serial if self.step == -1 else self.step


class History(NamedTuple):
    """Interventions in force (oldest first) and undone ones (most recent last), replaced as a
    whole: one assignment commits a call, so an interrupt leaves the old history or the new."""

    stack: tuple[Entry, ...] = ()
    redo: tuple[Entry, ...] = ()


def _last_step(entries: tuple[Entry, ...]) -> int:
    """How many entries at the end of `entries` belong to the last one's undo step."""
    if not entries:
        return 0
    group, count = entries[-1].group, 0
    while count < len(entries) and entries[-1 - count].group == group:
        count += 1
    return count


def undone(history: History) -> History:
    """`history` with its last undo step (all entries one call made) moved to the redo list."""
    stack, redo = history
    count = _last_step(stack)
    return History(stack[:len(stack) - count], (*redo, *stack[len(stack) - count:])) if count else history


def redone(history: History) -> History:
    """`history` with the most recently undone step re-applied, its entries in their order."""
    stack, redo = history
    count = _last_step(redo)
    return History((*stack, *redo[len(redo) - count:]), redo[:len(redo) - count]) if count else history


def cleared(history: History) -> History:
    """`history` with every step undone (they can be redone one by one, oldest first)."""
    while history.stack:
        history = undone(history)
    return history


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
