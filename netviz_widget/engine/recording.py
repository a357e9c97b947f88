"""Recording: snapshots of one model taken during training, in a compact on-disk format.

A `Recorder` (recorder.py) fills one; `Recording.save` / `Recording.load` write and read it as a
single ``.npz`` file (``np.savez_compressed``, no pickle). Format version 1, R records of a
batch of B inputs, K stored edges per record, S points on the curves:

==========================  ===================  ================================================
key                         shape, dtype         what
==========================  ===================  ================================================
``format``                  (), int64            1
``meta``                    (), str              JSON: layers (name, kind, role, n_units, shape),
                                                 blocks (src, dst, kind, shape), every, n_steps,
                                                 max_edges, n_edges (all edges of the graph)
``inputs``                  (B, ...) float32     the recorded inputs
``steps``                   (R,) int64           training step of each record
``target``                  (R, B) int64         output index the scores explain
``logits``                  (R, B, classes) f32  outputs
``node_scores/<layer>``     (R, B, units) f32    layer conductance (input layer: IG per unit)
``activations/<layer>``     (R, B, units) f32    activations (channel means for conv)
``input_scores``            (R, B, ...) f32      integrated gradients, shaped like the inputs
``delta``                   (R, B) f32           completeness gap
``output_change``           (R, B) f32           F(x) − F(baseline) for the target
``edge_index``              (R, K) int32         stored edges, as indices into the graph's edge
                                                 list: blocks in order, each block's (dst, src)
                                                 pairs row-major (identity blocks: the diagonal)
``edge_scores``             (R, B, K) f32        their edge conductance
``edge_weights``            (R, K) f32           their unit→unit weights
``curve_steps``             (S,) int64           steps of the loss / metric curves
``loss``                    (S,) f64             loss (NaN where none was given)
``metrics/<name>``          (S,) f64             each metric (NaN where none was given)
==========================  ===================  ================================================

Bounded: K ≤ max_edges (the edges with the largest mean |score| of each record), R ≤
max_records and S ≤ max_points (the Recorder keeps every second entry and halves its rate when
full), so a file holds at most about ``4 · R · (B · (2·units + K + inputs + classes + 3) + 2·K)``
bytes before compression, plus ``16 · S · (1 + metrics)`` for the curves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netviz_widget.engine.graph.units import EdgeBlock, LayerIndex, UnitLayer
from netviz_widget.engine.snapshot import Snapshot, short_list
from netviz_widget.errors import InputError

__all__ = ["FORMAT_VERSION", "RecordedGraph", "Recording"]

FORMAT_VERSION = 1


class RecordedGraph(LayerIndex):
    """The layered graph as a recording describes it: layers and blocks without a model (block
    weights: the last record's stored edges, 0 elsewhere). Enough to lay out and draw a view."""

    lookup_error = InputError


def edge_pairs(blocks: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per block (as described in `meta`), the (dst, src) unit pairs that are edges, in the
    order of the flat edge list."""
    pairs = []
    for block in blocks:
        n_dst, n_src = block["shape"]
        if block["kind"] == "identity":
            index = np.arange(n_dst)
            pairs.append((index, index))
        else:
            dst, src = np.divmod(np.arange(n_dst * n_src), n_src)
            pairs.append((dst, src))
    return pairs


@dataclass(frozen=True)
class Recording:
    """Snapshots of a model over training (see the module docstring for the arrays)."""

    meta: dict
    inputs: np.ndarray
    steps: np.ndarray
    target: np.ndarray
    logits: np.ndarray
    node_scores: dict[str, np.ndarray]
    activations: dict[str, np.ndarray]
    input_scores: np.ndarray = field(repr=False)
    delta: np.ndarray = field(repr=False)
    output_change: np.ndarray = field(repr=False)
    edge_index: np.ndarray = field(repr=False)
    edge_scores: np.ndarray = field(repr=False)
    edge_weights: np.ndarray = field(repr=False)
    curve_steps: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    metrics: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        """One line (the default repr printed the metadata and every array)."""
        curves = short_list(["loss", *self.metrics], 6)
        return (f"Recording({len(self)} records at steps {short_list(self.steps, 6)}, "
                f"{self.inputs.shape[0]} probe inputs, layers={short_list(self.layer_names, 6)}, "
                f"curves={curves} over {len(self.curve_steps)} steps)")

    @property
    def layer_names(self) -> list[str]:
        """Unit layer names in depth order."""
        return [layer["name"] for layer in self.meta["layers"]]

    def check_index(self, index: object) -> int:
        """`index` as a record index in [0, len) (negative ones count from the end, as in a
        list: -1 is the last record), else an InputError."""
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -n <= index < n:
            raise InputError("index", f"a record index in [0, {n}) (or -{n} … -1 from the end)", index)
        return int(index) % n

    def graph(self) -> RecordedGraph:
        """The recorded layered graph (weights of the last record's stored edges)."""
        layers = [UnitLayer(d["name"], d["kind"], d["role"], int(d["n_units"]), tuple(d["shape"]), "")
                  for d in self.meta["layers"]]
        dense = self._dense_edges(self.edge_weights[-1]) if len(self) else None
        blocks = [EdgeBlock(d["src"], d["dst"], d["kind"],
                            np.zeros(d["shape"], np.float32) if dense is None else dense[i],
                            None, "", "") for i, d in enumerate(self.meta["blocks"])]
        return RecordedGraph(layers, blocks)

    def _dense_edges(self, values: np.ndarray, index: int = -1) -> list[np.ndarray]:
        """Scatter stored per-edge `values` (..., K) of record `index` into per-block
        (..., dst, src) arrays (0 for edges that were not stored)."""
        lead = values.shape[:-1]
        flat = np.zeros((*lead, int(self.meta["n_edges"])), dtype=np.float32)
        flat[..., self.edge_index[index]] = values
        out, start = [], 0
        for block, (dst, src) in zip(self.meta["blocks"], edge_pairs(self.meta["blocks"])):
            dense = np.zeros((*lead, *block["shape"]), dtype=np.float32)
            dense[..., dst, src] = flat[..., start:start + len(dst)]
            out.append(dense)
            start += len(dst)
        return out

    def snapshot(self, index: int) -> Snapshot:
        """Record `index` as a Snapshot (edges that were not stored have score 0); its arrays
        are the recorded ones, bit for bit."""
        i = self.check_index(index)
        logits = self.logits[i]
        shifted = np.exp(logits - logits.max(1, keepdims=True))
        edges = self._dense_edges(self.edge_scores[i], i)
        keys = [(d["src"], d["dst"]) for d in self.meta["blocks"]]
        return Snapshot(
            logits=logits, probabilities=(shifted / shifted.sum(1, keepdims=True)).astype(np.float32),
            target=self.target[i], activations={k: v[i] for k, v in self.activations.items()},
            node_scores={k: v[i] for k, v in self.node_scores.items()},
            edge_scores=dict(zip(keys, edges)), input_scores=self.input_scores[i], delta=self.delta[i],
            output_change=self.output_change[i],
        )

    def unit_series(self, layer: str, unit: int, example: int | None = None,
                    what: str = "score") -> np.ndarray:
        """(R,) a unit's score (or activation) at every record: on `example`, or the mean over
        the batch when None."""
        source = self.node_scores if what == "score" else self.activations
        if what not in ("score", "activation"):
            raise InputError("what", "'score' or 'activation'", what)
        if layer not in source:
            raise InputError("layer", f"one of {self.layer_names}", layer)
        n_units = source[layer].shape[2]
        if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < n_units:
            raise InputError("unit", f"a unit index in [0, {n_units}) of {layer!r}", unit)
        values = source[layer][:, :, unit]
        return values.mean(1) if example is None else values[:, example]

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the recording as one compressed .npz file (format in the module docstring)."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT_VERSION), "meta": np.array(json.dumps(self.meta)),
            "inputs": self.inputs, "steps": self.steps, "target": self.target, "logits": self.logits,
            "input_scores": self.input_scores, "delta": self.delta,
            "output_change": self.output_change, "edge_index": self.edge_index,
            "edge_scores": self.edge_scores, "edge_weights": self.edge_weights,
            "curve_steps": self.curve_steps, "loss": self.loss,
        }
        for prefix, group in (("node_scores", self.node_scores), ("activations", self.activations),
                              ("metrics", self.metrics)):
            arrays.update({f"{prefix}/{name}": values for name, values in group.items()})
        np.savez_compressed(path, **arrays)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording written by `save` (or by a Recorder)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise InputError("path", "a recording .npz file written by Recording.save", str(path),
                             hint=str(error)) from None
        version = int(arrays.get("format", -1))
        if version != FORMAT_VERSION:
            raise InputError("path", f"a recording of format version {FORMAT_VERSION}", version)

        def group(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}

        return cls(
            meta=json.loads(str(arrays["meta"])), inputs=arrays["inputs"], steps=arrays["steps"],
            target=arrays["target"], logits=arrays["logits"], node_scores=group("node_scores"),
            activations=group("activations"), input_scores=arrays["input_scores"], delta=arrays["delta"],
            output_change=arrays["output_change"], edge_index=arrays["edge_index"],
            edge_scores=arrays["edge_scores"],
            edge_weights=arrays["edge_weights"], curve_steps=arrays["curve_steps"], loss=arrays["loss"],
            metrics=group("metrics"),
        )
