"""Snapshot: the engine's state at one moment, as read-only numpy arrays, and the bounded cache
of snapshots an Explainer keeps."""

from __future__ import annotations

import json
import os
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field, fields

import numpy as np

from netviz_widget.errors import InputError

__all__ = ["DatasetScores", "NeuronView", "Snapshot", "SnapshotCache", "predicted_classes"]

# Snapshot.load refuses files whose arrays would take more than this once decompressed.
MAX_LOAD_BYTES = 2 * 2 ** 30


def _arrays(value: object) -> list[np.ndarray]:
    """Every numpy array inside `value` (nested dicts, tuples, dataclasses)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [a for f in fields(value) for a in _arrays(getattr(value, f.name))]
    return []


def _read_only(obj: object) -> None:
    """Make every array of a result read-only: editing one must not corrupt the cache, later
    snapshots, circuits or the view (copy it with `np.array(a)` to edit)."""
    for array in _arrays(obj):
        array.flags.writeable = False


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

    def __post_init__(self) -> None:
        _read_only(self)


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

    def __post_init__(self) -> None:
        _read_only(self)

    @property
    def nbytes(self) -> int:
        """Memory held by the snapshot's arrays."""
        return sum(array.nbytes for array in _arrays(self))

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
        """(batch,) predicted class: the most probable output; for a one-output (binary) model
        1 where its sigmoid probability is above 0.5 (the output's class) and 0 otherwise."""
        return predicted_classes(self.probabilities)

    @property
    def relative_delta(self) -> np.ndarray:
        """(batch,) |delta| / |F(x) − F(baseline)| — above 0.05 means: use more steps."""
        return np.abs(self.delta) / np.maximum(np.abs(self.output_change), 1e-12)

    def save(self, path: str | os.PathLike) -> None:
        """Save the arrays, compressed, to exactly `path` so a run can be shared (see `load`)."""
        arrays: dict[str, np.ndarray] = {
            "logits": self.logits, "probabilities": self.probabilities, "target": self.target,
            "input_scores": self.input_scores, "delta": self.delta, "output_change": self.output_change,
            "interventions": np.array(self.interventions, dtype=str),
            "edge_names": np.array([json.dumps(list(key)) for key in self.edge_scores], dtype=str),
        }
        for group in ("activations", "node_scores"):
            values = getattr(self, group)
            arrays[f"{group}_names"] = np.array([json.dumps(name) for name in values], dtype=str)
            for i, array in enumerate(values.values()):
                arrays[f"{group}/{i}"] = array
        for i, values in enumerate(self.edge_scores.values()):
            arrays[f"edge_scores/{i}"] = values
        for name in ("predicted_effect", "actual_effect"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        with open(path, "wb") as handle:  # np.savez would append ".npz" to a bare name
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, max_bytes: int = MAX_LOAD_BYTES) -> Snapshot:
        """Load a Snapshot written by `save` (dataset-level scores are not saved). Sizes are
        checked before anything is decompressed: a file whose arrays would exceed `max_bytes`
        is refused."""
        path = os.fspath(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"  # written by an older `save`, which appended the suffix
        try:
            with zipfile.ZipFile(path) as archive:
                total = sum(info.file_size for info in archive.infolist())
        except (OSError, zipfile.BadZipFile) as error:
            raise InputError("path", "a Snapshot file written by Snapshot.save", path,
                             hint=f"{type(error).__name__}: {error}") from error
        if total > max_bytes:
            raise InputError("path", f"a Snapshot file of at most {max_bytes} bytes decompressed "
                             "(max_bytes)", f"{path!r} declaring {total} bytes")
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        try:
            return cls._from_arrays(arrays)
        except (KeyError, ValueError, TypeError) as error:
            raise InputError("path", "a Snapshot file written by Snapshot.save", path,
                             hint=f"It is damaged or of another kind ({type(error).__name__}: "
                             f"{error}).") from error

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray]) -> Snapshot:
        edges = [tuple(json.loads(str(n))) for n in arrays["edge_names"]]
        logits = arrays["logits"]
        batch = logits.shape[0]
        if logits.ndim != 2 or arrays["probabilities"].shape != logits.shape:
            raise ValueError(f"logits of shape {logits.shape}, probabilities {arrays['probabilities'].shape}")
        for key in ("target", "delta", "output_change"):
            if arrays[key].shape != (batch,):
                raise ValueError(f"{key} of shape {arrays[key].shape} for a batch of {batch}")
        activations, node_scores = (
            {json.loads(str(name)): arrays[f"{group}/{i}"] for i, name in enumerate(arrays[f"{group}_names"])}
            for group in ("activations", "node_scores"))
        for name, array in [*activations.items(), *node_scores.items()]:
            if array.ndim != 2 or array.shape[0] != batch:
                raise ValueError(f"layer {name!r}: shape {array.shape}, not (batch {batch}, units)")
        return cls(
            logits=logits, probabilities=arrays["probabilities"], target=arrays["target"],
            activations=activations, node_scores=node_scores,
            edge_scores={key: arrays[f"edge_scores/{i}"] for i, key in enumerate(edges)},
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


class SnapshotCache:
    """Snapshots by key, least recently used first out, bounded by the bytes they hold and by
    their number (the most recent one is always kept, whatever its size)."""

    def __init__(self, max_bytes: int, max_items: int = 64) -> None:
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.nbytes = 0
        self._items: OrderedDict[tuple, Snapshot] = OrderedDict()

    def get(self, key: tuple) -> Snapshot | None:
        """The snapshot under `key` (now the most recent), or None."""
        snap = self._items.get(key)
        if snap is not None:
            self._items.move_to_end(key)
        return snap

    def put(self, key: tuple, snap: Snapshot) -> None:
        """Store `snap` under `key` and evict the oldest until the bound holds."""
        old = self._items.pop(key, None)
        self.nbytes -= 0 if old is None else old.nbytes
        self._items[key] = snap
        self.nbytes += snap.nbytes
        while (self.nbytes > self.max_bytes or len(self._items) > self.max_items) and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self.nbytes -= evicted.nbytes

    def clear(self) -> None:
        """Forget every snapshot."""
        self._items.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)


