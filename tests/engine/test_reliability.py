"""The user's model is sacred: 200+ generated architectures, every public call, an injected
exception in the middle of each; parameters, buffers, flags and hooks stay bit-identical and no
autograd graph is left behind."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from netviz_widget import MODES, Explainer, NetViz
from tests.model_state import assert_unchanged, fingerprint

ACTIVATIONS = {
    "relu": nn.ReLU, "relu_inplace": lambda: nn.ReLU(inplace=True), "gelu": nn.GELU,
    "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky": nn.LeakyReLU,
}


@dataclasses.dataclass(frozen=True)
class Spec:
    conv: bool
    widths: tuple[int, ...]
    activation: str
    norm: str | None
    dropout: bool
    skip: bool
    train: bool
    frozen: str
    seed: int


class GeneratedNet(nn.Module):
    def __init__(self, spec: Spec) -> None:
        super().__init__()
        self.spec = spec
        torch.manual_seed(spec.seed)
        layers, norms, acts, self.skips = [], [], [], []
        width_in = 1 if spec.conv else 4
        for width in spec.widths:
            self.skips.append(spec.skip and width == width_in)  # decided here: fx-traceable
            layers.append(nn.Conv2d(width_in, width, 3, padding=1) if spec.conv
                          else nn.Linear(width_in, width))
            if spec.norm == "batch":
                norms.append(nn.BatchNorm2d(width) if spec.conv else nn.BatchNorm1d(width))
            elif spec.norm == "layer":
                norms.append(nn.GroupNorm(1, width) if spec.conv else nn.LayerNorm(width))
            else:
                norms.append(nn.Identity())
            acts.append(ACTIVATIONS[spec.activation]())
            width_in = width
        self.layers, self.norms, self.acts = nn.ModuleList(layers), nn.ModuleList(norms), nn.ModuleList(acts)
        self.drop = nn.Dropout(0.3) if spec.dropout else nn.Identity()
        self.flatten = nn.Flatten()
        self.head = nn.Linear(width_in * (25 if spec.conv else 1), 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer, norm, act, skip in zip(self.layers, self.norms, self.acts, self.skips):
            out = act(norm(layer(h)))
            h = h + out if skip else out
        return self.head(self.drop(self.flatten(h)))


specs = st.builds(
    Spec, conv=st.booleans(),
    widths=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    activation=st.sampled_from(sorted(ACTIVATIONS)), norm=st.sampled_from([None, "batch", "layer"]),
    dropout=st.booleans(), skip=st.booleans(), train=st.booleans(),
    frozen=st.sampled_from(["none", "some", "all"]), seed=st.integers(0, 1000))


class Injected(RuntimeError):
    """The failure we inject in the middle of a forward pass."""


def build(spec: Spec) -> tuple[nn.Module, torch.Tensor, torch.Tensor, dict]:
    model = GeneratedNet(spec).train(spec.train)
    params = list(model.parameters())
    if spec.frozen == "all":
        model.requires_grad_(False)
    elif spec.frozen == "some":
        params[0].requires_grad_(False)
    shape = (1, 5, 5) if spec.conv else (4,)
    generator = torch.Generator().manual_seed(spec.seed)
    x = torch.rand(3, *shape, generator=generator)
    reference = torch.rand(6, *shape, generator=generator)
    trap = {"armed": False}

    def maybe_raise(module, args, output):
        if trap["armed"]:
            raise Injected("injected failure mid-forward")
    model.layers[0].register_forward_hook(maybe_raise)  # part of the user's model now
    return model, x, reference, trap


def tensors_with_graph(obj, seen=None, depth=0) -> list[str]:
    """Paths to tensors reachable from `obj` that still hold an autograd graph."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8 or isinstance(obj, (nn.Module, str, bytes, np.ndarray, type)):
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return ["tensor"] if obj.grad_fn is not None or obj.requires_grad else []
    children = []
    if isinstance(obj, dict):
        children = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        children = list(enumerate(obj))
    elif dataclasses.is_dataclass(obj):
        children = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("netviz_widget"):
        children = list(vars(obj).items())
    found = []
    for key, child in children:
        found += [f"{key}.{p}" for p in tensors_with_graph(child, seen, depth + 1)]
    return found


@settings(max_examples=220, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          )
@given(specs)
def test_every_call_leaves_the_model_exactly_as_it_was(spec):
    model, x, reference, trap = build(spec)
    before = fingerprint(model)
    ex = Explainer(model, x, n_steps=3, reference=reference)
    ex.snapshot(dataset=True)
    layer = ex.graph.layers[1].name
    for mode in MODES:
        value = {"clamp": 0.5, "scale": 2.0}.get(mode)
        ex.intervene(layer, [0], mode, value=value, patch_input=x[:1] if mode == "patch" else None)
        ex.undo()
    ex.redo()
    ex.neuron(layer, 0)
    ex.circuit(0)
    ex.reset()
    viz = NetViz(model, x, n_steps=3, reference=reference)
    viz.select(layer, 0)
    viz.intervene(mode="zero")
    viz.undo()
    assert_unchanged(model, before)

    trap["armed"] = True  # every public call now fails in the middle of a forward pass
    ex._cache.clear()
    calls = [ex.snapshot, lambda: ex.intervene(layer, [0], "zero"), lambda: ex.neuron(layer, 0),
             lambda: ex.dataset_scores(progress=False), lambda: Explainer(model, x, n_steps=3),
             lambda: viz.intervene(layer, [0], "zero")]
    for call in calls:
        with pytest.raises(Exception) as info:
            call()
        error, chain = info.value, []
        while error is not None:
            chain.append(type(error))
            error = error.__cause__
        assert Injected in chain, chain  # raw, or wrapped in a ModelError that names the model
    trap["armed"] = False
    assert_unchanged(model, before)
    assert ex.history == [] and viz.explainer.history == []
    assert tensors_with_graph(ex) == [] and tensors_with_graph(viz.explainer) == []
    # and the engine still works after the failures
    assert np.isfinite(ex.snapshot().logits).all()
