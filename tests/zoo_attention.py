"""Attention families for the zoo (issue 13, item 4), each with a hand-unrolled reference.

(The engine reads a token-wise layer before the activation or norm that follows it, so the
reference's taps sit there too.)

Every model takes (batch, features, positions) floats (or token ids) and embeds them with a
token-wise Linear (or an nn.Embedding). `reference(model)` is an independent, hand-written
forward with the same weights and an `nn.Identity` at every place the engine reads a unit
layer (keyed by the engine's layer name), so Captum's LayerConductance can score each one,
the heads included; `reference(model, zero_head=(layer, head))` zeroes one head's slice
before its out-projection.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tests.zoo import seeded


class SelfAttention(nn.Module):
    """nn.MultiheadAttention, batch first, with a residual sum and a LayerNorm."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 3, positions)
        h = torch.relu(self.embed(x.transpose(1, 2)))
        a, _ = self.attn(h, h, h)
        return self.head(self.norm(h + a).mean(1))


class CausalSeqFirst(nn.Module):
    """nn.MultiheadAttention with batch_first=False, no biases, a causal mask (a buffer), read
    out at the last position."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 8)
        self.attn = nn.MultiheadAttention(8, 4, bias=False)
        self.head = nn.Linear(8, 2)
        self.register_buffer("mask", torch.ones(5, 5, dtype=torch.bool).triu(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 3, 5)
        h = torch.tanh(self.embed(x.transpose(1, 2)))
        s = h.transpose(0, 1)                              # (positions, batch, features)
        a = self.attn(s, s, s, attn_mask=self.mask, need_weights=False)[0]
        return self.head(torch.relu(a.transpose(0, 1) + h)[:, -1])


class PostNormEncoder(nn.Module):
    """Two post-norm ReLU nn.TransformerEncoderLayers in an nn.TransformerEncoder (batch first)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 8)
        layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x.transpose(1, 2))).mean(1))


class PreNormCausal(nn.Module):
    """A pre-norm GELU nn.TransformerEncoderLayer, batch_first=False, causal (is_causal with its
    mask), and a final LayerNorm; the first position is read out."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 8)
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 2)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x.transpose(1, 2)).transpose(0, 1)
        h = self.layer(h, src_mask=self.mask, is_causal=True)
        return self.head(self.norm(h.transpose(0, 1))[:, 0])


class TokenTransformer(nn.Module):
    """Token ids → embedding + learned positions → encoder layer → mean → head."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(12, 8, padding_idx=0)
        self.position = nn.Parameter(torch.randn(6, 8) * 0.3)
        self.encoder = nn.TransformerEncoderLayer(8, 2, 12, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embedding(ids) + self.position).mean(1))


def _rand(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 2 - 1


FAMILIES = {
    "self_attention": (seeded(SelfAttention), lambda: _rand(3, 3, 5)),
    "causal_seq_first": (seeded(CausalSeqFirst), lambda: _rand(3, 3, 5)),
    "post_norm_encoder": (seeded(PostNormEncoder), lambda: _rand(3, 3, 5)),
    "pre_norm_causal": (seeded(PreNormCausal), lambda: _rand(3, 3, 5)),
    "token_transformer": (seeded(TokenTransformer),
                          lambda: torch.randint(1, 12, (3, 6), generator=torch.Generator().manual_seed(1))),
}


# ----------------------------------------------------------------------------- references
class Reference(nn.Module):
    """The model's forward written out by hand, with a tap (nn.Identity) at each unit layer."""

    def __init__(self, model: nn.Module, names: list[str], zero_head: tuple[str, int] | None = None) -> None:
        super().__init__()
        self.model = model
        self.taps = nn.ModuleDict({_key(n): nn.Identity() for n in names})
        self.zero_head = zero_head

    def tap(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.taps[_key(name)](x) if _key(name) in self.taps else x

    def attention(self, name: str, mha: nn.MultiheadAttention, x: torch.Tensor,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
        """Self-attention of a batch-first x (batch, T, E), by hand."""
        e, h = mha.embed_dim, mha.num_heads
        d = e // h
        w, b = mha.in_proj_weight, mha.in_proj_bias
        q, k, v = (F.linear(x, w[i * e:(i + 1) * e], None if b is None else b[i * e:(i + 1) * e])
                   .reshape(x.shape[0], x.shape[1], h, d).permute(0, 2, 1, 3) for i in range(3))
        scores = self.tap(f"{name}.scores", torch.einsum("bhtj,bhsj->bhts", q, k) / math.sqrt(d))
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
        pattern = self.tap(f"{name}.pattern", torch.softmax(scores, -1))
        heads = self.tap(name, torch.einsum("bhts,bhsj->bhtj", pattern, v))
        if self.zero_head is not None and self.zero_head[0] == name:
            heads = heads.clone()
            heads[:, self.zero_head[1]] = 0.0
        merged = heads.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[1], e)
        return self.tap(f"{name}.out_proj", mha.out_proj(merged))

    def encoder_layer(self, prefix: str, layer: nn.TransformerEncoderLayer, x: torch.Tensor,
                      adds: tuple[str, str], mask: torch.Tensor | None = None) -> torch.Tensor:
        act = F.gelu if layer.activation is F.gelu else F.relu

        def ff(h):
            return self.tap(f"{prefix}.linear2", layer.linear2(
                act(self.tap(f"{prefix}.linear1", layer.linear1(h)))))

        if layer.norm_first:
            x = self.tap(adds[0], x + self.attention(f"{prefix}.self_attn", layer.self_attn,
                                                     layer.norm1(x), mask))
            return self.tap(adds[1], x + ff(layer.norm2(x)))
        attended = self.attention(f"{prefix}.self_attn", layer.self_attn, x, mask)
        x = layer.norm1(self.tap(adds[0], x + attended))
        return layer.norm2(self.tap(adds[1], x + ff(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        if isinstance(m, TokenTransformer):  # x: the embedding output (batch, dims, positions)
            h = self.tap("add", x.transpose(1, 2) + m.position)
            h = self.encoder_layer("encoder", m.encoder, h, ("add_1", "add_2"))
            return m.head(h.mean(1))
        h = m.embed(x.transpose(1, 2))
        if isinstance(m, SelfAttention):
            h = torch.relu(self.tap("embed", h))
            return m.head(m.norm(self.tap("add", h + self.attention("attn", m.attn, h))).mean(1))
        if isinstance(m, CausalSeqFirst):
            h = torch.tanh(self.tap("embed", h))
            return m.head(torch.relu(self.tap("add", self.attention("attn", m.attn, h, m.mask) + h))[:, -1])
        if isinstance(m, PostNormEncoder):
            h = self.tap("embed", h)
            h = self.encoder_layer("encoder.layers.0", m.encoder.layers[0], h, ("add", "add_1"))
            h = self.encoder_layer("encoder.layers.1", m.encoder.layers[1], h, ("add_2", "add_3"))
            return m.head(h.mean(1))
        if isinstance(m, PreNormCausal):
            h = self.tap("embed", h)
            t = h.shape[1]
            causal = torch.ones(t, t, dtype=torch.bool).triu(1)
            h = self.encoder_layer("layer", m.layer, h, ("add", "add_1"), causal)
            return m.head(m.norm(h)[:, 0])
        raise TypeError(type(m).__name__)


def _key(name: str) -> str:
    return name.replace(".", "__")
