"""Tensors that do not depend on the input's values: constants the graph rules let through.

A learned positional embedding `self.pos(torch.arange(T))` and a CLS token
`self.cls.expand(x.shape[0], -1, -1)` are computed from parameters and the input's *shape* only;
like a bias or a positional-encoding buffer they are constants of the forward (no units, no
attribution), so the rules add them to the stream instead of refusing them.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import fx

_PASS_METHODS = ("unsqueeze", "expand", "expand_as", "repeat", "view", "reshape", "to", "long")


def constant_positions(source: object) -> bool:
    """True for ids that do not depend on the input's values: `torch.arange` of a length (read
    from the input's shape, or a number), possibly unsqueezed / expanded."""
    while isinstance(source, fx.Node) and source.op == "call_method" and source.target in _PASS_METHODS:
        source = source.args[0]
    return (isinstance(source, fx.Node) and source.op == "call_function"
            and source.target is torch.arange
            and all(not isinstance(a, fx.Node) or a.meta.get("tensor_meta") is None
                    for a in source.args))  # numbers (a length), not tensors


def input_free(rules: Any, node: object) -> bool:
    """True for a tensor computed from parameters / buffers and the input's shape only
    (`self.cls.expand(x.shape[0], -1, -1)`), not from the input's values. `rules`: the walker
    (its `constants`, `origin` and `lost`)."""
    if not isinstance(node, fx.Node) or node in rules.constants:
        return True
    if node in rules.origin or node in rules.lost or node.op in ("placeholder", "call_module"):
        return False
    sizes = (node.op == "call_function" and node.target in (getattr, operator.getitem)) \
        or (node.op == "call_method" and node.target in ("size", "dim"))
    if sizes and node.meta.get("tensor_meta") is None:
        return True  # x.shape, x.shape[0], x.size(0): sizes, not values
    return node.meta.get("tensor_meta") is not None and all(
        input_free(rules, a) for a in node.all_input_nodes)
