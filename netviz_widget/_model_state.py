"""Guards that leave the user's model exactly as they found it, also when the body raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_state_dict_hooks",
    "_load_state_dict_pre_hooks",
)


@contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for the body; restore every module's `training` flag,
    every parameter's `requires_grad` and `.grad`, and every hook dict afterwards."""
    training = [(module, module.training) for module in model.modules()]
    params = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    hooks = [(module, name, dict(getattr(module, name))) for module in model.modules()
             for name in HOOK_DICTS if hasattr(module, name)]
    try:
        model.eval()
        yield model
    finally:
        for module, flag in training:
            module.training = flag
        for param, requires_grad, grad in params:
            param.requires_grad_(requires_grad)
            param.grad = grad
        for module, name, saved in hooks:
            current = getattr(module, name)
            if current != saved:
                current.clear()
                current.update(saved)
