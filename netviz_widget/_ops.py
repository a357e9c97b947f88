"""Which torch operations create units, pass them through, or regroup them."""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

PARAMETRIC = (nn.Linear, nn.Conv1d, nn.Conv2d)

ACTIVATION_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.PReLU,
    nn.LogSigmoid, nn.Softsign, nn.Tanhshrink,
)
NORM_MODULES = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d,
    nn.InstanceNorm2d,
)
DROPOUT_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
POOL_MODULES = (
    nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.Identity,
)

ACTIVATION_FUNCTIONS = {
    F.relu, F.relu_, torch.relu, torch.relu_, F.relu6, F.leaky_relu, F.elu, F.selu, F.celu,
    F.gelu, F.silu, F.mish, torch.tanh, F.tanh, torch.sigmoid, F.sigmoid, F.softplus,
    F.hardtanh, F.hardswish, F.hardsigmoid, F.logsigmoid, F.softsign,
}
ACTIVATION_METHODS = {"relu", "relu_", "tanh", "tanh_", "sigmoid", "sigmoid_"}
PASSTHROUGH_FUNCTIONS = {
    F.dropout, F.layer_norm, F.batch_norm, F.max_pool1d, F.max_pool2d, F.avg_pool1d,
    F.avg_pool2d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.softmax, F.log_softmax,
    torch.softmax, torch.log_softmax,
}
UNIT_WISE_FUNCTIONS = {F.dropout, F.layer_norm, F.batch_norm}
RESHAPE_FUNCTIONS = {torch.flatten, torch.reshape}
RESHAPE_METHODS = {"view", "reshape", "flatten"}
ADD_FUNCTIONS = {operator.add, operator.iadd, torch.add}


def is_unit_wise_module(module: nn.Module) -> bool:
    """True for modules that keep each unit a unit and belong to the layer before them
    (activations, normalisation, dropout)."""
    return isinstance(module, ACTIVATION_MODULES + NORM_MODULES + DROPOUT_MODULES)


def kind_of(module: nn.Module) -> str:
    """The layer kind name of a parametric module ("linear", "conv1d", "conv2d")."""
    return type(module).__name__.lower()
