"""Errors for people: every message names the argument, what was expected and what was given."""

from __future__ import annotations

from typing import Any

__all__ = [
    "GraphError",
    "InputError",
    "InterventionError",
    "ModelError",
    "NetVizError",
    "describe",
]


class NetVizError(Exception):
    """Base class of every error netviz_widget raises on purpose."""

    def __init__(self, argument: str, expected: str, given: Any, hint: str = "") -> None:
        self.argument = argument
        self.expected = expected
        self.given = given
        self.hint = hint
        message = f"{argument}: expected {expected}, got {describe(given)}."
        if hint:
            message += f" {hint}"
        super().__init__(message)


class InputError(NetVizError, ValueError):
    """An input tensor, target or baseline is not what the model or the tool can use."""


class ModelError(NetVizError, TypeError):
    """The model is not usable: not an nn.Module, its forward fails, or its output is unusable."""


class GraphError(NetVizError, ValueError):
    """A layer name or unit index does not exist in the layered graph."""


class InterventionError(NetVizError, ValueError):
    """An intervention is malformed: unknown mode, non-finite value, wrong patch shape."""


def describe(value: Any) -> str:
    """A short, safe description of `value` for an error message (no huge reprs)."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return f"a {value.dtype} tensor of shape {tuple(value.shape)} on {value.device}"
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, (int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        if len(value) <= 8 and all(isinstance(v, (int, float, bool, str)) or v is None for v in value):
            text = f"{type(value).__name__} {value!r}"
            return text if len(text) <= 120 else text[:117] + "..."
        # tensors, arrays, nested lists: describe each item (a repr could be megabytes)
        items = ", ".join(describe(v) if not isinstance(v, (list, tuple)) else f"a {type(v).__name__}"
                          for v in value[:4])
        more = f", … ({len(value)} items)" if len(value) > 4 else ""
        return f"a {type(value).__name__} of {len(value)}: ({items}{more})"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    return f"a {type(value).__name__}"
