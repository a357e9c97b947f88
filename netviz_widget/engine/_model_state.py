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
    """Guard the user's `model` during engine work: afterwards every module's `training` flag,
    every parameter's `requires_grad` and `.grad`, and every hook dict are as before.

    The engine computes on a private eval-mode copy (`_probes.private_copy`), so the user's
    flags are never switched, not even for the duration of a call (another thread running
    the model meanwhile sees it as the user left it); this guard is the safety net."""
    training = [(module, module.training) for module in model.modules()]
    params = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    hooks = [(module, name, dict(getattr(module, name))) for module in model.modules()
             for name in HOOK_DICTS if hasattr(module, name)]
    try:
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


def model_state(model: nn.Module) -> tuple:
    """What the engine's results depend on, cheaply: every submodule's identity, and every
    parameter's and buffer's identity, storage and version counter (bumped by any in-place
    change: an optimizer step, `load_state_dict`, BatchNorm statistics). Equal states mean
    equal weights."""
    modules = tuple((name, id(module)) for name, module in model.named_modules())
    tensors = tuple((name, id(t), t.data_ptr() if t.device.type != "meta" else 0, t._version)
                    for name, t in [*model.named_parameters(), *model.named_buffers()])
    return modules, tensors
