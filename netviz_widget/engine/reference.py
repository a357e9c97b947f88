"""Dataset-level scores over a reference set, in bounded-memory chunks with a progress bar."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine.attribution import path_scores
from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.engine.interventions import Intervention, intervened
from netviz_widget.engine.kinds import per_unit
from netviz_widget.engine.snapshot import DatasetScores, predicted_classes


def dataset_scores(graph: LayeredGraph, reference: torch.Tensor, n_steps: int,
                   interventions: Sequence[Intervention], n_classes: int, chunk_size: int = 256,
                   progress: bool | None = None) -> DatasetScores:
    """Per predicted class: mean and mean-|·| conductance and mean activation of every unit
    (toward the predicted class's output; a one-output model's examples are grouped into
    predicted 0 and 1, both scored toward its one output).

    The reference is processed `chunk_size` inputs at a time (the path multiplies a chunk by
    n_steps + 1), so memory stays bounded whatever its size. `progress=None` shows a bar for
    more than 4 chunks.
    """
    from tqdm.auto import tqdm

    n_chunks = (reference.shape[0] + chunk_size - 1) // chunk_size
    show = n_chunks > 4 if progress is None else progress
    sums: dict[str, np.ndarray] = {}
    abs_sums: dict[str, np.ndarray] = {}
    act_sums: dict[str, np.ndarray] = {}
    n_groups = 2 if n_classes == 1 else n_classes  # one output: predicted "not" (0) or its class (1)
    counts = np.zeros(n_groups, dtype=np.int64)
    taps = {layer.name: layer.tap for layer in graph.layers}
    with evaluation_mode(graph.model):
        for start in tqdm(range(0, reference.shape[0], chunk_size), total=n_chunks,
                          disable=not show, desc="reference", unit="chunk"):
            chunk = reference[start:start + chunk_size]
            with torch.no_grad(), intervened(graph, interventions, capture=set(taps.values())) as store:
                logits = graph.runner.run(chunk)
            explained = logits.argmax(1)  # the predicted class's output (one output: that one)
            scores = path_scores(graph, chunk, torch.zeros_like(chunk), explained, n_steps,
                                 interventions, edges=False)
            one_hot = np.eye(n_groups, dtype=np.float64)[predicted_classes(logits, logits=True)]
            counts += one_hot.sum(0).astype(np.int64)
            for name, values in scores.node_scores.items():
                layer = graph.layer(name)
                acts = layer.own(per_unit(store[taps[name]], layer.unit_axis, "mean").cpu().numpy())
                _accumulate(sums, name, one_hot.T @ values)
                _accumulate(abs_sums, name, one_hot.T @ np.abs(values))
                _accumulate(act_sums, name, one_hot.T @ acts)
    present = np.nonzero(counts)[0]
    denominator = counts[present][:, None]

    def mean(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: (v[present] / denominator).astype(np.float32) for k, v in table.items()}

    return DatasetScores(present, counts[present], mean(sums), mean(abs_sums), mean(act_sums))


def _accumulate(table: dict[str, np.ndarray], key: str, value: np.ndarray) -> None:
    table[key] = table[key] + value if key in table else value.astype(np.float64)
