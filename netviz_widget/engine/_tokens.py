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

from netviz_widget.engine.graph._refusals import operation
from netviz_widget.errors import GraphError, InputError


def is_token_batch(x: object, model: nn.Module) -> bool:
    """True for an integer tensor given to a model that holds an nn.Embedding."""
    return (isinstance(x, torch.Tensor) and not torch.is_floating_point(x)
            and not torch.is_complex(x) and x.dtype != torch.bool
            and any(isinstance(m, nn.Embedding) for m in model.modules()))


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
        users = list(ids.users)
        embedding = users[0] if len(users) == 1 and users[0].op == "call_module" else None
        module = None if embedding is None else tracer.root.get_submodule(embedding.target)
        if not isinstance(module, nn.Embedding) or embedding.args[:1] != (ids,):
            used = ", ".join(operation(u, fx.GraphModule(tracer.root, graph)) for u in users)
            raise GraphError("model", "token ids that go straight into one nn.Embedding",
                             f"ids used by {used or 'nothing'}",
                             hint="Workaround: pass model.embedding(ids) to a module holding the "
                             "layers after the embedding.")
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
