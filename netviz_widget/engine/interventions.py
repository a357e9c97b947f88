"""Interventions on units, and the one context manager that applies them.

An `Intervention` replaces the activations of some units of one layer as its mode says (the
modes are registry entries in `modes.py`: zero, mean, resample, clamp, scale, patch, and any
registered later):

- ``zero``: 0;  ``clamp``: a constant ``value``;  ``scale``: ``value`` × the activation;
- ``mean``: the unit's mean activation over a reference set;
- ``resample``: the activation of a random reference input (one draw per example, seeded);
- ``patch``: the activation that a second input produces.

`intervened(graph, interventions)` applies them to every forward pass through the graph's
probed runner inside the ``with`` block (also along an attribution path, where an ablated
unit then has zero conductance), and removes them in ``finally``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine.graph.layered import LayeredGraph, check_input
from netviz_widget.engine.kinds import units_first
from netviz_widget.engine.modes import Request, mode_names
from netviz_widget.engine.modes import mode as registered_mode
from netviz_widget.errors import InterventionError

__all__ = ["MODES", "Intervention", "intervened", "layer_activations", "make_intervention"]

MODES = tuple(mode_names())  # the built-in modes; `modes.mode_names()` includes registered ones


@dataclass(frozen=True)
class Intervention:
    """Replace units `units` of layer `layer` according to `mode` (see module docstring).

    `value` is the clamp value or scale factor. `source` holds resolved replacement
    activations: for ``mean`` the per-example mean of the layer (its activation shape), for
    ``resample`` and ``patch`` a batch of layer activations (tiled over an integration path).
    Build one with `make_intervention`, which validates and resolves everything.
    """

    layer: str
    units: tuple[int, ...]
    mode: str
    value: float | None = None
    source: torch.Tensor | None = field(default=None, repr=False, compare=False)
    axis: int = 1  # the unit axis of the layer's activations (its kind's; see kinds.py)
    offset: int = 0  # where the layer's units start at its tap (`UnitLayer.offset`)

    def apply(self, activation: torch.Tensor) -> torch.Tensor:
        """Return `activation` (the tensor at the layer's tap) with this intervention's units
        replaced (never in place)."""
        index = [unit + self.offset for unit in self.units]
        out = activation.clone()
        units, moved = units_first(out, self.axis), units_first(activation, self.axis)
        source = _units_first_source(self.source, self.axis, activation.dim())
        units[:, index] = registered_mode(self.mode).act(moved, index, self.value, source)
        return out

    def describe(self) -> str:
        """A short human-readable label, e.g. ``zero fc1[3, 7]``."""
        units = ", ".join(str(u) for u in self.units[:6]) + (", …" if len(self.units) > 6 else "")
        value = f" {self.value:g}" if self.value is not None else ""
        return f"{self.mode}{value} {self.layer}[{units}]"


def _units_first_source(source: torch.Tensor | None, axis: int, dim: int) -> torch.Tensor | None:
    """A mode's source with its units first: on axis 1 for a batch of activations (resample,
    patch), on axis 0 for one activation without a batch axis (mean)."""
    if source is None or axis in (1, 1 - dim):
        return source
    if source.dim() == dim:
        return units_first(source, axis)
    return source.movedim(axis - 1 if axis > 0 else axis, 0)


def layer_activations(graph: LayeredGraph, x: torch.Tensor, layers: Iterable[str] | None = None,
                      interventions: Sequence[Intervention] = (),
                      batch_size: int = 1024) -> dict[str, torch.Tensor]:
    """Activations of `layers` (default: all) at their taps for inputs `x`, in chunks."""
    names = [layer.name for layer in graph.layers] if layers is None else list(layers)
    taps = {name: graph.layer(name).tap for name in names}
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    with evaluation_mode(graph.model), torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            with intervened(graph, interventions, capture=set(taps.values())) as store:
                graph.forward(x[start:start + batch_size])
            for name, tap in taps.items():
                chunks[name].append(store[tap].detach())
    return {name: torch.cat(parts) for name, parts in chunks.items()}


_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _stamp(graph: LayeredGraph, reference: torch.Tensor) -> tuple:
    """What the reference means depend on: the reference tensor and every weight and buffer
    (in-place updates bump `_version`; swapped tensors change the data pointer)."""
    # read from each module's own dicts: far cheaper than parameters()/buffers() (which build
    # qualified names), and a causal check stamps once per ablated layer and draw
    state = [(t.data_ptr(), t._version) for module in graph.model.modules()
             for tensors in (module._parameters, module._buffers) for t in tensors.values() if t is not None]
    return (reference.data_ptr(), reference._version, tuple(reference.shape), tuple(state))


def reference_means(graph: LayeredGraph, reference: torch.Tensor,
                    batch_size: int = 1024) -> dict[str, torch.Tensor]:
    """Every layer's mean activation over `reference`, from one chunked pass over all layers;
    cached per graph until the reference or the model's weights change (mean ablations of many
    layers, as in a causal check, then cost one pass instead of one per layer and draw)."""
    stamp = _stamp(graph, reference)
    cached = _MEANS.get(graph)
    if cached is not None and cached[0] == stamp and cached[1]() is reference:
        return cached[2]
    taps = {layer.name: layer.tap for layer in graph.layers}
    sums: dict[str, torch.Tensor] = {}
    with evaluation_mode(graph.model), torch.no_grad():
        for start in range(0, reference.shape[0], batch_size):
            chunk = reference[start:start + batch_size]
            with intervened(graph, (), capture=set(taps.values())) as store:
                graph.forward(chunk)
            for name, tap in taps.items():
                if reference.shape[0] <= batch_size:  # one chunk: exactly activations.mean(0)
                    sums[name] = store[tap].detach().mean(dim=0)
                else:
                    part = store[tap].detach().sum(dim=0)
                    sums[name] = part if name not in sums else sums[name] + part
    means = sums if reference.shape[0] <= batch_size else {
        name: total / reference.shape[0] for name, total in sums.items()}
    _MEANS[graph] = (stamp, weakref.ref(reference), means)
    return means


def make_intervention(graph: LayeredGraph, layer: str, units: object, mode: str,
                      value: float | None = None, reference: torch.Tensor | None = None,
                      patch_input: torch.Tensor | None = None, batch_size: int | None = None,
                      seed: int = 0) -> Intervention:
    """Validate a request and resolve it into an `Intervention`.

    Args:
        graph: the layered graph of the model.
        layer, units: which units (unit indices of that layer).
        mode: a registered mode (`modes.mode_names()`).
        value: clamp value (``clamp``) or factor (``scale``); finite.
        reference: reference inputs for ``mean`` and ``resample``.
        patch_input: the second input for ``patch`` (one example or one per input).
        batch_size: number of inputs the intervention will see (``resample`` draws one
            reference example for each).
        seed: seed of the ``resample`` draw.
    """
    checked = graph.check_units(layer, units)
    entry = registered_mode(mode)
    if entry.parameter is not None:
        name = "value" if entry.parameter == "value" else f"{entry.parameter} (value)"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InterventionError(name, f"a finite number for mode {mode!r}", value)
        value = float(value)
    else:
        value = None
    if entry.needs == "patch_input":
        if patch_input is None:
            raise InterventionError("patch_input", f"a second input for mode {mode!r}", None)
        check_input("patch_input", patch_input, model=graph.model, shape=graph.example_shape)
    if entry.needs == "reference":
        if reference is None:
            raise InterventionError("reference", f"a reference set for mode {mode!r}", None)
        check_input("reference", reference, model=graph.model, shape=graph.example_shape)
    source = None
    if entry.resolve is not None:
        source = entry.resolve(Request(
            layer, value, reference, patch_input, batch_size or 1, seed,
            activations=lambda x: layer_activations(graph, x, [layer])[layer],
            means=lambda x: reference_means(graph, x)[layer]))
    unit_layer = graph.layer(layer)
    return Intervention(layer, checked, mode, value, source=source, axis=unit_layer.unit_axis,
                        offset=unit_layer.offset)


def _edits(graph: LayeredGraph, interventions: Sequence[Intervention]) -> dict[str, Callable]:
    by_tap: dict[str, list[Intervention]] = {}
    for intervention in interventions:
        by_tap.setdefault(graph.layer(intervention.layer).tap, []).append(intervention)

    def chain(items: list[Intervention]) -> Callable[[torch.Tensor], torch.Tensor]:
        def edit(activation: torch.Tensor) -> torch.Tensor:
            for item in items:
                activation = item.apply(activation)
            return activation
        return edit

    return {tap: chain(items) for tap, items in by_tap.items()}


@contextmanager
def intervened(graph: LayeredGraph, interventions: Sequence[Intervention],
               capture: Iterable[str] = ()) -> Iterator[dict[str, torch.Tensor]]:
    """Apply `interventions` to every `graph.forward` inside the block; record the tensors at
    probe keys `capture` into the yielded dict. Everything is removed in ``finally``."""
    with graph.runner.probing(_edits(graph, interventions), capture) as store:
        yield store
