"""Attention unrolled while fx traces the model (the graph rules are in `_attention_rules`).

Each self-attention call of an nn.MultiheadAttention, and every one inside an
nn.TransformerEncoderLayer / nn.TransformerEncoder (unrolled into their submodules, batch first
inside), becomes four traced operations that read the module's own (live) parameters and one
call of its `out_proj`::

    scores  = attention_scores(mha, x, x)        # (batch, heads, T, T) = Q Kᵀ / √d, unmasked
    pattern = attention_pattern(scores, mask)    # softmax over the keys
    heads   = attention_heads(mha, pattern, x)   # (batch, heads, T, d) = pattern · V
    out     = mha.out_proj(merge_heads(heads))   # (batch, T, embed)

A `batch_first=False` module runs on `x.transpose(0, 1)` and hands its result back through
`seq_first`; a transpose the user wrote right before it cancels with ours, and what the user
does right after it (a transpose back, a reduction over the positions, one position) is
rewritten by the graph rules to act on the batch-first result.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import re

import torch
import torch.nn.functional as F
from torch import fx, nn


# ------------------------------------------------------------------ the traced operations
def _leaf(fn):
    """`fn` as one traced call: with fx proxies among its arguments it records a node (a module
    argument becomes a get_attr of it), otherwise it runs."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        proxy = next((a for a in (*args, *kwargs.values()) if isinstance(a, fx.Proxy)), None)
        if proxy is None:
            return fn(*args, **kwargs)
        tracer = proxy.tracer
        args = tuple(tracer.create_proxy("get_attr", tracer.path_of_module(a), (), {})
                     if isinstance(a, nn.Module) else a for a in args)
        return tracer.create_proxy("call_function", wrapper, args, kwargs)
    return wrapper


def projection(mha: nn.MultiheadAttention, x: torch.Tensor, which: int) -> torch.Tensor:
    """Q (0), K (1) or V (2) of `x` (..., T, embed) per head: (..., heads, T, head_dim)."""
    weight, bias = projection_weight(mha, which)
    y = F.linear(x, weight, bias)
    return y.reshape(*y.shape[:-1], mha.num_heads, mha.head_dim).transpose(-3, -2)