def predicted_classes(outputs: object, *, logits: bool = False) -> np.ndarray:
    """(batch,) predicted class from (batch, outputs) scores, numpy or torch: the argmax over
    the outputs; for one output (binary) 1 where the probability is above 0.5 (the output's
    class) and 0 where not. `outputs` are probabilities, or with `logits=True` the logits (or
    log-probabilities) before them: a one-output logit then predicts 1 where it is above 0.
    Every "predicted class" of the package comes from here."""
    if hasattr(outputs, "detach"):
        outputs = outputs.detach().cpu().numpy()
    outputs = np.asarray(outputs)
    if outputs.ndim != 2:
        raise InputError("outputs", "a (batch, outputs) array", outputs)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > (0.0 if logits else 0.5)).astype(np.int64)
    return outputs.argmax(axis=1)


def prediction_text(probabilities: np.ndarray, labels: list[str]) -> str:
    """"predicted <label> (p = 0.990)" for one example's probabilities; for one output
    "predicted <label>" or "predicted not <label>" with the probability of that statement."""
    probabilities = np.asarray(probabilities)
    if probabilities.shape[0] == 1:
        p = float(probabilities[0])
        if p > 0.5:
            return f"predicted {labels[0]} (p = {p:.3f})"
        return f"predicted not {labels[0]} (p = {1 - p:.3f})"
    best = int(probabilities.argmax())
    return f"predicted {labels[best]} (p = {float(probabilities[best]):.3f})"


def tidy_frame(snap: Snapshot, layers: list[tuple[str, int]]) -> object:
    """Node scores of `snap` as a tidy table (one row per example, layer and unit; `layers`: each
    layer's name and unit count): a pandas DataFrame when pandas is installed, else a list of dicts."""
    records = [
        {"example": b, "layer": name, "unit": u,
         "activation": float(snap.activations[name][b, u]),
         "score": float(snap.node_scores[name][b, u]), "target": int(snap.target[b])}
        for name, n_units in layers
        for b in range(snap.target.shape[0])
        for u in range(n_units)
    ]
    try:
        import pandas as pd
    except ImportError:
        return records
    return pd.DataFrame.from_records(records)
