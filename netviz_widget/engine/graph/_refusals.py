"""Refusals for people: the operation, the user's source line, what is supported, a workaround."""

from __future__ import annotations

import os
import re

import torch
import torch.nn.functional as F
from torch import fx

from netviz_widget.engine.graph._ops import SUPPORTED
from netviz_widget.errors import GraphError

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_TORCH_DIR = os.path.dirname(torch.__file__)


def source_line(node: fx.Node) -> str:
    """'file:line in function: `code`' of the user's code that created `node` (the innermost
    frame outside torch), or 'an unknown source line' when fx recorded none."""
    trace = node.stack_trace or ""
    lines = trace.splitlines()
    found = None
    for i, line in enumerate(lines):
        match = _FRAME.search(line)
        if match is None or match["file"].startswith(_TORCH_DIR):
            continue
        code = lines[i + 1].strip() if i + 1 < len(lines) and not _FRAME.search(lines[i + 1]) else ""
        found = (match["file"], match["line"], match["func"], code)
    if found is None:
        return "no source line of yours (inside torch's own modules)"
    file, line, func, code = found
    where = f"{os.path.basename(file)}:{line} in {func}"
    return f"{where}: `{code}`" if code else where


def operation(node: fx.Node, gm: fx.GraphModule | None = None) -> str:
    """A short name of what `node` does: the module class and name, or the function."""
    if node.op == "call_module" and gm is not None:
        return f"{type(gm.get_submodule(node.target)).__name__} {node.target!r}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_function":
        target = node.target
        module = getattr(target, "__module__", None) or ""
        name = getattr(target, "__name__", str(target))
        if module in ("_operator", "operator"):
            return f"operator.{name}"
        if module.startswith("torch.nn.functional") or getattr(F, name, None) is target:
            return f"F.{name}"
        return f"torch.{name}" if module.startswith("torch") or not module else f"{module}.{name}"
    return node.op


def refuse(node: fx.Node, gm: fx.GraphModule | None, reason: str, workaround: str) -> GraphError:
    """A GraphError naming `node`'s operation and source line, what is supported and a workaround."""
    op = operation(node, gm)
    return GraphError(
        "model", f"operations NetViz can draw ({SUPPORTED})", op,
        hint=f"{op} at {source_line(node)}: {reason}. Workaround: {workaround}")


def refuse_module(name: str, module: object, reason: str, workaround: str) -> GraphError:
    """The same refusal for a module seen by forward hooks (no source line is known)."""
    op = f"{type(module).__name__} {name!r}"
    return GraphError(
        "model", f"operations NetViz can draw ({SUPPORTED})", op,
        hint=f"{op} (torch.fx could not trace the model, so no source line is known): {reason}. "
             f"Workaround: {workaround}")
