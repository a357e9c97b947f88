"""How the Explainer measures an intervention: its actual effect on the target output (a forward
pass with and without it) and its first-order prediction (gradient × change), both on top of the
interventions in force. A mixin of `Explainer` (explainer.py), which holds the state it reads:
graph, inputs, target, reference, model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from netviz_widget.engine import _checks
from netviz_widget.engine._history import Entry
from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine.interventions import Intervention, intervened, make_intervention
from netviz_widget.engine.modes import MODE_REGISTRY
from netviz_widget.errors import InterventionError


class Measurements:
    """Effects of interventions on the target output (mixed into `Explainer`)."""

    def _measure(self, request: dict[str, Any], stack: Sequence[Entry]) -> Entry:
        """Resolve a request on top of `stack` and measure its predicted and actual effect."""
        patch_input, batch = request["patch_input"], self.inputs.shape[0]
        if self._front is not None:
            patch_input = self._front.convert("patch_input", patch_input)
        entry = MODE_REGISTRY.get(request["mode"]) if isinstance(request["mode"], str) else None
        patches = entry is not None and entry.needs == "patch_input"
        if patches and isinstance(patch_input, torch.Tensor) and patch_input.dim() > 1 \
                and patch_input.shape[0] not in (1, batch):
            raise InterventionError("patch_input", f"one example or one per input ({batch} rows)",
                                    patch_input)
        intervention = make_intervention(
            self.graph, request["layer"], request["units"], request["mode"], value=request["value"],
            reference=self.reference, patch_input=patch_input, batch_size=batch, seed=request["seed"])
        context = [entry.intervention for entry in stack]
        before = self._target_output(context)
        predicted = self._first_order_effect(intervention, context)
        after = self._target_output([*context, intervention])
        return Entry(intervention, predicted, after - before, request)

    def _logits(self, interventions: list[Intervention], x: torch.Tensor | None = None) -> torch.Tensor:
        x = self.inputs if x is None else x
        with evaluation_mode(self.model), torch.no_grad(), intervened(self.graph, interventions):
            logits = self.graph.runner.run(x)
        return _checks.finite_output(logits, "model output")

    def _target_output(self, interventions: list[Intervention]) -> np.ndarray:
        logits = self._logits(interventions)
        return logits.gather(1, self._target.unsqueeze(1))[:, 0].cpu().numpy()

    def _activation_and_gradient(self, layer: str, context: Sequence[Intervention] | None = None
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """A layer's activation at the inputs and the target output's gradient with respect to
        it, with `context` (default: the current interventions) applied (both detached)."""
        tap = self.graph.layer(layer).tap
        context = self.interventions if context is None else context
        with evaluation_mode(self.model), torch.enable_grad():
            x = self.inputs.clone().requires_grad_(True)
            with intervened(self.graph, context, capture=[tap]) as store:
                output = self.graph.runner.run(x)
                activation = store[tap]
                selected = output.gather(1, self._target.unsqueeze(1)).sum()
                (gradient,) = torch.autograd.grad(selected, activation)
        return activation.detach(), gradient.detach()

    def _first_order_effect(self, intervention: Intervention,
                            context: Sequence[Intervention] | None = None) -> np.ndarray:
        """Gradient × change: Σ_units ∂F/∂a · (a' − a) at the inputs, per example, on top of
        `context` (default: the interventions in force)."""
        activation, gradient = self._activation_and_gradient(intervention.layer, context)
        change = intervention.apply(activation) - activation
        return (gradient * change).reshape(change.shape[0], -1).sum(1).cpu().numpy()
