"""Compare two models on the same inputs: the difference of their Snapshots.

`SnapshotDiff` holds both snapshots and, per unit and per edge, the change B − A of score and
activation (and of the unit→unit weights), with the units whose score changed most and the
prediction of each model. Two models compare only when they have the same layered graph (the
same unit layers, unit counts and edge blocks); `check_same_graph` refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.snapshot import Snapshot, short_list
from netviz_widget.errors import GraphError, InputError

if TYPE_CHECKING:
    from netviz_widget.engine.explainer import Explainer

INPUT_LAYER = "input"  # the graph's name for its input unit layer

__all__ = ["SnapshotDiff", "UnitChange", "check_same_graph", "compare_explainers",
           "current_weights", "diff_snapshots", "graph_signature"]


def graph_signature(graph: LayeredGraph) -> tuple:
    """What two graphs must share to be compared: layers (name, kind, units) and blocks
    (src, dst, kind, shape), in order."""
    layers = tuple((la.name, la.kind, la.n_units) for la in graph.layers)
    blocks = tuple((b.src, b.dst, b.kind, b.shape) for b in graph.blocks)
    return layers, blocks


def _describe(graph: LayeredGraph) -> str:
    return " → ".join(f"{la.name}[{la.n_units}]" for la in graph.layers)


def check_same_graph(a: LayeredGraph, b: LayeredGraph, argument: str = "other") -> None:
    """Raise a GraphError naming the first difference unless `a` and `b` have the same
    layered graph."""
    (layers_a, blocks_a), (layers_b, blocks_b) = graph_signature(a), graph_signature(b)
    if layers_a == layers_b and blocks_a == blocks_b:
        return
    if layers_a != layers_b:
        first = next((i for i, (x, y) in enumerate(zip(layers_a, layers_b)) if x != y),
                     min(len(layers_a), len(layers_b)))
        where = (f"unit layer {first}: {layers_a[first] if first < len(layers_a) else 'none'} vs "
                 f"{layers_b[first] if first < len(layers_b) else 'none'}")
    else:
        first = next(i for i, (x, y) in enumerate(zip(blocks_a, blocks_b)) if x != y)
        where = f"edge block {first}: {blocks_a[first]} vs {blocks_b[first]}"
    raise GraphError(argument, f"a model with the same layered graph ({_describe(a)})", _describe(b),
                     hint=f"They differ at {where}. Compare models of the same architecture.")


@dataclass(frozen=True)
class UnitChange:
    """One unit's change between model A and model B (scores: mean over the batch, or the
    chosen example; `magnitude`: the |change| it was ranked by, mean |change| over the batch)."""

    layer: str
    unit: int
    score_a: float
    score_b: float
    activation_a: float
    activation_b: float
    magnitude: float = 0.0

    @property
    def change(self) -> float:
        """score_b − score_a."""
        return self.score_b - self.score_a


@dataclass(frozen=True)
class SnapshotDiff:
    """B − A for two snapshots of models with the same layered graph on the same inputs.

    Attributes:
        a, b: the two snapshots.
        node_scores, activations: layer → (batch, units) change B − A.
        edge_scores: (src, dst) → (batch, dst units, src units) change of edge conductance.
        weights: (src, dst) → (dst units, src units) change of the unit→unit weights (empty when
            built from snapshots alone).
        input_scores: change of the input attributions, shaped like the inputs.
        logits, probabilities: (batch, classes) change of the outputs.
    """

    a: Snapshot = field(repr=False)
    b: Snapshot = field(repr=False)
    node_scores: dict[str, np.ndarray]
    activations: dict[str, np.ndarray]
    edge_scores: dict[tuple[str, str], np.ndarray] = field(repr=False)
    weights: dict[tuple[str, str], np.ndarray] = field(repr=False)
    input_scores: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)
    probabilities: np.ndarray = field(repr=False)

    def __repr__(self) -> str:
        """One line: the predictions and the largest unit-score change."""
        changes = [float(np.abs(v).max()) for v in self.node_scores.values() if v.size]
        return (f"SnapshotDiff(batch={len(self.prediction_a)}, prediction_a={short_list(self.prediction_a)}, "
                f"prediction_b={short_list(self.prediction_b)}, "
                f"largest unit-score change={max(changes, default=0.0):.4g}; "
                f".summary() lists the most changed units)")

    @property
    def prediction_a(self) -> np.ndarray:
        """(batch,) class predicted by model A."""
        return self.a.prediction

    @property
    def prediction_b(self) -> np.ndarray:
        """(batch,) class predicted by model B."""
        return self.b.prediction

    @property
    def predictions_differ(self) -> np.ndarray:
        """(batch,) True where the two models predict different classes."""
        return self.prediction_a != self.prediction_b

    def max_abs(self) -> float:
        """The largest |change| of any unit score, activation or edge score (0.0 for a model
        compared with itself)."""
        groups = (*self.node_scores.values(), *self.activations.values(), *self.edge_scores.values())
        return max((float(np.abs(v).max()) for v in groups if v.size), default=0.0)

    def top_units(self, k: int = 10, example: int | None = None,
                  by: str = "score") -> list[UnitChange]:
        """The `k` units whose score (or activation, `by="activation"`) changed most in
        magnitude: on `example`, or in mean |change| over the batch when None. Input pixels
        are not units here; hidden and output layers are."""
        if by not in ("score", "activation"):
            raise GraphError("by", "'score' or 'activation'", by)
        source = self.node_scores if by == "score" else self.activations
        batch = self.a.logits.shape[0]
        if example is not None and not (isinstance(example, (int, np.integer))
                                        and not isinstance(example, bool) and 0 <= example < batch):
            raise GraphError("example", f"an input index in [0, {batch})", example)
        rows = []
        for layer, change in source.items():
            if layer == INPUT_LAYER:
                continue  # pixels: their change is `input_scores`
            magnitude = np.abs(change).mean(0) if example is None else np.abs(change[example])
            rows += [(float(magnitude[u]), layer, u) for u in range(change.shape[1])]
        rows.sort(key=lambda row: -row[0])

        def pick(values: np.ndarray, u: int) -> float:
            return float(values[:, u].mean() if example is None else values[example, u])
        return [UnitChange(layer, u, pick(self.a.node_scores[layer], u), pick(self.b.node_scores[layer], u),
                           pick(self.a.activations[layer], u), pick(self.b.activations[layer], u), size)
                for size, layer, u in rows[:max(int(k), 0)]]

    def summary(self) -> str:
        """A few plain-text lines: predictions that differ and the most changed units."""
        differ = int(self.predictions_differ.sum())
        lines = [f"predictions differ on {differ} of {len(self.predictions_differ)} inputs",
                 "most changed units: mean |change| of the score over the batch (mean score A → B)"]
        lines += [f"  {c.layer}[{c.unit}]: {c.magnitude:.4f} ({c.score_a:+.4f} → {c.score_b:+.4f})"
                  for c in self.top_units(5)]
        return "\n".join(lines)


def diff_snapshots(a: Snapshot, b: Snapshot,
                   weights: dict[tuple[str, str], np.ndarray] | None = None) -> SnapshotDiff:
    """B − A of every array of two snapshots taken on the same inputs (same layers and shapes);
    `weights` is the optional change of the unit→unit weights."""
    if a.node_scores.keys() != b.node_scores.keys() or a.edge_scores.keys() != b.edge_scores.keys():
        raise GraphError("b", f"a snapshot with layers {list(a.node_scores)}", list(b.node_scores))
    if a.logits.shape != b.logits.shape or a.input_scores.shape != b.input_scores.shape:
        raise GraphError("b", f"a snapshot of the same inputs (logits {a.logits.shape})", b.logits.shape)

    def minus(x: dict, y: dict) -> dict:
        for key in x:
            if x[key].shape != y[key].shape:
                raise GraphError("b", f"{key} of shape {x[key].shape}", y[key].shape)
        return {key: y[key] - x[key] for key in x}

    return SnapshotDiff(
        a=a, b=b, node_scores=minus(a.node_scores, b.node_scores),
        activations=minus(a.activations, b.activations), edge_scores=minus(a.edge_scores, b.edge_scores),
        weights=dict(weights or {}), input_scores=b.input_scores - a.input_scores,
        logits=b.logits - a.logits, probabilities=b.probabilities - a.probabilities,
    )


def current_weights(graph: LayeredGraph) -> dict[tuple[str, str], np.ndarray]:
    """The unit→unit weights of every block as the model holds them now (identity blocks: 1)."""
    from netviz_widget.engine._model_watch import current_weight

    return {(block.src, block.dst): current_weight(graph, block, graph.model) for block in graph.blocks}


def compare_explainers(a: Explainer, other: object) -> SnapshotDiff:
    """B − A between explainer `a` and `other`: an Explainer on the same inputs and targets, or
    a model with the same layered graph (scored on `a`'s inputs, targets, baseline, n_steps and
    reference, without interventions). See `Explainer.compare`."""
    if isinstance(other, nn.Module):
        if other is a.model:
            b = a
        else:
            check_same_graph(a.graph, a.graph_of(other))
            b = a.sibling(other)
    elif _is_explainer(other):
        b = other
        check_same_graph(a.graph, b.graph)
        if b.inputs.shape != a.inputs.shape or not bool((b.inputs == a.inputs).all()):
            raise InputError("other", "an Explainer on the same inputs", b.inputs,
                             hint="Pass the model instead: it is then scored on these inputs.")
        if not bool((b.target == a.target).all()):
            raise InputError("other", f"an Explainer explaining the same targets {a.target.tolist()}",
                             b.target.tolist(), hint="Set other.target, or pass the model instead.")
    else:
        raise InputError("other", "an Explainer or a torch.nn.Module", other)
    weights_a, weights_b = current_weights(a.graph), current_weights(b.graph)
    return diff_snapshots(a.snapshot(), b.snapshot(),
                          {key: weights_b[key] - weights_a[key] for key in weights_a})


def _is_explainer(other: object) -> bool:
    """Whether `other` is an Explainer (by its engine interface: this module does not import
    explainer.py, which imports it)."""
    return all(hasattr(other, name) for name in ("graph", "inputs", "target", "snapshot", "sibling"))
