"""Inputs that are not one float tensor: token ids (embedded, `_tokens.py`) and several tensors
(packed along axis 1, `_several.py`). A mixin of `Explainer` (explainer.py), which holds the
front (`_front`), the token ids and the specs these methods read."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from netviz_widget.engine import _checks, _several
from netviz_widget.engine.graph.layered import LayeredGraph


class InputFronts:
    """The Explainer's input front: split packed inputs, embed token ids (mixed into `Explainer`)."""

    def split_inputs(self, values: np.ndarray | torch.Tensor) -> tuple:
        """The per-input parts of an input-shaped array (e.g. ``snapshot().input_scores``) for a
        model given several inputs as a tuple (they are packed along axis 1); a 1-tuple of
        `values` otherwise."""
        if isinstance(self._front, _several.PackedInputs):
            return self._front.split(values)
        return (values,)

    def graph_of(self, model: nn.Module) -> LayeredGraph:
        """The layered graph `model` has on these inputs (several inputs packed as here)."""
        if isinstance(self._front, _several.PackedInputs):
            model = _several.PackedInputs(model, tuple(self._front.split(self.inputs[:1]))).rest
        return LayeredGraph.from_module(model, self.inputs[:1])

    def _given_inputs(self) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The inputs as the model takes them: a tuple again for several inputs."""
        if isinstance(self._front, _several.PackedInputs):
            return tuple(self._front.split(self.inputs))
        return self.inputs

    def _graph_model(self, model: nn.Module) -> nn.Module:
        """What the graph is built from: the model, or for token ids the model from its
        embedding's output on (see `_tokens`)."""
        return model if self._front is None else self._front.rest

    def _embed_tokens(self) -> None:
        """Embed the token ids (and an id reference and baseline) with the current weights."""
        was_inputs = self.reference is self.inputs
        self.inputs = self._front.embed("inputs", self.tokens)
        self.reference = self.inputs if was_inputs else self._front.embed_if_ids(
            "reference", self._token_reference)
        self.baseline = _checks.baseline(self._baseline_spec, self.inputs, self.reference)
