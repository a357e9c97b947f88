"""Token-id inputs: a model whose input goes straight into an `nn.Embedding`.

Integrated gradients cannot move along integer ids, so (as Captum's LayerIntegratedGradients
does on an embedding layer) the engine works from the embedding's output on: the input layer
is the embedded batch as (batch, embedding dims, positions), its units are the embedding
dimensions (a unit's score is summed over positions), and the model runs as `TokenFront.rest`,
the user's forward with the embedding call replaced by that tensor (same modules, live
weights). The default baseline is zeros in embedding space, which is the embedding of an all
padding-token input when the embedding has a `padding_idx` (its row is zero).
"""

from __future__ import annotations

import torch
from torch import fx, nn

from netviz_widget.engine.graph._refusals import operation, refuse
from netviz_widget.errors import GraphError, InputError


def is_token_batch(x: object, model: nn.Module) -> bool:
    """True for an integer tensor given to a model that holds an nn.Embedding."""
    return (isinstance(x, torch.Tensor) and not torch.is_floating_point(x)
            and not torch.is_complex(x) and x.dtype != torch.bool
            and any(isinstance(m, nn.Embedding) for m in model.modules()))


_SHAPE_ATTRIBUTES = ("shape", "device", "ndim", "is_cuda")
_SHAPE_METHODS = ("size", "dim", "get_device")


def _reads_shape(node: fx.Node, ids: fx.Node) -> bool:
    """True where `node` reads only the ids' shape or device (`ids.shape[1]`, `ids.size(1)`,
    `ids.device`), as a positional embedding or a causal mask built from the length does."""
    if node.op == "call_function" and node.target is getattr:
        return node.args[:1] == (ids,) and node.args[1] in _SHAPE_ATTRIBUTES
    return node.op == "call_method" and node.target in _SHAPE_METHODS and node.args[:1] == (ids,)


def ids_stand_in(embedded: torch.Tensor) -> torch.Tensor:
    """A (batch, positions) view of the embedded ids (batch, dims, positions): it has the ids'
    shape and device, and stands in for the ids where the forward reads only those."""
    return embedded[:, 0]


def _refuse_other_uses(users: list[fx.Node], root: nn.Module, graph: fx.Graph) -> None:
    gm = fx.GraphModule(root, graph)
    others = [u for u in users if not (u.op == "call_module"
                                       and isinstance(gm.get_submodule(u.target), nn.Embedding))]
    if others:  # e.g. a padding mask `ids == 0`: name the operation and the user's line
        raise refuse(others[0], gm, "NetViz explains token ids that go straight into one "
                     "nn.Embedding (besides, only their shape may be read: ids.shape, "
                     "ids.size(1)); nothing else computed from the ids is supported (e.g. a "
                     "padding mask ids == 0, or ids + 1)", "pass model.embedding(ids) to a module "
                     "holding the layers after the embedding (for a padding mask: give "
                     "sequences of one length without the mask)")
    used = ", ".join(operation(u, gm) for u in users)
    raise GraphError("model", "token ids that go straight into one nn.Embedding",
                     f"ids used by {used or 'nothing'}",
                     hint="Workaround: pass model.embedding(ids) to a module holding the "
                     "layers after the embedding.")


class TokenFront:
    """The embedding a model's token ids enter, and the model from its output on."""

    def __init__(self, model: nn.Module) -> None:
        from netviz_widget.engine.graph._fx_walk import _optional_arguments, _Tracer

        try:
            tracer = _Tracer()
            tracer.record_stack_traces = True  # the user's source lines, for refusals later
            graph = tracer.trace(model, concrete_args=_optional_arguments(model))
        except Exception as error:  # fx raises many types for untraceable code
            raise GraphError("model", "a forward torch.fx can trace (for token-id inputs)",
                             f"{type(error).__name__}: {error}",
                             hint="Workaround: pass model.embedding(ids) to a module holding "
                             "the layers after the embedding.") from error
        ids = next(n for n in graph.nodes if n.op == "placeholder")
        shapes = [u for u in ids.users if _reads_shape(u, ids)]  # ids.shape[1], ids.size(1), ...
        users = [u for u in ids.users if u not in shapes]
        embedding = users[0] if len(users) == 1 and users[0].op == "call_module" else None
        module = None if embedding is None else tracer.root.get_submodule(embedding.target)
        if not isinstance(module, nn.Embedding) or embedding.args[:1] != (ids,):
            _refuse_other_uses(users, tracer.root, graph)
        if module.max_norm is not None:
            raise GraphError("model", "an nn.Embedding without max_norm (it rewrites its weights "
                             "in place when called)", f"max_norm={module.max_norm}")
        self.embedding_name = str(embedding.target)
        self.embedding = module
        with graph.inserting_before(ids):
            embedded = graph.placeholder("embedded")
        with graph.inserting_before(embedding):
            moved = graph.call_method("movedim", (embedded, 1, -1))
        embedding.replace_all_uses_with(moved)
        for user in shapes:  # the ids' shape, read from their embedding (batch, dims, positions)
            with graph.inserting_before(user):
                user.replace_input_with(ids, graph.call_function(ids_stand_in, (embedded,)))
        graph.erase_node(embedding)
        graph.erase_node(ids)
        graph.lint()
        self.rest = fx.GraphModule(tracer.root, graph, f"{type(model).__name__}FromEmbedding")
        graph._netviz_stack_traces = {n.name: n.stack_trace for n in graph.nodes if n.stack_trace}

    def embed(self, argument: str, ids: torch.Tensor) -> torch.Tensor:
        """(batch, dims, positions) embedding of token ids (batch, positions)."""
        if ids.dim() != 2 or ids.shape[0] == 0:
            raise InputError(argument, "token ids of shape (batch, positions)", ids)
        n = self.embedding.num_embeddings
        if bool((ids < 0).any()) or bool((ids >= n).any()):
            raise InputError(argument, f"token ids in [0, {n})", ids)
        with torch.no_grad():
            return self.embedding(ids).movedim(-1, 1).contiguous()

    def embed_if_ids(self, argument: str, value: object) -> object:
        """`value` embedded when it is a tensor of token ids; anything else unchanged (a float
        tensor is taken as already in embedding space, (batch, dims, positions))."""
        if isinstance(value, torch.Tensor) and not torch.is_floating_point(value):
            return self.embed(argument, value)
        return value

    convert = embed_if_ids
