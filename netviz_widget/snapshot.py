"""Snapshot: the engine's state at one moment, as plain numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DatasetScores", "NeuronView", "Snapshot"]


def short_list(values: object, limit: int = 8) -> str:
    """At most `limit` items of `values` (an array or a sequence) as a one-line list, numbers
    to 4 significant digits: the reprs of results stay one short line at any batch size."""
    items = list(np.asarray(values).ravel()) if isinstance(values, np.ndarray) else list(values)
    def text(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else repr(v.item() if isinstance(
            v, np.generic) else v)
    more = f", … {len(items)} in all" if len(items) > limit else ""
    return "[" + ", ".join(text(v) for v in items[:limit]) + more + "]"


@dataclass(frozen=True)
class DatasetScores:
    """Dataset-level unit scores over a reference set, grouped by the predicted class.

    Attributes:
        classes: class indices present (rows of the arrays below).
        counts: reference examples per class.
        mean: layer → (classes, units) mean conductance for the predicted class.
        mean_abs: layer → (classes, units) mean |conductance|.
        mean_activation: layer → (classes, units) mean activation (channel means for conv).
    """

    classes: np.ndarray
    counts: np.ndarray
    mean: dict[str, np.ndarray]
    mean_abs: dict[str, np.ndarray]
    mean_activation: dict[str, np.ndarray]


@dataclass(frozen=True)
class Snapshot:
    """Everything the view shows, for the inputs with the current interventions applied.

    Attributes:
        logits, probabilities: (batch, classes) model outputs.
        target: (batch,) output index the scores explain.
        activations: layer → (batch, units) unit activations (channel means for conv).
        node_scores: layer → (batch, units) layer conductance for the target.
        edge_scores: (src, dst) → (batch, dst units, src units) edge conductance.
        input_scores: integrated gradients, shaped like the inputs.
        delta: (batch,) completeness gap Σ input_scores − (F(x) − F(baseline)).
        output_change: (batch,) F(x) − F(baseline) for the target.
        interventions: labels of the interventions in force.
        predicted_effect / actual_effect: (batch,) first-order prediction (gradient × change
            of the ablated activations) and measured change of the target output for the last
            intervention; None for a snapshot without one.
        dataset: dataset-level scores over the reference set, when requested.
    """

    logits: np.ndarray
    probabilities: np.ndarray
    target: np.ndarray
    activations: dict[str, np.ndarray]
    node_scores: dict[str, np.ndarray]
    edge_scores: dict[tuple[str, str], np.ndarray] = field(repr=False)
    input_scores: np.ndarray = field(repr=False)
    delta: np.ndarray = field(repr=False)
    output_change: np.ndarray = field(repr=False)
    interventions: tuple[str, ...] = ()
    predicted_effect: np.ndarray | None = None
    actual_effect: np.ndarray | None = None
    dataset: DatasetScores | None = None

    def __repr__(self) -> str:
        """One line (the default dataclass repr prints every array: hundreds of lines)."""
        batch, outputs = self.logits.shape
        text = (f"Snapshot(batch={batch}, outputs={outputs}, prediction={short_list(self.prediction)}, "
                f"target={short_list(self.target)}, layers={short_list(list(self.node_scores), 6)}, "
                f"interventions={short_list(self.interventions, 4)}")
        if self.actual_effect is not None:
            text += f", actual_effect={short_list(self.actual_effect, 4)}"
        return text + (", dataset scores" if self.dataset is not None else "") + ")"

    @property
    def outputs(self) -> dict[str, np.ndarray]:
        """Logits and probabilities together."""
        return {"logits": self.logits, "probabilities": self.probabilities}

    @property
    def prediction(self) -> np.ndarray:
        """(batch,) predicted class."""
        return self.probabilities.argmax(axis=1)

    @property
    def relative_delta(self) -> np.ndarray:
        """(batch,) |delta| / |F(x) − F(baseline)| — above 0.05 means: use more steps."""
        return np.abs(self.delta) / np.maximum(np.abs(self.output_change), 1e-12)

    def save(self, path: str) -> None:
        """Save the arrays with `np.savez_compressed` so a run can be shared (see `load`)."""
        arrays: dict[str, np.ndarray] = {
            "logits": self.logits, "probabilities": self.probabilities, "target": self.target,
            "input_scores": self.input_scores, "delta": self.delta, "output_change": self.output_change,
            "interventions": np.array(self.interventions, dtype=str),
        }
        for name, values in self.activations.items():
            arrays[f"activations/{name}"] = values
        for name, values in self.node_scores.items():
            arrays[f"node_scores/{name}"] = values
        for (src, dst), values in self.edge_scores.items():
            arrays[f"edge_scores/{src}->{dst}"] = values
        for name in ("predicted_effect", "actual_effect"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str) -> Snapshot:
        """Load a Snapshot written by `save` (dataset-level scores are not saved)."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}

        def group(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}

        return cls(
            logits=arrays["logits"], probabilities=arrays["probabilities"], target=arrays["target"],
            activations=group("activations"), node_scores=group("node_scores"),
            edge_scores={tuple(k.split("->", 1)): v for k, v in group("edge_scores").items()},
            input_scores=arrays["input_scores"], delta=arrays["delta"],
            output_change=arrays["output_change"],
            interventions=tuple(str(s) for s in arrays["interventions"]),
            predicted_effect=arrays.get("predicted_effect"), actual_effect=arrays.get("actual_effect"),
        )

    def equals(self, other: Snapshot) -> bool:
        """True when every array of both snapshots is bit-identical."""
        def same(a: object, b: object) -> bool:
            if isinstance(a, dict):
                return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
            if isinstance(a, np.ndarray):
                return isinstance(b, np.ndarray) and np.array_equal(a, b)
            return a == b
        names = ("logits", "probabilities", "target", "activations", "node_scores", "edge_scores",
                 "input_scores", "delta", "interventions")
        return all(same(getattr(self, n), getattr(other, n)) for n in names)


@dataclass(frozen=True)
class NeuronView:
    """Drill-down into one unit.

    Attributes:
        layer, unit: the unit.
        input_scores: NeuronConductance of the inputs for that unit, shaped like the inputs.
        top_inputs: (batch, k) input feature indices with the largest |score|, per example.
        top_examples: indices into the reference set of the k most activating examples.
        top_activations: their activations.
    """

    layer: str
    unit: int
    input_scores: np.ndarray
    top_inputs: np.ndarray
    top_examples: np.ndarray
    top_activations: np.ndarray
