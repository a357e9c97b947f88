"""The Explainer follows its model: at the start of every public call it checks whether the
model's weights, buffers or submodules changed and, if so, refreshes what depends on them. A mixin
of `Explainer` (explainer.py), which holds the state it updates."""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace

import numpy as np

from netviz_widget.engine import _attention_edges as attention_edges
from netviz_widget.engine import _several, _tokens
from netviz_widget.engine._history import Entry, History, signature
from netviz_widget.engine._model_state import model_state
from netviz_widget.engine.graph._weights import block_weight
from netviz_widget.engine.graph.layered import LayeredGraph
from netviz_widget.errors import ModelError


def current_weight(graph: LayeredGraph, block, model) -> np.ndarray:
    """The unit weight matrix of `block` as `model` holds it now: attention heads and patterns
    from their attention module, LSTM / GRU / RNN and other module blocks from the module's
    weights, identity blocks as they are."""
    if block.kind in attention_edges.KINDS:
        return attention_edges.current_weight(graph, block)
    if block.module is None:
        return block.weight
    return block_weight(model, block)


def _current(graph: LayeredGraph, block, model):
    """`block` with the weights the model holds now (identity blocks as they are)."""
    if block.module is None and block.kind not in attention_edges.KINDS:
        return block
    return replace(block, weight=current_weight(graph, block, model))


class ModelWatch:
    """Detects model changes and refreshes the graph, caches and history (mixed into `Explainer`)."""

    def _sync_with_model(self) -> None:
        """Called at the start of every public call: when the model's parameters, buffers or
        submodules changed since the last call, refresh the edge weights (and re-trace the graph
        when a submodule was replaced), forget every cached result, and re-resolve and
        re-measure the interventions with the new weights. A changed layer structure raises."""
        state = model_state(self.model)
        if state == self._seen:
            return
        if state[0] != self._seen[0] and isinstance(self._front, _several.PackedInputs):
            self._front = _several.PackedInputs(self.model, self._front.split(self.inputs[:1]))
        if self.tokens is not None:  # the embedding's weights may have changed
            if state[0] != self._seen[0]:
                self._front = _tokens.TokenFront(self.model)
            self._embed_tokens()
        if state[0] == self._seen[0]:  # same modules: the private copy already sees the new
            # weights; only the edge weights are copies. (No re-trace: torch.fx patches
            # nn.Module.__call__ for every thread while it traces.)
            graph = copy.copy(self.graph)
            graph.blocks = [_current(graph, block, self.model) for block in self.graph.blocks]
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fallback warning was given at construction
                graph = LayeredGraph.from_module(self._graph_model(self.model), self.inputs[:1])
        if signature(graph) != signature(self.graph):
            raise ModelError("model", "the layers it had when this Explainer was made "
                             f"({self.graph!r})", f"{graph!r}",
                             hint="Its structure changed (a submodule was replaced): make a new "
                             "Explainer (or NetViz) for it.")
        old_graph, old_history = self.graph, self._history
        self.graph = graph
        self._cache.clear()
        self._clean_probabilities = None
        try:
            self._clean_prediction = self._logits([]).argmax(1)
            stack: tuple[Entry, ...] = ()
            for entry in old_history.stack:
                stack = (*stack, replace(self._measure(entry.request, stack), step=entry.group))
            redo: tuple[Entry, ...] = ()
            for entry in reversed(old_history.redo):  # redo[-1] applies first, on top of the stack
                redo = (replace(self._measure(entry.request, (*stack, *reversed(redo))), step=entry.group),
                        *redo)
        except BaseException:
            self.graph = old_graph  # try again at the next call
            raise
        self._history = History(stack, redo)
        self._seen = state
        self.model_version += 1