def projection_weight(mha: nn.MultiheadAttention, which: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(weight (embed, embed), bias or None) of the q (0), k (1) or v (2) projection."""
    e = mha.embed_dim
    if mha._qkv_same_embed_dim:
        weight = mha.in_proj_weight[which * e:(which + 1) * e]
    else:
        weight = (mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight)[which]
    bias = None if mha.in_proj_bias is None else mha.in_proj_bias[which * e:(which + 1) * e]
    return weight, bias


@_leaf
def attention_scores(mha: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor,
                     key_padding_mask: object = None) -> torch.Tensor:
    """(batch, heads, T, S) = Q Kᵀ / √head_dim of batch-first query and key (no mask yet)."""
    q, k = projection(mha, query, 0), projection(mha, key, 1)
    return (q / math.sqrt(mha.head_dim)) @ k.transpose(-2, -1)


@_leaf
def attention_pattern(scores: torch.Tensor, attn_mask: torch.Tensor | None = None,
                      is_causal: bool = False, refused_mask: tuple | None = None) -> torch.Tensor:
    """softmax over the keys of the scores, masked as nn.MultiheadAttention masks them (a bool
    mask marks the pairs that may not attend, a float mask is added; is_causal: no later key).
    `refused_mask`: the shape of a mask left out here, which the graph rules refuse."""
    if is_causal:
        t, s = scores.shape[-2:]
        attn_mask = torch.ones(t, s, dtype=torch.bool, device=scores.device).triu(1)
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return scores.softmax(-1)


@_leaf
def attention_heads(mha: nn.MultiheadAttention, pattern: torch.Tensor,
                    value: torch.Tensor) -> torch.Tensor:
    """(batch, heads, T, head_dim) = pattern · V: each head's output before the out-projection."""
    return pattern @ projection(mha, value, 2)


@_leaf
def merge_heads(heads: torch.Tensor) -> torch.Tensor:
    """(batch, T, heads · head_dim), head-major: the out-projection's input."""
    return heads.transpose(1, 2).flatten(2)


@_leaf
def attention_weights(pattern: torch.Tensor, average: bool) -> torch.Tensor:
    """The attention weights nn.MultiheadAttention returns (averaged over heads if asked)."""
    return pattern.mean(1) if average else pattern


# ------------------------------------------------------------------ unrolling while tracing
def trace_call(tracer: fx.Tracer, module: nn.Module, args: tuple, kwargs: dict, traced) -> object:
    """The traced result of calling `module`: unrolled when it is an attention module NetViz
    draws, else fx's own `traced()` (a leaf: refused by `_ops` if its family is). The stack
    traces recorded meanwhile lose NetViz's own frames (a refusal names the user's line)."""
    before = set(tracer.graph.nodes) if tracer.record_stack_traces else None
    try:
        return _unrolled(module, args, kwargs, traced)
    finally:
        for node in tracer.graph.nodes if before is not None else ():
            if node not in before and node.stack_trace:
                node.stack_trace = _without_own_frames(node.stack_trace)


def _unrolled(module: nn.Module, args: tuple, kwargs: dict, traced) -> object:
    if type(module).forward is nn.MultiheadAttention.forward and _plain_attention(module):
        return _trace_mha(module, *_bind(nn.MultiheadAttention.forward, args, kwargs))
    if type(module).forward is nn.TransformerEncoderLayer.forward and _plain_layer(module):
        src, mask, padding, causal = _bind(nn.TransformerEncoderLayer.forward, args, kwargs)
        return _seq_first(module.self_attn.batch_first, src,
                          lambda x: _trace_layer(module, x, mask, padding, causal))
    if type(module).forward is nn.TransformerEncoder.forward \
            and all(type(layer).forward is nn.TransformerEncoderLayer.forward and _plain_layer(layer)
                    for layer in module.layers):
        src, mask, padding, causal = _bind(nn.TransformerEncoder.forward, args, kwargs)
        return _seq_first(module.layers[0].self_attn.batch_first, src,
                          lambda x: _trace_encoder(module, x, mask, padding, bool(causal)))
    return traced()


def _plain_attention(mha: nn.MultiheadAttention) -> bool:
    return mha.bias_k is None and mha.bias_v is None and not mha.add_zero_attn


def _plain_layer(layer: nn.Module) -> bool:
    return _plain_attention(layer.self_attn)


def _bind(forward, args: tuple, kwargs: dict) -> list:
    """The arguments of `forward` (after self) in order, defaults filled in."""
    signature = inspect.signature(forward)
    bound = signature.bind(None, *args, **kwargs)
    bound.apply_defaults()
    return list(bound.arguments.values())[1:]


def _seq_first(batch_first: bool, src, run):
    if batch_first:
        return run(src)
    return seq_first(run(_batch_first(src)))


def _batch_first(x):
    """A (positions, batch, ...) proxy as (batch, positions, ...): the input of the transpose
    (0, 1) traced right before it (the user's, or ours after an earlier layer) when nothing
    else used it yet, else x.transpose(0, 1)."""
    node = getattr(x, "node", None)
    if node is not None and not node.users and (node.target is seq_first or is_swap01(node)):
        return fx.Proxy(node.args[0], x.tracer)
    return x.transpose(0, 1)


@_leaf
def seq_first(x: torch.Tensor) -> torch.Tensor:
    """x.transpose(0, 1): a batch-first result handed back as (positions, batch, ...)."""
    return x.transpose(0, 1)


def is_swap01(node: fx.Node) -> bool:
    """True for a transpose / swapaxes / permute that swaps axes 0 and 1 of a 3-d tensor."""
    if node.op not in ("call_method", "call_function") or node.target not in (
            "transpose", "swapaxes", "swapdims", torch.transpose, torch.swapaxes, "permute",
            torch.permute):
        return False
    args = list(node.args[1:])
    if node.target in ("permute", torch.permute):
        dims = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        return list(dims) == [1, 0, 2]
    return all(isinstance(a, int) for a in args[:2]) and sorted(a % 3 for a in args[:2]) == [0, 1]


def _trace_mha(mha: nn.MultiheadAttention, query, key, value, key_padding_mask=None,
               need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False,
               batch_first: bool | None = None):
    first = mha.batch_first if batch_first is None else batch_first
    same = query is key and key is value
    if not first:
        query = _batch_first(query)
        key, value = (query, query) if same else (_batch_first(key), _batch_first(value))
    scores = attention_scores(mha, query, key, key_padding_mask)
    shape = _constant_shape(attn_mask)
    if shape is not None and len(shape) != 2:  # per example and head: refused by the rules
        pattern = attention_pattern(scores, None, bool(is_causal), refused_mask=shape)
    else:
        pattern = attention_pattern(scores, attn_mask, bool(is_causal))
    heads = attention_heads(mha, pattern, value)
    out = mha.out_proj(merge_heads(heads))
    if not first:
        out = seq_first(out)
    return out, (attention_weights(pattern, average_attn_weights) if need_weights else None)


def _constant_shape(mask) -> tuple[int, ...] | None:
    """The shape of a mask given as a tensor or a traced buffer (None when unknown)."""
    if isinstance(mask, torch.Tensor):
        return tuple(mask.shape)
    node = getattr(mask, "node", None)
    if node is not None and node.op == "get_attr":
        *path, name = str(node.target).split(".")
        owner = mask.tracer.root  # plain dicts: fx answers attribute reads with proxies
        for part in path:
            owner = owner._modules.get(part) if owner is not None else None
        value = None if owner is None else owner._buffers.get(name, owner._parameters.get(name))
        if value is None and owner is not None:
            value = owner.__dict__.get(name)  # a plain tensor attribute
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None
    return None


def _trace_layer(layer: nn.TransformerEncoderLayer, x, mask, padding, causal):
    """TransformerEncoderLayer.forward without its fused fast path, on a batch-first x."""
    def attention(h):
        out, _ = _trace_mha(layer.self_attn, h, h, h, padding, False, mask, True, bool(causal),
                            batch_first=True)
        return layer.dropout1(out)

    def feed_forward(h):
        return layer.dropout2(layer.linear2(layer.dropout(layer.activation(layer.linear1(h)))))

    if layer.norm_first:
        x = x + attention(layer.norm1(x))
        return x + feed_forward(layer.norm2(x))
    x = layer.norm1(x + attention(x))
    return layer.norm2(x + feed_forward(x))


def _trace_encoder(encoder: nn.TransformerEncoder, x, mask, padding, causal):
    for layer in encoder.layers:
        x = _trace_layer(layer, x, mask, padding, causal)
    return x if encoder.norm is None else encoder.norm(x)


_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+')


def _without_own_frames(trace: str) -> str:
    """A recorded stack trace without NetViz's own frames (so a refusal names the user's line)."""
    kept, skip = [], False
    for line in trace.splitlines(keepends=True):
        match = _FRAME.match(line)
        if match is not None:
            skip = os.path.dirname(os.path.abspath(match["file"])) == _OWN_DIR
        if not skip:
            kept.append(line)
    return "".join(kept)
