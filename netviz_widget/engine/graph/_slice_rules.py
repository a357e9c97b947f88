"""Which units a concatenation, a split or an index carries (rules of `_fx_rules.Rules`).

These rules make no layer: they route ranges of units (`Origin`s) from the operands to the result.
`cat` joins them (torch.cat along the unit axis), `split` cuts them into pieces (torch.split /
chunk) and `getitem` picks a piece, a range x[:, a:b] or one position x[:, i] of token-wise
units; what they cannot follow is lost (`rules.lose`: refused if it reaches a layer or the output).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import fx

from netviz_widget.engine.graph import _constants, _token_rules
from netviz_widget.engine.graph._origins import concatenate

if TYPE_CHECKING:
    from netviz_widget.engine.graph._fx_rules import Rules


def cat(rules: Rules, node: fx.Node) -> None:
    """torch.cat: along the unit axis, the units of every operand in order; along another axis,
    the units the operands share (a constant such as a CLS token may join them)."""
    tensors = node.args[0] if node.args else node.kwargs.get("tensors", ())
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    carriers = [t for t in tensors if t in rules.origin]
    if not carriers:
        return
    ndim = len(rules.shape(node))
    unit_dim = rules.origin[carriers[0]].unit_dim(ndim)
    if len(carriers) != len(tensors) and dim % ndim not in (0, unit_dim) \
            and len({rules.origin[t] for t in carriers}) == 1 \
            and all(t in carriers or _constants.input_free(rules, t) for t in tensors):
        rules.origin[node] = rules.origin[carriers[0]]  # a constant position (a CLS token)
    elif len(carriers) != len(tensors):
        rules.lose(node, "it concatenates units with a tensor that does not come from the input",
                   "concatenate only tensors computed from the input")
    elif dim % ndim == rules.origin[carriers[0]].unit_dim(ndim):
        merged = concatenate([rules.origin[t] for t in tensors])
        if merged is None:
            rules.lose(node, "it concatenates flattened and unflattened units",
                       "concatenate before flattening")
        else:
            rules.origin[node] = merged
    elif len({rules.origin[t] for t in tensors}) == 1:
        rules.origin[node] = rules.origin[tensors[0]]
    else:
        rules.lose(node, f"it concatenates different layers along axis {dim}, not the unit "
                   "axis 1", "concatenate branches along axis 1")


def split(rules: Rules, node: fx.Node) -> None:
    """torch.split / chunk: the units of each piece (None for a piece that cuts a flattened
    unit), kept in `rules.pieces` for the getitem that picks it."""
    source = node.args[0]
    if source not in rules.origin:
        return
    origin = rules.origin[source]
    metas = node.meta.get("tensor_meta") or ()
    dim = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim", 0)
    ndim = len(rules.shape(source))
    if dim % ndim != origin.unit_dim(ndim):
        rules.pieces[node] = [origin] * len(metas)
        return
    pieces, offset = [], 0
    for meta in metas:
        size = int(meta.shape[1])
        lo, hi = offset, offset + size
        offset = hi
        ok = lo % origin.group == 0 and hi % origin.group == 0
        pieces.append(origin.sub(lo // origin.group, hi // origin.group) if ok else None)
    rules.pieces[node] = pieces


def getitem(rules: Rules, node: fx.Node) -> None:
    """Indexing: a piece of a split, x[:, a:b] (a range of units), x[:, i] (one position's
    token-wise units) or x[a:b] (some examples, every unit)."""
    source, index = node.args[0], node.args[1]
    if source in rules.pieces:
        piece = rules.pieces[source][index]
        if piece is None:
            rules.lose(node, "it splits a flattened unit", "split before flattening")
        else:
            rules.origin[node] = piece
        return
    if source not in rules.origin or not isinstance(source, fx.Node):
        return
    index = index if isinstance(index, tuple) else (index,)
    whole = slice(None)
    if rules.origin[source].axis == -1:
        if _token_rules.position_index(index, len(rules.shape(source))):
            rules.origin[node] = rules.origin[source].on_axis(1)  # one position's units
        elif isinstance(index[0], slice) and all(i == whole for i in index[1:]):
            rules.origin[node] = rules.origin[source]
        else:
            rules.lose(node, f"the index {index!r} selects token-wise units in a way NetViz "
                       "cannot draw", "pick one position with x[:, i]")
        return
    if isinstance(index[0], slice) and all(i == whole for i in index[1:]):
        rules._pass(node, source, move_tap=False)  # all units (of some examples)
        return
    units = index[1] if len(index) > 1 else None
    origin = rules.origin[source]
    if index[0] == whole and isinstance(units, slice) and units.step in (None, 1) \
            and all(i == whole for i in index[2:]):
        n = origin.n_units * origin.group
        lo, hi, _ = units.indices(n)
        if lo % origin.group == 0 and hi % origin.group == 0 and hi > lo:
            rules.origin[node] = origin.sub(lo // origin.group, hi // origin.group)
            return
    rules.lose(node, f"the index {index!r} selects units in a way NetViz cannot draw",
               "select units with x[:, a:b] or torch.split along axis 1")
