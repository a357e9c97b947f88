"""The any-network zoo (issue 13): families of models beyond chains of layers, each with an input
batch of 3 (`FAMILIES`), including the sequence families of zoo_sequences.py."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tests.zoo import seeded
from tests.zoo_sequences import sequence_families

# ---------------------------------------------------------------------------------------------
# Families of issue 13 ("any network"), written after public definitions: torchvision's
# GoogLeNet Inception block, SqueezeNet Fire, DenseNet's concatenating layer, MobileNetV3's
# squeeze-excitation, GLU (Dauphin et al.), and Captum's own test models.


class Inception(nn.Module):
    """torchvision GoogLeNet's Inception block, scaled down: four branches concatenated."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool: int) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(cin, c1, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(cin, c3r, 1), nn.ReLU(), nn.Conv2d(c3r, c3, 3, padding=1))
        self.branch3 = nn.Sequential(nn.Conv2d(cin, c5r, 1), nn.ReLU(), nn.Conv2d(c5r, c5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(cin, pool, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return F.relu(torch.cat(outputs, 1))


class InceptionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.inception = Inception(4, 2, 2, 3, 1, 2, 2)
        self.head = nn.Linear(9, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.stem(x)), 2)
        x = self.inception(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Fire(nn.Module):
    """torchvision SqueezeNet's Fire block."""

    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], 1)


class FireNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, stride=2)
        self.fire = Fire(4, 2, 3, 3)
        self.classifier = nn.Conv2d(6, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fire(F.relu(self.conv(x)))
        return torch.flatten(F.adaptive_avg_pool2d(self.classifier(x), 1), 1)


class DenseNet(nn.Module):
    """DenseNet-style: every layer reads the concatenation of all earlier features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(1, 3, 3, padding=1)
        self.dense1 = nn.Conv2d(3, 2, 3, padding=1)
        self.dense2 = nn.Conv2d(5, 2, 3, padding=1)
        self.fc = nn.Linear(7 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv0(x))
        x = torch.cat([x, F.relu(self.dense1(x))], 1)
        x = torch.cat([x, F.relu(self.dense2(x))], 1)
        return self.fc(torch.flatten(F.avg_pool2d(x, 2), 1))


class TwoBranchMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(5, 4)
        self.right = nn.Linear(5, 3)
        self.head = nn.Linear(7, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([torch.relu(self.left(x)), torch.tanh(self.right(x))], dim=1))


class SplitMLP(nn.Module):
    """A split along the unit axis, a slice, and the pieces recombined by two heads."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(5, 8)
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(5, 4)
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc(x))
        first, second = torch.split(h, [3, 5], dim=1)
        mixed = torch.tanh(self.a(first)) + torch.tanh(self.b(second))
        return self.head(torch.cat([mixed[:, :2], h[:, 4:]], 1))


class GLU(nn.Module):
    """Gated linear unit: value * sigmoid(gate)."""

    def __init__(self) -> None:
        super().__init__()
        self.value = nn.Linear(4, 5)
        self.gate = nn.Linear(4, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.value(x) * torch.sigmoid(self.gate(x)))


class SqueezeExcitation(nn.Module):
    """torchvision's SqueezeExcitation (MobileNetV3): 1×1 convs on pooled channels → scale."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)
        scale = F.hardsigmoid(self.fc2(F.relu(self.fc1(scale))))
        return scale * x


class SENet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.se = SqueezeExcitation(4, 2)
        self.project = nn.Conv2d(4, 3, 1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(F.hardswish(self.conv(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.project(x), 1), 1))


class ConvDetails(nn.Module):
    """Dilation, padding='same', stride, groups and a reflect padding mode."""

    def __init__(self) -> None:
        super().__init__()
        self.dilated = nn.Conv2d(2, 4, 3, dilation=2, padding="same")
        self.strided = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, padding_mode="reflect")
        self.even = nn.Conv2d(4, 3, 2, padding="same")
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.strided(F.relu(self.dilated(x))))
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.even(x)), 1).flatten(1))


class Conv1dNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv1d(4, 4, 3, dilation=2, padding="same")
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(x.mean(dim=2))


class Conv3dNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 2 * 2 * 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.max_pool3d(F.relu(self.conv(x)), 2), 1))


class TwoHeads(nn.Module):
    """The logits concatenated from two heads: the output layer is a "concat" of both."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 5)
        self.head_a = nn.Linear(5, 2)
        self.head_b = nn.Linear(5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(x))
        return torch.cat([self.head_a(h), self.head_b(h)], dim=1)


