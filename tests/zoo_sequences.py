"""Sequence families for the zoo: token-wise Linear layers on (batch, positions, features)."""

from __future__ import annotations

import torch
from torch import nn


class TokenMLP(nn.Module):
    """Token-wise Linear layers on (batch, positions, features), averaged over positions."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(5, 8), nn.Linear(8, 6), nn.Linear(6, 3)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 5 features, 7 positions)
        h = torch.relu(self.fc1(x.transpose(1, 2)))
        h = self.act(self.fc2(h))
        return self.head(h.mean(1))


class TokenResidual(nn.Module):
    """A pre-norm residual MLP block over tokens, read out at the first token."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 6)
        self.norm = nn.LayerNorm(6)
        self.up, self.down = nn.Linear(6, 10), nn.Linear(10, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 4, positions)
        h = self.embed(x.permute(0, 2, 1))
        h = h + self.down(torch.relu(self.up(self.norm(h))))
        return self.head(h[:, 0])


class ConvThenTokens(nn.Module):
    """Conv1d over positions, then a token-wise Linear, back to channels for a max pool."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 6, 3, padding=1)
        self.mix = nn.Linear(6, 5)
        self.conv2 = nn.Conv1d(5, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 3 channels, positions)
        h = torch.relu(self.conv(x)).transpose(1, 2)
        h = torch.tanh(self.mix(h)).movedim(2, 1)
        h = torch.relu(self.conv2(h))
        return self.head(h.amax(2))


class EmbeddingBag(nn.Module):
    """Token ids → embedding → token-wise Linear → mean over positions (fastText-like)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 6, padding_idx=0)
        self.fc, self.head = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.fc(self.embedding(ids))).mean(1))


class EmbeddingConv(nn.Module):
    """Token ids → embedding → Conv1d over positions (Kim's text CNN) → max over time."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 5, padding_idx=0)
        self.conv = nn.Conv1d(5, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(self.embedding(ids).transpose(1, 2)))
        return self.head(h.amax(2))


def _ids(batch: int, positions: int) -> torch.Tensor:
    return torch.randint(1, 20, (batch, positions), generator=torch.Generator().manual_seed(1))


def sequence_families(seeded, rand) -> dict:
    """name: (builder, input batch of 3) for the zoo's FAMILIES."""
    return {
        "embedding_bag": (seeded(EmbeddingBag), lambda: _ids(3, 6)),
        "embedding_conv": (seeded(EmbeddingConv), lambda: _ids(3, 7)),
        "token_mlp": (seeded(TokenMLP), lambda: rand(3, 5, 7)),
        "token_residual": (seeded(TokenResidual), lambda: rand(3, 4, 6)),
        "conv_then_tokens": (seeded(ConvThenTokens), lambda: rand(3, 3, 9)),
    }
