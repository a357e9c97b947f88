"""Fingerprint of everything about a model that netviz_widget must leave untouched."""

from __future__ import annotations

import torch
from torch import nn

from netviz_widget.engine._model_state import HOOK_DICTS


def fingerprint(model: nn.Module) -> dict:
    """Parameters and buffers (bit copies), flags and hook dicts of `model`."""
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "hooks": [
            (name, sorted(getattr(m, name).keys())) for m in model.modules() for name in HOOK_DICTS
            if hasattr(m, name)
        ],
    }


def assert_unchanged(model: nn.Module, before: dict) -> None:
    """Assert `model` matches the fingerprint `before` exactly."""
    after = fingerprint(model)
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["hooks"] == before["hooks"]
    assert before["state"].keys() == after["state"].keys()
    for key, value in before["state"].items():
        assert torch.equal(value, after["state"][key]), key
    for g0, g1 in zip(before["grads"], after["grads"]):
        assert (g0 is None and g1 is None) or torch.equal(g0, g1)
