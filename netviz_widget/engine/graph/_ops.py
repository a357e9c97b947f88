"""Which torch operations create units, pass them through, regroup them, or are refused."""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

PARAMETRIC = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

ACTIVATION_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.PReLU,
    nn.LogSigmoid, nn.Softsign, nn.Tanhshrink,
)
NORM_MODULES = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
    nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
)
DROPOUT_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
POOL_MODULES = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.Identity,
)

ACTIVATION_FUNCTIONS = {
    F.relu, F.relu_, torch.relu, torch.relu_, F.relu6, F.leaky_relu, F.elu, F.selu, F.celu,
    F.gelu, F.silu, F.mish, torch.tanh, F.tanh, torch.sigmoid, F.sigmoid, F.softplus,
    F.hardtanh, F.hardswish, F.hardsigmoid, F.logsigmoid, F.softsign,
}
ACTIVATION_METHODS = {"relu", "relu_", "tanh", "tanh_", "sigmoid", "sigmoid_"}
UNIT_WISE_FUNCTIONS = {F.dropout, F.layer_norm, F.batch_norm}
RESHAPE_FUNCTIONS = {torch.flatten, torch.reshape}
RESHAPE_METHODS = {"view", "reshape", "flatten"}
ADD_FUNCTIONS = {operator.add, operator.iadd, torch.add}
ADD_METHODS = {"add", "add_"}
MUL_FUNCTIONS = {operator.mul, operator.imul, torch.mul}
MUL_METHODS = {"mul", "mul_"}
CAT_FUNCTIONS = {torch.cat, torch.concat, torch.concatenate}
SPLIT_FUNCTIONS = {torch.split, torch.chunk, torch.tensor_split}
SPLIT_METHODS = {"split", "chunk", "tensor_split"}
# operations that move or reduce axes: they keep the units only if they leave axis 1 alone
AXIS_METHODS = {"permute", "transpose", "movedim", "swapaxes", "swapdims", "unsqueeze", "squeeze"}
AXIS_FUNCTIONS = {torch.permute, torch.transpose, torch.movedim, torch.swapaxes, torch.unsqueeze,
                  torch.squeeze}
REDUCE_METHODS = {"mean", "sum", "amax", "amin", "max", "min", "prod", "norm", "std", "var"}
REDUCE_FUNCTIONS = {torch.mean, torch.sum, torch.amax, torch.amin, torch.max, torch.min,
                    torch.prod, torch.norm, torch.std, torch.var}

