"""Explainer: the headless engine and the single owner of state.

It holds the model, the inputs, the layered graph, the reference set, the target and the
intervention stack with undo/redo, and turns the current state into a `Snapshot`.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from . import _checks
from ._model_state import evaluation_mode
from .attribution import path_scores
from .circuits import Circuit, Path, build_circuit, strongest_paths
from .errors import InputError, ModelError
from .graph import LayeredGraph, check_input
from .interventions import Intervention, intervened, make_intervention
from .neuron import neuron_view
from .reference import dataset_scores
from .snapshot import DatasetScores, NeuronView, Snapshot

if TYPE_CHECKING:
    from .compare import SnapshotDiff
    from .explanation import Explanation

__all__ = ["Explainer"]

_CACHE_SIZE = 64


_SERIALS = itertools.count()


@dataclass(frozen=True)
class _Entry:
    intervention: Intervention
    predicted_effect: np.ndarray
    actual_effect: np.ndarray
    serial: int = field(default_factory=lambda: next(_SERIALS))  # never reused, unlike id()


class Explainer:
    """Scores, interventions and drill-downs for `model` on `inputs`, with no UI.

    Args:
        model: any small torch network (Linear / Conv1d / Conv2d units). Never changed.
        inputs: a batch of inputs (batch, ...).
        target: output index to explain: an int, one per input, or None for the predicted
            class of the clean model (fixed at construction so effects compare like with like).
        baseline: integration baseline: None (zeros), "mean" (the reference mean), or a tensor
            shaped like one input or like the batch.
        n_steps: integration steps (the path has n_steps + 1 points, as in LayerConductance).
        reference: reference inputs for mean/resample ablation, dataset-level scores and
            top-activating examples (default: the inputs).
        device: where the engine computes; None follows the model's device (CPU or CUDA). The
            model is never moved: inputs, reference and baseline must be on that device.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, target: object = None,
                 baseline: object = None, n_steps: int = 32, reference: torch.Tensor | None = None,
                 device: str | torch.device | None = None) -> None:
        if not isinstance(model, nn.Module):
            raise ModelError("model", "a torch.nn.Module", model)
        model_device = next((p.device for p in model.parameters()), torch.device("cpu"))
        if device is not None and torch.device(device) != model_device:
            raise InputError("device", f"None or the model's device {model_device} (the model is never "
                             "moved)", str(device), hint=f"Move the model first: model.to({str(device)!r}).")
        self.device = model_device
        self.graph = LayeredGraph.from_module(model, check_input("inputs", inputs, model=model)[:1])
        self.model = model
        self.inputs = inputs.detach()
        self.n_steps = _checks.positive_int("n_steps", n_steps)
        self.reference = (self.inputs if reference is None else check_input(
            "reference", reference, model=model, shape=self.graph.example_shape).detach())
        self.baseline = _checks.baseline(baseline, self.inputs, self.reference)
        self._stack: list[_Entry] = []
        self._redo: list[_Entry] = []
        self._cache: OrderedDict[tuple, Snapshot] = OrderedDict()
        self._n_classes = self.graph.output_layer.n_units
        self._clean_prediction = self._logits([]).argmax(1)
        self._target = _checks.target(target, self.inputs.shape[0], self._n_classes,
                                      self._clean_prediction)

    # ---------------------------------------------------------------- state
    @property
    def target(self) -> torch.Tensor:
        """(batch,) output indices the scores explain."""
        return self._target

    @target.setter
    def target(self, value: object) -> None:
        self._target = _checks.target(value, self.inputs.shape[0], self._n_classes,
                                      self._clean_prediction)

    @property
    def interventions(self) -> list[Intervention]:
        """The interventions in force, oldest first."""
        return [entry.intervention for entry in self._stack]

    @property
    def history(self) -> list[dict[str, object]]:
        """The intervention stack, each entry with its predicted and measured effect on the
        target output (mean over the batch)."""
        return [{
            "step": i + 1,
            "intervention": entry.intervention.describe(),
            "layer": entry.intervention.layer,
            "units": list(entry.intervention.units),
            "mode": entry.intervention.mode,
            "predicted_effect": float(entry.predicted_effect.mean()),
            "actual_effect": float(entry.actual_effect.mean()),
        } for i, entry in enumerate(self._stack)]

    @property
    def can_undo(self) -> bool:
        """True when there is an intervention to undo."""
        return bool(self._stack)

    @property
    def can_redo(self) -> bool:
        """True when there is an undone intervention to redo."""
        return bool(self._redo)

    # ---------------------------------------------------------------- actions
    def snapshot(self, dataset: bool = False) -> Snapshot:
        """The current state: outputs, activations and scores with the interventions applied.
        With `dataset=True`, also dataset-level scores over the reference set."""
        key = (tuple(e.serial for e in self._stack), self._target.cpu().numpy().tobytes())
        snap = self._cache.get(key)
        if snap is None:
            snap = self._compute()
            self._cache[key] = snap
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        if dataset and snap.dataset is None:
            snap = replace(snap, dataset=self.dataset_scores())
            self._cache[key] = snap
        return snap

    def intervene(self, layer: str, units: object, mode: str = "zero", value: float | None = None,
                  patch_input: torch.Tensor | None = None, seed: int | None = None) -> Snapshot:
        """Apply an intervention on top of the current ones and return the new Snapshot.

        Modes: zero, mean, resample (seeded draw from the reference), clamp (`value`),
        scale (factor `value`), patch (activations from `patch_input`).
        """
        intervention = make_intervention(
            self.graph, layer, units, mode, value=value, reference=self.reference,
            patch_input=patch_input, batch_size=self.inputs.shape[0],
            seed=len(self._stack) if seed is None else seed)
        before = self._target_output(self.interventions)
        predicted = self._first_order_effect(intervention)
        after = self._target_output([*self.interventions, intervention])
        self._stack.append(_Entry(intervention, predicted, after - before))
        self._redo.clear()
        return self.snapshot()

    def undo(self) -> Snapshot:
        """Remove the most recent intervention (no-op when there is none)."""
        if self._stack:
            self._redo.append(self._stack.pop())
        return self.snapshot()

    def redo(self) -> Snapshot:
        """Re-apply the most recently undone intervention (no-op when there is none)."""
        if self._redo:
            self._stack.append(self._redo.pop())
        return self.snapshot()

    def reset(self) -> Snapshot:
        """Remove every intervention (they can be redone one by one, newest last)."""
        while self._stack:
            self._redo.append(self._stack.pop())
        return self.snapshot()

    def evaluate(self, interventions: Sequence[Intervention] = ()) -> np.ndarray:
        """(batch, classes) logits with the current interventions plus `interventions`, which
        are applied for this call only (not recorded in the history)."""
        return self._logits([*self.interventions, *interventions]).cpu().numpy()

    def gradient_times_activation(self, layer: str) -> np.ndarray:
        """(batch, units) ∂F/∂a · a at the inputs for the target (summed over positions)."""
        activation, gradient = self._activation_and_gradient(layer)
        product = gradient * activation
        return product.reshape(product.shape[0], product.shape[1], -1).sum(-1).cpu().numpy()

    def circuit(self, example: int = 0, coverage: float = 0.8) -> Circuit:
        """The smallest set of units and edges carrying ≥ `coverage` of each layer's
        attribution for `example`'s target (see circuits.py)."""
        if not 0 < coverage <= 1:
            raise InputError("coverage", "a fraction in (0, 1]", coverage)
        return build_circuit(self.graph, self.snapshot(), self._example(example), coverage)

    def paths(self, k: int = 5, example: int = 0) -> list[Path]:
        """The `k` strongest input→output paths by flow for `example`."""
        return strongest_paths(self.graph, self.snapshot(), _checks.positive_int("k", k),
                               self._example(example))

    def explain(self, example: int = 0, coverage: float = 0.8, mode: str = "mean",
                labels: Sequence[str] | None = None) -> Explanation:
        """A plain-language account of `example`'s decision, every number measured: the
        evidence in the input, the units that carry it, the circuit, and an ablation check.
        `labels` names the classes."""
        from .explanation import explain

        return explain(self, self._example(example), coverage, mode,
                       None if labels is None else [str(label) for label in labels])

    def compare(self, other: Explainer | nn.Module) -> SnapshotDiff:
        """B − A: how `other` differs from this explainer's model, per unit (score, activation),
        per edge (score, weight) and per output, with the most changed units (`top_units`).

        `other` is a model with the same layered graph (scored on these inputs with this
        target, baseline, n_steps and reference, without interventions) or an Explainer on the
        same inputs and targets (its interventions stay applied). A different architecture
        raises a GraphError naming the first difference."""
        from .compare import compare_explainers

        return compare_explainers(self, other)

    def _example(self, example: object) -> int:
        batch = self.inputs.shape[0]
        if isinstance(example, bool) or not isinstance(example, (int, np.integer)) \
                or not 0 <= example < batch:
            raise InputError("example", f"an input index in [0, {batch})", example)
        return int(example)

    def clean_probabilities(self) -> np.ndarray:
        """(batch, classes) output probabilities of the model without interventions."""
        if not hasattr(self, "_clean_probabilities"):
            self._clean_probabilities = self.graph.probabilities(self._logits([])).cpu().numpy()
        return self._clean_probabilities

    def neuron(self, layer: str, unit: int, k: int = 5) -> NeuronView:
        """Drill into one unit: NeuronConductance of the inputs for it (Captum's formula),
        its top input features and its top-activating reference examples."""
        (unit,) = self.graph.check_units(layer, [unit])
        return neuron_view(self.graph, self.inputs, self.baseline, self._target, self.n_steps,
                           self.interventions, self.reference, layer, unit, k)

    def dataset_scores(self, chunk_size: int = 256, progress: bool | None = None) -> DatasetScores:
        """Dataset-level unit scores over the reference set, per predicted class, in chunks
        (bounded memory, progress bar for large sets)."""
        return dataset_scores(self.graph, self.reference, self.n_steps, self.interventions,
                              self._n_classes, chunk_size=chunk_size, progress=progress)

    def to_frame(self) -> object:
        """Node scores as a tidy table (one row per example, layer and unit): a pandas
        DataFrame when pandas is installed, else a list of dicts."""
        snap = self.snapshot()
        records = [
            {"example": b, "layer": layer.name, "unit": u,
             "activation": float(snap.activations[layer.name][b, u]),
             "score": float(snap.node_scores[layer.name][b, u]), "target": int(snap.target[b])}
            for layer in self.graph.layers
            for b in range(self.inputs.shape[0])
            for u in range(layer.n_units)
        ]
        try:
            import pandas as pd
        except ImportError:
            return records
        return pd.DataFrame.from_records(records)

    def __repr__(self) -> str:
        return (f"Explainer({self.graph!r}, batch={self.inputs.shape[0]}, n_steps={self.n_steps}, "
                f"interventions={len(self._stack)})")

    # ---------------------------------------------------------------- internals
    def _logits(self, interventions: list[Intervention], x: torch.Tensor | None = None) -> torch.Tensor:
        x = self.inputs if x is None else x
        with evaluation_mode(self.model), torch.no_grad(), intervened(self.graph, interventions):
            logits = self.graph.runner.run(x)
        return _checks.finite_output(logits, "model output")

    def _target_output(self, interventions: list[Intervention]) -> np.ndarray:
        logits = self._logits(interventions)
        return logits.gather(1, self._target.unsqueeze(1))[:, 0].cpu().numpy()

    def _activation_and_gradient(self, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
        """A layer's activation at the inputs and the target output's gradient with respect to
        it, with the current interventions applied (both detached)."""
        tap = self.graph.layer(layer).tap
        with evaluation_mode(self.model), torch.enable_grad():
            x = self.inputs.clone().requires_grad_(True)
            with intervened(self.graph, self.interventions, capture=[tap]) as store:
                output = self.graph.runner.run(x)
                activation = store[tap]
                selected = output.gather(1, self._target.unsqueeze(1)).sum()
                (gradient,) = torch.autograd.grad(selected, activation)
        return activation.detach(), gradient.detach()

    def _first_order_effect(self, intervention: Intervention) -> np.ndarray:
        """Gradient × change: Σ_units ∂F/∂a · (a' − a) at the inputs, per example."""
        activation, gradient = self._activation_and_gradient(intervention.layer)
        change = intervention.apply(activation) - activation
        return (gradient * change).reshape(change.shape[0], -1).sum(1).cpu().numpy()

    def _compute(self) -> Snapshot:
        interventions = self.interventions
        with evaluation_mode(self.model):
            scores = path_scores(self.graph, self.inputs, self.baseline, self._target,
                                 self.n_steps, interventions)
        logits = _checks.finite_output(scores.logits, "model output")
        _checks.finite_scores(scores)
        target = self._target.unsqueeze(1)
        change = (logits.gather(1, target) - scores.baseline_logits.gather(1, target))[:, 0].cpu().numpy()
        ig_total = scores.input_scores.reshape(scores.input_scores.shape[0], -1).sum(1)
        top = self._stack[-1] if self._stack else None
        return Snapshot(
            logits=logits.cpu().numpy(), probabilities=self.graph.probabilities(logits).cpu().numpy(),
            target=self._target.cpu().numpy().copy(), activations=scores.activations,
            node_scores=scores.node_scores, edge_scores=scores.edge_scores,
            input_scores=scores.input_scores, delta=(ig_total - change).astype(np.float32),
            output_change=change, interventions=tuple(i.describe() for i in interventions),
            predicted_effect=None if top is None else top.predicted_effect,
            actual_effect=None if top is None else top.actual_effect,
        )
