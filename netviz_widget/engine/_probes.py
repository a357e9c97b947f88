"""Probe points: where the engine reads and edits activations during a forward pass.

Two runners share one interface. `FxRunner` runs a private torch.fx copy of the model
with identity `_Probe` modules inserted after chosen nodes: the user's model object never
gets a hook. `HookRunner` (used when fx cannot trace) installs forward hooks on the user's
modules only inside `probing(...)` and removes them in `finally`.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import fx, nn

Edit = Callable[[torch.Tensor], torch.Tensor]

INPUT_KEY = "input"

OUTPUT_EXPECTED = ("a forward returning the logits: a tensor, a tuple or list whose first element "
                   "is the logits, or a dict with a 'logits' key (or a single entry)")


def output_choice(value: object) -> object:
    """Which part of a model's output is the logits: the value itself, element 0 of a
    tuple/list, the 'logits' entry (or the single entry) of a dict; None when unclear."""
    if isinstance(value, (tuple, list)):
        return value[0] if value else None
    if isinstance(value, dict):
        if "logits" in value:
            return value["logits"]
        return next(iter(value.values())) if len(value) == 1 else None
    return value


def private_copy(model: nn.Module) -> nn.Module:
    """A private module tree for the engine: every module shallow-copied, in eval mode, with its
    own child and hook dicts, sharing the user's parameter and buffer dicts (so weights stay live).

    The engine traces, hooks and runs only this copy: the user's model object never gets a hook,
    never changes mode, and a forward the user runs at the same time never sees the engine's
    probing. Hooks the user registered before the copy was made still run in it.
    """
    copies: dict[int, nn.Module] = {}

    def copy_of(module: nn.Module) -> nn.Module:
        if id(module) in copies:  # a module used twice stays one module
            return copies[id(module)]
        clone = copy.copy(module)
        copies[id(module)] = clone
        for name, value in vars(module).items():
            if "hooks" in name and isinstance(value, dict):
                object.__setattr__(clone, name, OrderedDict(value))
        object.__setattr__(clone, "_modules", OrderedDict(
            (name, None if child is None else copy_of(child)) for name, child in module._modules.items()))
        object.__setattr__(clone, "training", False)
        return clone

    return copy_of(model)


class _Probe(nn.Module):
    """Identity module that optionally edits, then records, the tensor passing through."""

    def __init__(self, key: str, axis: int = 1) -> None:
        super().__init__()
        self.key = key
        self.axis = axis  # -1: a token-wise (batch, positions, units) tensor
        self.edit: Edit | None = None
        self.store: dict[str, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.axis != 1 and (self.edit is not None or self.store is not None):
            # the engine reads and edits every probe as (batch, units, positions)
            return self._forward(x.movedim(-1, 1)).movedim(1, -1)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.edit is not None:
            x = self.edit(x)
        if self.store is not None:
            self.store[self.key] = x
            return x.clone()  # downstream in-place ops must not rewrite what we recorded
        return x


class ProbedRunner:
    """Interface of a model run with probe points (see module docstring)."""

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Forward `x` through the model with whatever probing is active."""
        raise NotImplementedError

    @contextmanager
    def probing(self, edits: dict[str, Edit] | None = None,
                capture: Iterable[str] = ()) -> Iterator[dict[str, torch.Tensor]]:
        """Apply `edits` at their probe keys and record the tensors at `capture` keys into
        the yielded dict during the body; everything is undone in `finally`."""
        raise NotImplementedError
        yield {}


