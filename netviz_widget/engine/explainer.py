"""Explainer: the headless engine and the single owner of state.

It holds the model, the inputs, the layered graph, the reference set, the target and the
intervention stack with undo/redo, and turns the current state into a `Snapshot`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from netviz_widget.analysis.circuits import Circuit, Path, build_circuit, strongest_paths
from netviz_widget.engine import _checks, _several, _tokens
from netviz_widget.engine._calls import (
    AUTO,
    check_num_threads,
    choose_threads,
    intra_op_threads,
    multiply_adds,
    public,
)
from netviz_widget.engine._fronts import InputFronts
from netviz_widget.engine._history import Entry, History, cleared, fitting_specs, redone, undone
from netviz_widget.engine._measuring import Measurements
from netviz_widget.engine._model_state import evaluation_mode, model_state
from netviz_widget.engine._model_watch import ModelWatch
from netviz_widget.engine.attribution import path_scores
from netviz_widget.engine.graph.layered import LayeredGraph, check_input
from netviz_widget.engine.interventions import Intervention
from netviz_widget.engine.kinds import per_unit
from netviz_widget.engine.neuron import neuron_view
from netviz_widget.engine.reference import dataset_scores
from netviz_widget.engine.snapshot import DatasetScores, NeuronView, Snapshot, SnapshotCache, tidy_frame
from netviz_widget.errors import InputError, ModelError

if TYPE_CHECKING:
    from netviz_widget.analysis.explanation import Explanation
    from netviz_widget.engine.compare import SnapshotDiff

__all__ = ["Explainer"]

CACHE_BYTES = 256 * 2 ** 20  # default bound of the snapshot cache (fits a laptop)

class Explainer(Measurements, ModelWatch, InputFronts):
    """Scores, interventions and drill-downs for `model` on `inputs`, with no UI.

    Args:
        model: any small torch network (Linear / Conv1d / Conv2d units). Never changed.
        inputs: a batch of inputs (batch, ...); a tuple ``(a, b, ...)`` for ``forward(a, b, ...)``
            (packed along axis 1 into `inputs`, see `split_inputs`); or token ids (batch,
            positions) for a model whose input enters an ``nn.Embedding`` (then `tokens` holds
            the ids and `inputs` their embedding, (batch, dims, positions)).
        target: output index to explain: an int, one per input, or None for the predicted
            class of the clean model (fixed at construction so effects compare like with like).
        baseline: integration baseline: None (zeros), "mean" (the reference mean), or a tensor
            shaped like one input or like the batch.
        n_steps: integration steps (the path has n_steps + 1 points, as in LayerConductance).
        reference: reference inputs for mean/resample ablation, dataset-level scores and
            top-activating examples (default: the inputs).
        device: where the engine computes; None follows the model's device (CPU or CUDA). The
            model is never moved: inputs, reference and baseline must be on that device.
        num_threads: torch intra-op threads for the engine's own work: "auto" (one thread for
            small work, where more only cost time, above all on a busy machine; the caller's
            setting for large work), an int, or None (torch's setting as it is). The caller's
            `torch.get_num_threads()` is restored after every call.
        cache_bytes: bound of the snapshot cache in bytes (the latest snapshot is always kept).

    Every public method is safe to call from several threads (they run one at a time), leaves
    the model exactly as it found it, and checks at its start whether the model's weights,
    buffers or submodules changed since the last call: then the scores are recomputed and the
    interventions re-resolved, so no result of other weights is ever served.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, target: object = None,
                 baseline: object = None, n_steps: int = 32, reference: torch.Tensor | None = None,
                 device: str | torch.device | None = None, num_threads: int | str | None = AUTO,
                 cache_bytes: int = CACHE_BYTES) -> None:
        if not isinstance(model, nn.Module):
            raise ModelError("model", "a torch.nn.Module", model)
        self._num_threads = check_num_threads(num_threads)
        self._cache = SnapshotCache(_checks.positive_int("cache_bytes", cache_bytes))
        model_device = next((p.device for p in model.parameters()), torch.device("cpu"))
        if device is not None and torch.device(device) != model_device:
            raise InputError("device", f"None or the model's device {model_device} (the model is never "
                             "moved)", str(device), hint=f"Move the model first: model.to({str(device)!r}).")
        _checks.supported_model(model)
        _checks.supported_dtype("inputs", inputs)
        self.tokens: torch.Tensor | None = None  # token ids, when the inputs are ids
        self._front: _tokens.TokenFront | _several.PackedInputs | None = None
        if _several.is_several(inputs):
            self._front = _several.PackedInputs(model, inputs)
            inputs = self._front.pack("inputs", inputs)
            reference = self._front.convert("reference", reference)
            baseline = self._front.convert("baseline", baseline)
        elif _tokens.is_token_batch(inputs, model):
            self._front = _tokens.TokenFront(model)
            self.tokens = inputs.detach().clone()
            self._token_reference = reference
            inputs = self._front.embed("inputs", inputs)
            reference = self._front.convert("reference", reference)
            baseline = self._front.convert("baseline", baseline)
        self.n_steps = _checks.n_steps(n_steps)
        self.device = model_device
        self.lock = self._lock = threading.RLock()  # hold `lock` to make several calls one unit
        with intra_op_threads(choose_threads(self._num_threads, 0)):
            self._seen = model_state(model)
            # ours: an in-place first op, or a later edit by the caller, never reaches the other
            self.inputs = check_input("inputs", inputs, model=model).detach().clone()
            self.graph = LayeredGraph.from_module(self._graph_model(model), self.inputs[:1])
            self._macs = multiply_adds(self.graph)
            self.model = model
            self.reference = (self.inputs if reference is None else check_input(
                "reference", reference, model=model, shape=self.graph.example_shape).detach())
            self._baseline_spec = baseline
            self.baseline = _checks.baseline(baseline, self.inputs, self.reference)
            self._history = History()
            self._n_classes = self.graph.output_layer.n_units
            self._clean_prediction = self._logits([]).argmax(1)
            self._target = _checks.target(target, self.inputs.shape[0], self._n_classes,
                                          self._clean_prediction)
        self._target_spec = target
        self.model_version = 0  # counts the model changes seen (weights, buffers, submodules)

    # ---------------------------------------------------------------- state
    @property
    def target(self) -> torch.Tensor:
        """(batch,) output indices the scores explain."""
        return self._target

    @target.setter
    def target(self, value: object) -> None:
        with self._lock:
            self._target = _checks.target(value, self.inputs.shape[0], self._n_classes,
                                          self._clean_prediction)
            self._target_spec = value

    @property
    def num_threads(self) -> int | str | None:
        """Torch intra-op threads for the engine's work: "auto", an int or None (see class)."""
        return self._num_threads

    @num_threads.setter
    def num_threads(self, value: object) -> None:
        self._num_threads = check_num_threads(value)

    @property
    def _stack(self) -> tuple[Entry, ...]:
        return self._history.stack

    @property
    def _redo(self) -> tuple[Entry, ...]:
        return self._history.redo

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
    @public()
    def snapshot(self, dataset: bool = False) -> Snapshot:
        """The current state: outputs, activations and scores with the interventions applied.
        With `dataset=True`, also dataset-level scores over the reference set."""
        snap = self._snapshot_of(self._stack)
        if dataset and snap.dataset is None:
            snap = replace(snap, dataset=self.dataset_scores())
            self._cache.put(self._key(self._stack), snap)
        return snap

    @public()
    def intervene(self, layer: str, units: object, mode: str = "zero", value: float | None = None,
                  patch_input: torch.Tensor | None = None, seed: int | None = None) -> Snapshot:
        """Apply an intervention on top of the current ones and return the new Snapshot.

        Modes: zero, mean, resample (seeded draw from the reference), clamp (`value`),
        scale (factor `value`), patch (activations from `patch_input`: one example, or one
        per input). A call that fails or is interrupted leaves the Explainer as it was.
        """
        request = {"layer": layer, "units": units, "mode": mode, "value": value,
                   "patch_input": patch_input, "seed": len(self._stack) if seed is None else seed}
        entry = self._measure(request, self._stack)
        return self._commit(History((*self._stack, entry), ()))

    @public()
    def intervene_all(self, requests: Sequence[dict[str, Any]]) -> Snapshot:
        """Apply several interventions as one step (one undo removes them all): each request is
        a dict of `intervene`'s arguments (layer, units, mode, value, patch_input, seed), applied
        in order on top of the previous ones. A failing request leaves the Explainer as it was."""
        stack = self._stack
        entries: list[Entry] = []
        for request in requests:
            full = {"value": None, "patch_input": None, "mode": "zero", "seed": None, **request}
            if full["seed"] is None:
                full["seed"] = len(stack) + len(entries)
            entry = self._measure(full, (*stack, *entries))
            entries.append(replace(entry, step=entries[0].serial if entries else entry.serial))
        return self._commit(History((*stack, *entries), ()))

    @public()
    def undo(self) -> Snapshot:
        """Remove the most recent step (an intervention, or all of one `intervene_all`; no-op
        when there is none)."""
        return self._commit(undone(self._history))

    @public()
    def redo(self) -> Snapshot:
        """Re-apply the most recently undone step (no-op when there is none)."""
        return self._commit(redone(self._history))

    @public()
    def reset(self) -> Snapshot:
        """Remove every intervention (they can be redone step by step, oldest first)."""
        return self._commit(cleared(self._history))

    @public()
    def with_inputs(self, inputs: torch.Tensor) -> Explainer:
        """A new Explainer of the same model on other `inputs`, keeping the reference, n_steps,
        thread and cache options, and the target and baseline where they fit the new batch (a
        warning says which did not; interventions are not carried over)."""
        target, baseline = fitting_specs(self._target_spec, self._baseline_spec, inputs,
                                         self.graph.example_shape)
        return Explainer(self.model, inputs, target=target, baseline=baseline, n_steps=self.n_steps,
                         reference=None if self.reference is self.inputs else self.reference,
                         num_threads=self._num_threads, cache_bytes=self._cache.max_bytes)

    def sibling(self, model: nn.Module) -> Explainer:
        """An Explainer of another `model` (same layered graph expected) on these inputs, with this
        target, baseline, n_steps and reference, without interventions."""
        return Explainer(model, self._given_inputs(), target=self.target.tolist(), baseline=self.baseline,
                         n_steps=self.n_steps, reference=self.reference)

    @public("batch")
    def evaluate(self, interventions: Sequence[Intervention] = ()) -> np.ndarray:
        """(batch, classes) logits with the current interventions plus `interventions`, which
        are applied for this call only (not recorded in the history)."""
        return self._logits([*self.interventions, *interventions]).cpu().numpy()

    @public()
    def gradient_times_activation(self, layer: str) -> np.ndarray:
        """(batch, units) ∂F/∂a · a at the inputs for the target (summed over positions)."""
        activation, gradient = self._activation_and_gradient(layer)
        product = gradient * activation
        unit_layer = self.graph.layer(layer)
        return unit_layer.own(per_unit(product, unit_layer.unit_axis).cpu().numpy())

    @public()
    def circuit(self, example: int = 0, coverage: float = 0.8) -> Circuit:
        """The smallest set of units and edges carrying ≥ `coverage` of each layer's
        attribution for `example`'s target (see circuits.py)."""
        if not 0 < coverage <= 1:
            raise InputError("coverage", "a fraction in (0, 1]", coverage)
        return build_circuit(self.graph, self.snapshot(), self._example(example), coverage)

    @public()
    def paths(self, k: int = 5, example: int = 0) -> list[Path]:
        """The `k` strongest input→output paths by flow for `example`."""
        return strongest_paths(self.graph, self.snapshot(), _checks.positive_int("k", k),
                               self._example(example))

    @public()
    def explain(self, example: int = 0, coverage: float = 0.8, mode: str = "mean",
                labels: Sequence[str] | None = None) -> Explanation:
        """A plain-language account of `example`'s decision, every number measured: the
        evidence in the input, the units that carry it, the circuit, and an ablation check.
        `labels` names the classes."""
        from netviz_widget.analysis.explanation import explain

        return explain(self, self._example(example), coverage, mode,
                       None if labels is None else [str(label) for label in labels])

    def compare(self, other: Explainer | nn.Module) -> SnapshotDiff:
        """B − A: how `other` differs from this explainer's model, per unit (score, activation),
        per edge (score, weight) and per output, with the most changed units (`top_units`).

        `other` is a model with the same layered graph (scored on these inputs with this
        target, baseline, n_steps and reference, without interventions) or an Explainer on the
        same inputs and targets (its interventions stay applied). A different architecture
        raises a GraphError naming the first difference."""
        from netviz_widget.engine.compare import compare_explainers

        return compare_explainers(self, other)

    def _example(self, example: object) -> int:
        batch = self.inputs.shape[0]
        if isinstance(example, bool) or not isinstance(example, (int, np.integer)) \
                or not 0 <= example < batch:
            raise InputError("example", f"an input index in [0, {batch})", example)
        return int(example)

    @public("batch")
    def clean_probabilities(self) -> np.ndarray:
        """(batch, classes) output probabilities of the model without interventions."""
        if getattr(self, "_clean_probabilities", None) is None:
            probabilities = self.graph.probabilities(self._logits([])).cpu().numpy()
            probabilities.flags.writeable = False
            self._clean_probabilities = probabilities
        return self._clean_probabilities

    @public()
    def neuron(self, layer: str, unit: int, k: int = 5) -> NeuronView:
        """Drill into one unit: NeuronConductance of the inputs for it (Captum's formula),
        its top input features and its top-activating reference examples."""
        (unit,) = self.graph.check_units(layer, [unit])
        return neuron_view(self.graph, self.inputs, self.baseline, self._target, self.n_steps,
                           self.interventions, self.reference, layer, unit, k)

    @public("dataset")
    def dataset_scores(self, chunk_size: int = 256, progress: bool | None = None) -> DatasetScores:
        """Dataset-level unit scores over the reference set, per predicted class, in chunks
        (bounded memory, progress bar for large sets)."""
        return dataset_scores(self.graph, self.reference, self.n_steps, self.interventions,
                              self._n_classes, chunk_size=chunk_size, progress=progress)

    @public()
    def to_frame(self) -> object:
        """Node scores as a tidy table (one row per example, layer and unit): a pandas
        DataFrame when pandas is installed, else a list of dicts."""
        return tidy_frame(self.snapshot(), [(layer.name, layer.n_units) for layer in self.graph.layers])

    def __repr__(self) -> str:
        return (f"Explainer({self.graph!r}, batch={self.inputs.shape[0]}, n_steps={self.n_steps}, "
                f"interventions={len(self._stack)})")

    # ---------------------------------------------------------------- internals
    def _work(self, rows: str) -> int:
        """Multiply-adds of a call's passes (for the thread policy, see _calls.py)."""
        batch, points = self.inputs.shape[0], self.n_steps + 1
        count = {"batch": batch, "path": batch * points,
                 "dataset": min(self.reference.shape[0], 256) * points}[rows]
        return self._macs * count

    def _key(self, stack: Sequence[Entry]) -> tuple:
        return (tuple(e.serial for e in stack), self._target.cpu().numpy().tobytes())

    def _snapshot_of(self, stack: Sequence[Entry]) -> Snapshot:
        key = self._key(stack)
        snap = self._cache.get(key)
        if snap is None:
            snap = self._compute([entry.intervention for entry in stack], stack[-1] if stack else None)
            self._cache.put(key, snap)
        return snap

    def _commit(self, history: History) -> Snapshot:
        """Compute the snapshot of `history`, then make it the state in one assignment: a call
        that fails or is interrupted before that leaves the Explainer as it was."""
        snap = self._snapshot_of(history.stack)
        previous = self._history
        try:
            self._history = history
            return snap
        except BaseException:  # an interrupt landing between the two lines above
            self._history = previous
            raise

    def _compute(self, interventions: list[Intervention] | None = None,
                 top: Entry | None = None) -> Snapshot:
        if interventions is None:
            interventions, top = self.interventions, (self._stack[-1] if self._stack else None)
        with evaluation_mode(self.model):
            scores = path_scores(self.graph, self.inputs, self.baseline, self._target,
                                 self.n_steps, interventions)
        logits = _checks.finite_output(scores.logits, "model output")
        _checks.finite_scores(scores)
        target = self._target.unsqueeze(1)
        change = (logits.gather(1, target) - scores.baseline_logits.gather(1, target))[:, 0].cpu().numpy()
        ig_total = scores.input_scores.reshape(scores.input_scores.shape[0], -1).sum(1)
        return Snapshot(
            logits=logits.cpu().numpy(), probabilities=self.graph.probabilities(logits).cpu().numpy(),
            target=self._target.cpu().numpy().copy(), activations=scores.activations,
            node_scores=scores.node_scores, edge_scores=scores.edge_scores,
            input_scores=scores.input_scores, delta=(ig_total - change).astype(np.float32),
            output_change=change, interventions=tuple(i.describe() for i in interventions),
            predicted_effect=None if top is None else top.predicted_effect,
            actual_effect=None if top is None else top.actual_effect,
        )

