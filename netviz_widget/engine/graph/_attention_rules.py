"""Attention drawn exactly: the graph rules of self-attention `nn.MultiheadAttention`,
`nn.TransformerEncoderLayer` and `nn.TransformerEncoder`, which `_attention_trace` unrolls while
fx traces the model.

Each attention call becomes four traced operations that read the module's own (live)
parameters, and one call of its `out_proj` (a token-wise Linear layer)::

    scores  = attention_scores(mha, x, x)        # (batch, heads, T, T) = Q Kᵀ / √d, unmasked
    pattern = attention_pattern(scores, mask)    # softmax over the keys  -> layer "<mha>.pattern"
    heads   = attention_heads(mha, pattern, x)   # (batch, heads, T, d) = pattern · V  -> layer "<mha>"
    out     = mha.out_proj(merge_heads(heads))   # (batch, T, embed)    -> layer "<mha>.out_proj"

A head is a unit of layer "<mha>" (its output slice before the out-projection, every position
and head dimension); its attention pattern is a unit of "<mha>.pattern". Edges (see
`engine/_attention_edges.py` for the maths): "value" from the stream features into the heads,
"pattern" from each head's pattern into its output (the exact split Δ(A·V) = A(α_{k-1})·ΔV +
ΔA·V(α_k)), "attends" from the stream features into the patterns (the exact split of the
scores' change ΔS = ΔQ·K(α_{k-1})ᵀ + Q(α_k)·ΔKᵀ over the features, through W_q and W_k), and
the out-projection's weights from the heads (a head spans head_dim features) to its outputs.

An encoder layer is unrolled into its own submodules (norms, self-attention, linear1,
activation, linear2, dropouts, residual sums), batch first inside: a `batch_first=False` layer
is run on `x.transpose(0, 1)` and transposed back, and a transpose the user wrote right before
or after it cancels with ours. Masks: `attn_mask` / `mask` / `src_mask` given as a constant (or
`is_causal=True`) are applied as the module applies them; a key padding mask is refused.
"""

from __future__ import annotations

import operator

import numpy as np
import torch
from torch import fx, nn

from netviz_widget.engine.graph._attention_trace import (
    attention_heads,
    attention_pattern,
    attention_scores,
    attention_weights,
    is_swap01,
    merge_heads,
    projection_weight,
    seq_first,
)
from netviz_widget.engine.graph._ops import SUPPORTED
from netviz_widget.engine.graph._origins import Origin
from netviz_widget.engine.graph._refusals import source_line
from netviz_widget.engine.graph._weights import place_runs, signed_norm
from netviz_widget.engine.kinds import LAYER_KINDS, LayerKind, register_layer_kind
from netviz_widget.errors import GraphError

PATTERN = "attention_pattern"
HEADS = "attention"

for _kind in (
    LayerKind(HEADS, "a head's output (its slice before the out-projection, every position and "
              "head dimension)", edges="'value' from the stream (W_v of the head), 'pattern' from "
              "the head's attention pattern"),
    LayerKind(PATTERN, "a head's attention pattern softmax(QKᵀ/√d) over every query and key",
              edges="'attends' from the stream (W_q and W_k of the head)"),
):
    if _kind.name not in LAYER_KINDS:
        register_layer_kind(_kind)


# ------------------------------------------------------------------ graph rules
OPERATIONS = (attention_scores, attention_pattern, attention_heads, merge_heads, attention_weights,
              seq_first)


def handles(node: fx.Node) -> bool:
    """True for the traced attention operations (`OPERATIONS`)."""
    return node.op == "call_function" and node.target in OPERATIONS


def visit(rules, node: fx.Node) -> None:
    """The graph rule of one traced attention operation (`rules` is the fx walker)."""
    if node.target is attention_scores:
        _check_scores(rules, node)
    elif node.target is attention_pattern:
        _pattern_layer(rules, node)
    elif node.target is attention_heads:
        _heads_layer(rules, node)
    elif node.target is merge_heads:
        heads = node.args[0]
        if heads in rules.origin:
            layer = rules.layers[rules.origin[heads].segments[0].layer]
            d = int(rules.shape(heads)[-1])
            rules.origin[node] = Origin(Origin.whole(layer.name, layer.n_units).segments, d, -1)
    elif node.target is seq_first:
        _read_back_batch_first(node)


_REDUCTIONS = {"mean", "sum", "amax", "amin", torch.mean, torch.sum, torch.amax, torch.amin}


def _read_back_batch_first(node: fx.Node) -> None:
    """Rewrite what the user does with a (positions, batch, ...) result of a batch_first=False
    module into the same operation on its batch-first source: a transpose back, a reduction
    over the positions (axis 0 -> 1) or one position (x[i] -> x[:, i])."""
    source = node.args[0]
    for user in list(node.users):
        if is_swap01(user):
            user.replace_all_uses_with(source)
        elif user.target in _REDUCTIONS and user.args[:1] == (node,):
            dim = user.kwargs.get("dim", user.args[1] if len(user.args) > 1 else None)
            if isinstance(dim, int) and dim % 3 == 0:
                if "dim" in user.kwargs:
                    user.kwargs = {**user.kwargs, "dim": 1}
                    user.args = (source, *user.args[1:])
                else:
                    user.args = (source, 1, *user.args[2:])
        elif user.target is operator.getitem and user.args[0] is node \
                and isinstance(user.args[1], int):
            user.args = (source, (slice(None), user.args[1]))


