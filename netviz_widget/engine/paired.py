"""PairedExplainer: one Explainer driving a second on another model with the same graph, so that
the two models' responses to the same interventions can be compared step by step (the compare
view of NetViz)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from netviz_widget.engine.compare import SnapshotDiff, check_same_graph, compare_explainers
from netviz_widget.engine.explainer import Explainer
from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.snapshot import Snapshot
from netviz_widget.errors import ModelError

__all__ = ["PairedExplainer"]


class PairedExplainer(Explainer):
    """An Explainer on `model` whose interventions, undo, redo and reset also act on a second
    Explainer, `.other`, on `other` (same inputs, targets, baseline, n_steps and reference), so
    that the two models' responses can be compared step by step. Takes Explainer's options."""

    def __init__(self, model: nn.Module, other: nn.Module, inputs: torch.Tensor, **options: object) -> None:
        if not isinstance(other, nn.Module):
            raise ModelError("compare", "a torch.nn.Module with the same layered graph as model", other)
        super().__init__(model, inputs, **options)
        check_same_graph(self.graph, LayeredGraph.from_module(other, self.inputs[:1]), "compare")
        self.other = Explainer(other, self.inputs, target=self.target, baseline=self.baseline,
                               n_steps=self.n_steps, reference=self.reference)

    def intervene(self, layer: str, units: object, mode: str = "zero", value: float | None = None,
                  patch_input: torch.Tensor | None = None, seed: int | None = None) -> Snapshot:
        """Apply the intervention to both models (the same seed for a resample)."""
        seed = len(self._stack) if seed is None else seed
        previous = self.other._history
        self.other.intervene(layer, units, mode, value=value, patch_input=patch_input, seed=seed)
        try:
            return super().intervene(layer, units, mode, value=value, patch_input=patch_input, seed=seed)
        except Exception:
            self.other._history = previous  # B as it was: the step is not left half applied
            raise

    def intervene_all(self, requests: Sequence[dict[str, Any]]) -> Snapshot:
        """Apply the interventions to both models as one step each (the same seeds)."""
        requests = [{**request, "seed": request.get("seed", len(self._stack) + i)}
                    for i, request in enumerate(requests)]
        previous = self.other._history
        self.other.intervene_all(requests)
        try:
            return super().intervene_all(requests)
        except Exception:
            self.other._history = previous
            raise

    def undo(self) -> Snapshot:
        """Undo the last intervention on both models."""
        self.other.undo()
        return super().undo()

    def redo(self) -> Snapshot:
        """Redo on both models."""
        self.other.redo()
        return super().redo()

    def reset(self) -> Snapshot:
        """Remove every intervention from both models."""
        self.other.reset()
        return super().reset()

    @Explainer.target.setter
    def target(self, value: object) -> None:
        Explainer.target.fset(self, value)
        if hasattr(self, "other"):
            self.other.target = self.target.tolist()

    def diff(self) -> SnapshotDiff:
        """B − A of the two models in their current state (interventions applied)."""
        return compare_explainers(self, self.other)
