"""A zoo of tiny deterministic models covering the architectures the graph must handle."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def seeded(build):
    """Build a model under a fixed seed without disturbing the global RNG."""
    def wrapper(*args, **kwargs):
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return build(*args, **kwargs)
    wrapper.__name__ = build.__name__
    return wrapper


@seeded
def sequential_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3))


class CustomMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(5, 7)
        self.fc2 = nn.Linear(7, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.sigmoid(self.fc2(F.relu(self.fc1(x)))))


@seeded
def custom_mlp() -> nn.Module:
    return CustomMLP()


@seeded
def small_cnn() -> nn.Module:
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 4, 3, padding=1)),
        ("bn", nn.BatchNorm2d(4)),
        ("relu1", nn.ReLU()),
        ("pool", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(4, 6, 3, padding=1)),
        ("relu2", nn.ReLU()),
        ("drop", nn.Dropout(0.5)),
        ("flat", nn.Flatten()),
        ("fc", nn.Linear(6 * 4 * 4, 3)),
    ]))


@seeded
def conv_block() -> nn.Module:
    """conv → relu → conv → relu → flatten → linear: no pooling, exact flow identities."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(2, 3, 3, padding=1)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(3, 4, 3)),
        ("relu2", nn.ReLU()),
        ("flat", nn.Flatten()),
        ("fc", nn.Linear(4 * 3 * 3, 3)),
    ]))


class ResidualMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc_in = nn.Linear(6, 8)
        self.block = nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)
        self.out = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.fc_in(x))
        h = h + torch.tanh(self.block(h))
        return self.out(self.norm(h))


@seeded
def residual_mlp() -> nn.Module:
    return ResidualMLP()


@seeded
def inplace_relu_mlp() -> nn.Module:
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(4, 6)), ("act1", nn.ReLU(inplace=True)),
        ("fc2", nn.Linear(6, 5)), ("act2", nn.ReLU(inplace=True)),
        ("fc3", nn.Linear(5, 2)),
    ]))


@seeded
def layernorm_gelu_mlp() -> nn.Module:
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(4, 6)), ("ln1", nn.LayerNorm(6)), ("gelu", nn.GELU()),
        ("fc2", nn.Linear(6, 5)), ("sig", nn.Sigmoid()),
        ("fc3", nn.Linear(5, 3)),
    ]))


class BranchyMLP(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        if h.sum() > -1e9:
            h = h * 1.0
        return self.fc2(h)


@seeded
def branchy_mlp() -> nn.Module:
    return BranchyMLP()


def example_input(model: nn.Module, batch: int = 3, seed: int = 1) -> torch.Tensor:
    """A deterministic input batch shaped for `model`."""
    generator = torch.Generator().manual_seed(seed)
    first = next(m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    if isinstance(first, nn.Conv2d):
        size = 8 if first.in_channels == 1 else 5
        return torch.rand(batch, first.in_channels, size, size, generator=generator)
    return torch.rand(batch, first.in_features, generator=generator)


ZOO = {
    "sequential_mlp": sequential_mlp,
    "custom_mlp": custom_mlp,
    "small_cnn": small_cnn,
    "conv_block": conv_block,
    "residual_mlp": residual_mlp,
    "inplace_relu_mlp": inplace_relu_mlp,
    "layernorm_gelu_mlp": layernorm_gelu_mlp,
    "branchy_mlp": branchy_mlp,
}