# a final probability function: the logits before it are explained
FINAL_MODULES = {nn.Softmax: "softmax", nn.LogSoftmax: "log_softmax", nn.Sigmoid: "sigmoid"}
FINAL_FUNCTIONS = {F.softmax: "softmax", torch.softmax: "softmax", F.log_softmax: "log_softmax",
                   torch.log_softmax: "log_softmax", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid"}
FINAL_METHODS = {"softmax": "softmax", "log_softmax": "log_softmax", "sigmoid": "sigmoid"}

_UNTRACED_RECURRENCE = ("a recurrent layer is drawn only in a model torch.fx can trace (packed "
                        "sequences and data-dependent control flow cannot be traced)")
_CELL = ("a recurrent cell called step by step (a Python loop) is not drawn as units; nn.LSTM / "
         "nn.GRU / nn.RNN over the whole sequence are")

# families that are recognised and refused with a specific explanation
_ATTENTION = ("attention heads are drawn for self-attention nn.MultiheadAttention (without "
              "add_bias_kv / add_zero_attn), nn.TransformerEncoderLayer and nn.TransformerEncoder "
              "(with their own forward) in a model torch.fx can trace; not this one")
_DECODER = ("decoder layers and nn.Transformer (cross-attention) are not drawn as units yet; "
            "encoder layers are")
REFUSED_MODULES: dict[type, str] = {
    nn.MultiheadAttention: _ATTENTION,
    nn.TransformerEncoderLayer: _ATTENTION,
    nn.TransformerDecoderLayer: _DECODER,
    nn.TransformerEncoder: _ATTENTION,
    nn.TransformerDecoder: _DECODER,
    nn.Transformer: _DECODER,
    # (traced LSTM / GRU / RNN calls are unrolled before this list is read: see _recurrent_rules)
    nn.LSTM: _UNTRACED_RECURRENCE,
    nn.GRU: _UNTRACED_RECURRENCE,
    nn.RNN: _UNTRACED_RECURRENCE,
    nn.LSTMCell: _CELL,
    nn.GRUCell: _CELL,
    nn.RNNCell: _CELL,
    nn.Embedding: "an nn.Embedding is drawn only where the model's token-id input goes straight "
                  "into it (as the input layer)",
    nn.EmbeddingBag: "token inputs into an nn.EmbeddingBag are not supported yet",
    nn.ConvTranspose1d: "transposed convolutions are not drawn as units yet",
    nn.ConvTranspose2d: "transposed convolutions are not drawn as units yet",
    nn.ConvTranspose3d: "transposed convolutions are not drawn as units yet",
    nn.Bilinear: "bilinear layers (two inputs) are not drawn as units yet",
}

SUPPORTED = ("Linear and Conv1d/2d/3d layers (units: features / channels), elementwise "
             "activations, normalisation, dropout and pooling, flatten/view, residual additions, "
             "concatenation and splits along the unit axis, and multiplicative gates"
             "; self-attention heads (nn.MultiheadAttention, nn.TransformerEncoder[Layer]); "
             "recurrent hidden units (nn.LSTM, nn.GRU, nn.RNN)")


# user modules registered as unit-preserving activations (e.g. netviz_widget.layers.TopK): the fx
# tracer keeps them whole (one node, like nn.ReLU) instead of tracing the operations inside
UNIT_WISE_MODULES: list[type] = []


def register_unit_wise_module(cls: type) -> type:
    """Treat modules of class `cls` as a unit-preserving activation: the same units in and out
    (shape unchanged), drawn as part of the layer before them, traced as one opaque call. The
    module's own forward runs unchanged (its gradient is what attribution uses). Returns `cls`."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        from netviz_widget.errors import InputError
        raise InputError("cls", "a subclass of torch.nn.Module", cls)
    if cls not in UNIT_WISE_MODULES:
        UNIT_WISE_MODULES.append(cls)
    return cls


def is_unit_wise_module(module: nn.Module) -> bool:
    """True for modules that keep each unit a unit and belong to the layer before them
    (activations, normalisation, dropout, registered unit-preserving modules)."""
    return isinstance(module, ACTIVATION_MODULES + NORM_MODULES + DROPOUT_MODULES
                      + tuple(UNIT_WISE_MODULES))


def is_registered_leaf(module: nn.Module) -> bool:
    """True for a module of a registered unit-preserving class (traced as one call)."""
    return isinstance(module, tuple(UNIT_WISE_MODULES))


def has_own_parameters(module: nn.Module) -> bool:
    """True when `module` itself (not a child) holds a parameter."""
    return any(True for _ in module.parameters(recurse=False))


def kind_of(module: nn.Module) -> str:
    """The layer kind name of a parametric module ("linear", "conv1d", "conv2d", "conv3d"; a
    subclass, such as nn.MultiheadAttention's out_proj, is its base class's kind)."""
    return next(cls.__name__.lower() for cls in PARAMETRIC if isinstance(module, cls))


def refusal(module: nn.Module) -> str | None:
    """Why a module family is refused, or None when it is not in the refused list."""
    for family, reason in REFUSED_MODULES.items():
        if isinstance(module, family):
            return reason
    return None


def final_function(node_op: str, target: object, module: nn.Module | None) -> str | None:
    """"softmax", "log_softmax" or "sigmoid" when a node applies that function, else None."""
    if node_op == "call_module" and module is not None:
        return next((name for cls, name in FINAL_MODULES.items() if type(module) is cls), None)
    if node_op == "call_function":
        return FINAL_FUNCTIONS.get(target)
    if node_op == "call_method":
        return FINAL_METHODS.get(target)
    return None