class FxRunner(ProbedRunner):
    """Runs a traced GraphModule with `_Probe` modules after the probed nodes."""

    def __init__(self, gm: fx.GraphModule, probe_nodes: Iterable[str],
                 axes: dict[str, int] | None = None) -> None:
        """`axes`: probe key → -1 for token-wise (batch, positions, units) tensors, which the
        probe hands to the engine (and takes edits back) as (batch, units, positions)."""
        self.gm = gm
        self.probes: dict[str, _Probe] = {}
        graph = gm.graph
        nodes = {node.name: node for node in graph.nodes}
        for name in probe_nodes:
            node = nodes[name]
            own = gm.get_submodule(node.target) if node.op == "call_module" else None
            if isinstance(own, _Probe):  # a module that is its own probe (an unrolled recurrence)
                own.key = name
                self.probes[name] = own
                continue
            probe = _Probe(name, (axes or {}).get(name, 1))
            target = f"_netviz_probe_{name}"
            gm.add_submodule(target, probe)
            with graph.inserting_after(node):
                probe_node = graph.call_module(target, (node,))
            node.replace_all_uses_with(probe_node, delete_user_cb=lambda user, p=probe_node: user is not p)
            self.probes[name] = probe
        gm.recompile()

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return self.gm(x.clone())  # an in-place first op must not write to the caller's tensor

    @contextmanager
    def probing(self, edits: dict[str, Edit] | None = None,
                capture: Iterable[str] = ()) -> Iterator[dict[str, torch.Tensor]]:
        store: dict[str, torch.Tensor] = {}
        used = []
        try:
            # object.__setattr__: plain attributes, skipping nn.Module's slow __setattr__
            for key, edit in (edits or {}).items():
                object.__setattr__(self.probes[key], "edit", edit)
                used.append(self.probes[key])
            for key in capture:
                object.__setattr__(self.probes[key], "store", store)
                used.append(self.probes[key])
            yield store
        finally:
            for probe in used:
                object.__setattr__(probe, "edit", None)
                object.__setattr__(probe, "store", None)


class HookRunner(ProbedRunner):
    """Probes as forward hooks on the user's modules, present only inside `probing`.

    Keys are "input", "<module>:in" (the module's first input) and "<module>:out".
    """

    def __init__(self, model: nn.Module) -> None:
        """Hooks go on `model`'s own modules by name, per `probing` call (none are added here)."""
        self.model = model
        self.modules = dict(model.named_modules())
        self._input_edit: Edit | None = None
        self._input_store: dict[str, torch.Tensor] | None = None

    def run(self, x: torch.Tensor) -> torch.Tensor:
        if self._input_edit is not None:
            x = self._input_edit(x)
        if self._input_store is not None:
            self._input_store[INPUT_KEY] = x
        return output_choice(self.model(x.clone()))  # in-place first ops edit a copy

    @contextmanager
    def probing(self, edits: dict[str, Edit] | None = None,
                capture: Iterable[str] = ()) -> Iterator[dict[str, torch.Tensor]]:
        store: dict[str, torch.Tensor] = {}
        edits = dict(edits or {})
        capture = set(capture)
        handles = []
        try:
            self._input_edit = edits.pop(INPUT_KEY, None)
            self._input_store = store if INPUT_KEY in capture else None
            for key in (set(edits) | capture) - {INPUT_KEY}:
                name, where = key.rsplit(":", 1)
                module = self.modules[name]
                edit, record = edits.get(key), key in capture
                if where == "out":
                    handles.append(module.register_forward_hook(_out_hook(key, edit, record, store)))
                else:
                    handles.append(module.register_forward_pre_hook(_in_hook(key, edit, record, store)))
            yield store
        finally:
            self._input_edit = None
            self._input_store = None
            for handle in handles:
                handle.remove()


def _out_hook(key: str, edit: Edit | None, record: bool, store: dict) -> Callable:
    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if edit is not None:
            output = edit(output)
        if record:
            store[key] = output
            output = output.clone()
        return output

    return hook


def _in_hook(key: str, edit: Edit | None, record: bool, store: dict) -> Callable:
    def hook(module: nn.Module, args: tuple) -> tuple:
        x = args[0]
        if edit is not None:
            x = edit(x)
        if record:
            store[key] = x
            x = x.clone()
        return (x, *args[1:])

    return hook
