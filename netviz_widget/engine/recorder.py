"""Recorder: compact snapshots of a model taken inside a plain PyTorch training loop.

    recorder = Recorder(model, x_probe, every=50, path="run.npz")
    for step, (x, y) in enumerate(batches):
        ...; optimiser.step()
        recorder.step(step, loss=loss.item(), metrics={"acc": acc})
    recorder.save()                     # or use `with Recorder(...) as recorder:`
    NetViz.replay(Recording.load("run.npz"))

Every `every` steps it scores the probe inputs exactly as `Explainer(model, x).snapshot()`
would (same numbers, bit for bit) and keeps the unit scores and activations, the top edges,
the outputs and the completeness gap; every call adds the loss and metrics to the curves. The
format and its size bound are in recording.py. Recording leaves training unchanged: the model's
parameters, flags, gradients and hooks are restored and the global RNG is not consumed.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np
import torch
from torch import nn

from netviz_widget.engine import _checks
from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine.attribution import path_scores
from netviz_widget.engine.compare import current_weights
from netviz_widget.engine.graph.layered import LayeredGraph, check_input
from netviz_widget.engine.recording import Recording, edge_pairs
from netviz_widget.errors import InputError, ModelError

__all__ = ["Recorder"]


class Recorder:
    """Record `model` on the probe `inputs` every `every` training steps.

    Args:
        model: the model being trained (never changed by the recorder).
        inputs: a small probe batch (batch, ...), e.g. 8 test inputs.
        every: take a snapshot when ``step % every == 0``.
        path: where `save()` (and the end of a ``with`` block) writes the recording.
        target: output index explained: None (each record's predicted class), an int, or one
            per input (e.g. the labels).
        n_steps: integration steps (as in Explainer).
        baseline: None (zeros), "mean" (the probe mean) or a tensor, as in Explainer.
        max_edges: edges kept per record (largest mean |edge score|).
        max_records, max_points: bounds on snapshots and curve points; when one is reached the
            recorder keeps every second entry and halves its rate from then on.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, every: int = 50,
                 path: str | Path | None = None, target: object = None, n_steps: int = 16,
                 baseline: object = None, max_edges: int = 4096, max_records: int = 256,
                 max_points: int = 20_000) -> None:
        if not isinstance(model, nn.Module):
            raise ModelError("model", "a torch.nn.Module", model)
        self.model = model
        self.inputs = check_input("inputs", inputs, model=model).detach().clone()
        self.every = _checks.positive_int("every", every)
        self.n_steps = _checks.positive_int("n_steps", n_steps)
        self.max_edges = _checks.positive_int("max_edges", max_edges)
        self.max_records = _checks.positive_int("max_records", max_records)
        self.max_points = _checks.positive_int("max_points", max_points)
        if self.max_records < 2 or self.max_points < 2:
            raise InputError("max_records" if self.max_records < 2 else "max_points", "at least 2",
                             min(self.max_records, self.max_points))
        self.path = None if path is None else Path(path)
        self.baseline = _checks.baseline(baseline, self.inputs, self.inputs)
        with torch.random.fork_rng(devices=self._devices()):
            self.graph = LayeredGraph.from_module(model, self.inputs[:1])
        self._target_spec = target
        self._n_classes = self.graph.output_layer.n_units
        _checks.target(target, self.inputs.shape[0], self._n_classes,
                       torch.zeros(self.inputs.shape[0], dtype=torch.long))  # validate now
        self._pairs = edge_pairs([{"kind": b.kind, "shape": b.shape} for b in self.graph.blocks])
        self._n_edges = sum(len(dst) for dst, _ in self._pairs)
        self._records: list[dict[str, np.ndarray]] = []
        self._curve: list[tuple[int, float, dict[str, float]]] = []
        self._curve_every = 1
        self._calls = 0

    # ------------------------------------------------------------------ training loop
    def step(self, step: int, loss: float | None = None, metrics: dict[str, float] | None = None) -> bool:
        """Note the loss and metrics of training step `step`; take a snapshot when
        ``step % every == 0``. Returns True when a snapshot was taken."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise InputError("step", "a training step ≥ 0 (an int)", step)
        values = {} if metrics is None else self._check_metrics(metrics)
        if self._calls % self._curve_every == 0:
            self._curve.append((int(step), np.nan if loss is None else self._number("loss", loss), values))
            if len(self._curve) >= self.max_points:
                self._curve = self._curve[::2]
                self._curve_every *= 2
        self._calls += 1
        if step % self.every:
            return False
        self.record(step)
        return True

    def record(self, step: int) -> None:
        """Take a snapshot now, labelled `step`."""
        last = int(self._records[-1]["steps"]) if self._records else -1
        if int(step) <= last:
            raise InputError("step", f"a step after the last recorded one ({last})", step)
        self._records.append(self._snapshot(int(step)))
        if len(self._records) >= self.max_records:
            self._records = self._records[::2]
            self.every *= 2

    @property
    def recording(self) -> Recording:
        """Everything recorded so far, as a Recording."""
        if not self._records:
            raise InputError("recorder", "at least one recorded step (call step(0, ...) first)", "none")
        stack = {key: np.stack([r[key] for r in self._records]) for key in self._records[0]}
        node_scores = {la.name: stack.pop(f"node_scores/{la.name}") for la in self.graph.layers}
        activations = {la.name: stack.pop(f"activations/{la.name}") for la in self.graph.layers}
        names = sorted({name for _, _, values in self._curve for name in values})
        metrics = {name: np.array([values.get(name, np.nan) for _, _, values in self._curve])
                   for name in names}
        return Recording(
            meta=self._meta(), inputs=self.inputs.cpu().numpy(), node_scores=node_scores,
            activations=activations, curve_steps=np.array([s for s, _, _ in self._curve], dtype=np.int64),
            loss=np.array([v for _, v, _ in self._curve], dtype=np.float64), metrics=metrics, **stack,
        )

    def save(self, path: str | Path | None = None) -> Path:
        """Write the recording to `path` (default: the recorder's path) and return the file."""
        target = self.path if path is None else Path(path)
        if target is None:
            raise InputError("path", "a file path (here or in Recorder(path=...))", None)
        return self.recording.save(target)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.path is not None and self._records:
            self.save()

    # ------------------------------------------------------------------ internals
    def _devices(self) -> list[int]:
        device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        return [device.index or 0] if device.type == "cuda" else []

    @staticmethod
    def _number(argument: str, value: object) -> float:
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputError(argument, "a number", value)
        return float(value)

    def _check_metrics(self, metrics: object) -> dict[str, float]:
        if not isinstance(metrics, dict) or not all(isinstance(k, str) for k in metrics):
            raise InputError("metrics", "a dict of name → number", metrics)
        return {name: self._number(f"metrics[{name!r}]", value) for name, value in metrics.items()}

    def _snapshot(self, step: int) -> dict[str, np.ndarray]:
        """Score the probe inputs as Explainer.snapshot() does, keep the top edges."""
        with torch.random.fork_rng(devices=self._devices()), evaluation_mode(self.model):
            if self._target_spec is None:
                with torch.no_grad():
                    predicted = self.graph.runner.run(self.inputs).argmax(1)
            else:
                predicted = torch.zeros(self.inputs.shape[0], dtype=torch.long, device=self.inputs.device)
            target = _checks.target(self._target_spec, self.inputs.shape[0], self._n_classes, predicted)
            scores = path_scores(self.graph, self.inputs, self.baseline, target, self.n_steps)
            weights = current_weights(self.graph)
        logits = _checks.finite_output(scores.logits, "model output")
        picked = target.unsqueeze(1)
        change = (logits.gather(1, picked) - scores.baseline_logits.gather(1, picked))[:, 0].cpu().numpy()
        ig_total = scores.input_scores.reshape(scores.input_scores.shape[0], -1).sum(1)
        keys = [(b.src, b.dst) for b in self.graph.blocks]
        edge_scores = np.concatenate([scores.edge_scores[key][:, dst, src]
                                      for key, (dst, src) in zip(keys, self._pairs)], axis=1)
        edge_weights = np.concatenate([weights[key][dst, src] for key, (dst, src) in zip(keys, self._pairs)])
        if self._n_edges > self.max_edges:
            strength = np.abs(edge_scores).mean(0)
            index = np.sort(np.argpartition(-strength, self.max_edges - 1)[:self.max_edges])
        else:
            index = np.arange(self._n_edges)
        record = {
            "steps": np.int64(step), "target": target.cpu().numpy().astype(np.int64),
            "logits": logits.cpu().numpy().astype(np.float32),
            "input_scores": scores.input_scores.astype(np.float32),
            "delta": (ig_total - change).astype(np.float32), "output_change": change.astype(np.float32),
            "edge_index": index.astype(np.int32), "edge_scores": edge_scores[:, index].astype(np.float32),
            "edge_weights": edge_weights[index].astype(np.float32),
        }
        for layer in self.graph.layers:
            record[f"node_scores/{layer.name}"] = scores.node_scores[layer.name].astype(np.float32)
            record[f"activations/{layer.name}"] = scores.activations[layer.name].astype(np.float32)
        return record

    def _meta(self) -> dict:
        return {
            "layers": [{"name": la.name, "kind": la.kind, "role": la.role, "n_units": la.n_units,
                        "shape": list(la.shape)} for la in self.graph.layers],
            "blocks": [{"src": b.src, "dst": b.dst, "kind": b.kind, "shape": list(b.shape)}
                       for b in self.graph.blocks],
            "every": self.every, "n_steps": self.n_steps, "max_edges": self.max_edges,
            "n_edges": self._n_edges,
        }