def _module(rules, node: fx.Node) -> nn.MultiheadAttention:
    return rules.gm.get_submodule(node.args[0].target)


def refuse(node: fx.Node, gm: fx.GraphModule, reason: str, workaround: str) -> GraphError:
    """`_refusals.refuse` naming the nn.MultiheadAttention whose traced operation `node` is."""
    module = node.args[0] if node.args and isinstance(node.args[0], fx.Node) else None
    while module is not None and module.op != "get_attr":  # a pattern: its scores' module
        module = module.args[0] if module.args and isinstance(module.args[0], fx.Node) else None
    op = "MultiheadAttention" if module is None else f"MultiheadAttention {module.target!r}"
    return GraphError("model", f"operations NetViz can draw ({SUPPORTED})", op,
                      hint=f"{op} at {source_line(node)}: {reason}. Workaround: {workaround}")


def _check_scores(rules, node: fx.Node) -> None:
    _, query, key = node.args[:3]
    padding = node.args[3] if len(node.args) > 3 else node.kwargs.get("key_padding_mask")
    if padding is not None:
        raise refuse(node, rules.gm, "a key_padding_mask is not supported (padded positions would "
                     "need their own units)", "pad with a token whose embedding the model learns "
                     "to ignore, or explain sequences of one length without a padding mask")
    if query is not key:
        raise refuse(node, rules.gm, "cross-attention (query and key from different tensors) is "
                     "not drawn as units yet; self-attention is", "call the attention with the "
                     "same tensor as query, key and value")
    if query not in rules.origin:
        return  # lost or not from the input: inherited or refused where it reaches a layer
    origin, mha = rules.origin[query], _module(rules, node)
    if origin.axis != -1 or origin.group != 1 or origin.n_units != mha.embed_dim:
        raise refuse(node, rules.gm, f"attention reads the features on the last axis of a "
                     f"(batch, positions, {mha.embed_dim}) tensor, but its input carries "
                     f"{origin.n_units} units on axis {origin.axis}", "give the attention the "
                     "output of an embedding or a token-wise Linear, (batch, positions, features)")


def _stream(node: fx.Node) -> fx.Node:
    """The query (= key = value) tensor of a pattern node's scores."""
    return node.args[0].args[1]


def _pattern_layer(rules, node: fx.Node) -> None:
    scores = node.args[0]
    mask = node.args[1] if len(node.args) > 1 else node.kwargs.get("attn_mask")
    query = _stream(node)
    if isinstance(mask, fx.Node) and (mask in rules.origin or mask in rules.lost):
        raise refuse(node, rules.gm, "the attention mask is computed from the input's values",
                     "give a constant mask (a buffer, or is_causal=True)")
    refused = node.kwargs.get("refused_mask")
    if refused is not None:
        raise refuse(node, rules.gm, f"an attn_mask of shape {tuple(refused)} (per example or "
                     "head) is not supported; a (positions, positions) mask is",
                     "give one (positions, positions) mask for every example and head")
    if query not in rules.origin:
        return
    mha = _module(rules, scores)
    name = rules.new_layer(node, f"{scores.args[0].target}.pattern", PATTERN)
    for src, runs in rules.origin[query].ranges().items():
        n_src = rules.layers[src].n_units
        rules.add_block(src, name, kind="attends", weight=block_weight(mha, "attends", runs, n_src),
                        module=None, input_key=query, output_key=scores, group=1, ranges=runs)


def _heads_layer(rules, node: fx.Node) -> None:
    module_node, pattern, value = node.args[:3]
    if pattern not in rules.origin:
        return
    if value is not _stream(pattern):
        raise refuse(node, rules.gm, "the attention's value is another tensor than its query and "
                     "key; self-attention is drawn", "call the attention with the same tensor as "
                     "query, key and value")
    mha = rules.gm.get_submodule(module_node.target)
    name = rules.new_layer(node, str(module_node.target), HEADS)
    for src, runs in rules.origin[value].ranges().items():
        n_src = rules.layers[src].n_units
        rules.add_block(src, name, kind="value", weight=block_weight(mha, "value", runs, n_src),
                        module=None, input_key=value, output_key=node, group=1, ranges=runs,
                        partner_key=pattern)
    source = rules.origin[pattern].segments[0].layer
    rules.add_block(source, name, kind="pattern", weight=block_weight(mha, "pattern", (), 0),
                    module=None, input_key=pattern, output_key=node, group=1, ranges=(),
                    partner_key=value)


def _head_norms(mha: nn.MultiheadAttention, which: tuple[int, ...]) -> np.ndarray:
    """(heads, embed): per head and input feature, the signed L2 norm of the weights of the
    projections `which` (0 q, 1 k, 2 v) over the head's dimensions."""
    parts = [projection_weight(mha, w)[0].detach().float().cpu() for w in which]
    stacked = torch.cat([p.reshape(mha.num_heads, mha.head_dim, -1) for p in parts], 1)
    return signed_norm(stacked, (1,)).numpy().copy()



def block_weight(mha: nn.MultiheadAttention, kind: str, ranges: tuple, n_src: int) -> np.ndarray:
    """The (heads, source units) weights of a "value" / "attends" block as `mha` holds them now
    (a "pattern" block is the identity)."""
    if kind == "pattern":
        return np.eye(mha.num_heads, dtype=np.float32)
    weight = _head_norms(mha, (2,) if kind == "value" else (0, 1))
    return place_runs(weight, ranges, n_src) if ranges else weight