def softmax_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.Softmax(dim=1))


class LogSoftmaxMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def binary_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1), nn.Sigmoid())


def one_logit_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))


def captum_convnet() -> nn.Module:
    from captum.testing.helpers.basic_models import BasicModel_ConvNet

    return BasicModel_ConvNet()


def captum_maxpool3d() -> nn.Module:
    from captum.testing.helpers.basic_models import BasicModel_ConvNet_MaxPool3d

    return BasicModel_ConvNet_MaxPool3d()


def captum_multilayer() -> nn.Module:
    from captum.testing.helpers.basic_models import BasicModel_MultiLayer

    return BasicModel_MultiLayer()


def captum_reused_linear() -> nn.Module:
    from captum.testing.helpers.basic_models import BasicModelWithReusedLinear

    return BasicModelWithReusedLinear()


class TopKMLP(nn.Module):
    """k-sparse activations (netviz_widget.layers.TopK): after a ReLU, and on raw (signed) values."""

    def __init__(self) -> None:
        super().__init__()
        from netviz_widget.layers import TopK

        self.fc1, self.relu, self.top1 = nn.Linear(5, 8), nn.ReLU(), TopK(3)
        self.fc2, self.top2, self.head = nn.Linear(8, 6), TopK(2), nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.top2(self.fc2(self.top1(self.relu(self.fc1(x))))))


def _rand(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(1))


# name: (builder, input batch of 3, logits twin builder for models ending in a probability
# function: the same weights without it, for Captum)
FAMILIES = {
    "inception": (seeded(InceptionNet), lambda: _rand(3, 1, 8, 8)),
    "fire": (seeded(FireNet), lambda: _rand(3, 2, 9, 9)),
    "densenet": (seeded(DenseNet), lambda: _rand(3, 1, 8, 8)),
    "two_branch_mlp": (seeded(TwoBranchMLP), lambda: _rand(3, 5)),
    "split_mlp": (seeded(SplitMLP), lambda: _rand(3, 5)),
    "glu": (seeded(GLU), lambda: _rand(3, 4)),
    "squeeze_excitation": (seeded(SENet), lambda: _rand(3, 2, 6, 6)),
    "conv_details": (seeded(ConvDetails), lambda: _rand(3, 2, 9, 9)),
    "conv1d": (seeded(Conv1dNet), lambda: _rand(3, 3, 10)),
    "conv3d": (seeded(Conv3dNet), lambda: _rand(3, 1, 4, 4, 4)),
    "two_heads": (seeded(TwoHeads), lambda: _rand(3, 4)),
    "softmax_mlp": (seeded(softmax_mlp), lambda: _rand(3, 4)),
    "log_softmax_mlp": (seeded(LogSoftmaxMLP), lambda: _rand(3, 4)),
    "binary_mlp": (seeded(binary_mlp), lambda: _rand(3, 4)),
    "one_logit_mlp": (seeded(one_logit_mlp), lambda: _rand(3, 4)),
    "captum_convnet": (seeded(captum_convnet), lambda: _rand(3, 1, 10, 10)),
    "captum_maxpool3d": (seeded(captum_maxpool3d), lambda: _rand(3, 1, 10, 10, 10)),
    "captum_multilayer": (seeded(captum_multilayer), lambda: _rand(3, 3)),
    "captum_reused_linear": (seeded(captum_reused_linear), lambda: _rand(3, 3)),
    "topk_mlp": (seeded(TopKMLP), lambda: _rand(3, 5)),
}


FAMILIES.update(sequence_families(seeded, _rand))
