"""Recurrent classifiers (nn.LSTM / nn.GRU / nn.RNN) and two references for them, written
independently of the engine:

- `split_twin(model)`: the same model with its recurrent module replaced by one single-layer
  module of the same family per layer (weights copied, each wrapped so that it returns its
  output sequence), so Captum's LayerConductance can measure every layer's output sequence;
- `cell_loop_twin(model, layer, unit, value)`: the same model with its recurrent module replaced by a
  plain Python loop over torch's LSTMCell / GRUCell / RNNCell with the same weights, where
  hidden unit `unit` of layer `layer` is set to `value` at every step (what the next step reads).

Every model reads a sequence as (batch, features, steps) and moves the features last, as the
engine reads float sequences (a token-id model embeds first).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class LastStep(nn.Module):
    """LSTM, batch_first, out[:, -1] → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.head(out[:, -1])


class MeanGRU(nn.Module):
    """GRU without biases, batch_first, out.mean(1) → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(3, 5, batch_first=True, bias=False)
        self.head = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.head(out.mean(1))


class TimeMajorStacked(nn.Module):
    """Two-layer LSTM, time-major (batch_first=False), `_, (h, _) = lstm(x)`, h[-1] → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 4, num_layers=2)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.rnn(x.permute(2, 0, 1))
        return self.head(h[-1])


class BidirectionalGRU(nn.Module):
    """Bidirectional GRU, batch_first, out[:, -1] (both directions) → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(3, 4, batch_first=True, bidirectional=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.head(torch.relu(out[:, -1]))


class StackedReluRNN(nn.Module):
    """Two-layer Elman RNN with ReLU, batch_first, `out, h = rnn(x)`, h[-1] → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 5, num_layers=2, nonlinearity="relu", batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x.transpose(1, 2))
        return self.head(h[-1])


class TimeMajorMean(nn.Module):
    """Bidirectional LSTM, time-major, out.mean(0) → Linear → ReLU → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 3, bidirectional=True)
        self.fc = nn.Linear(6, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.permute(2, 0, 1))
        return self.head(torch.relu(self.fc(out.mean(0))))


class EmbeddedLSTM(nn.Module):
    """Token ids → nn.Embedding (padding_idx 0) → LSTM → out[:, -1] → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(11, 4, padding_idx=0)
        self.rnn = nn.LSTM(4, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out[:, -1])


FAMILIES = {
    "lstm_last_step": LastStep, "gru_mean_no_bias": MeanGRU, "lstm_2_layers_time_major_h_n": TimeMajorStacked,
    "gru_bidirectional": BidirectionalGRU, "rnn_relu_2_layers_h_n": StackedReluRNN,
    "lstm_bidirectional_time_major_mean": TimeMajorMean, "lstm_token_ids": EmbeddedLSTM,
}


def build(name: str, batch: int = 3, steps: int = 6) -> tuple[nn.Module, torch.Tensor]:
    """A family's model (seeded, eval mode) and an input batch."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = FAMILIES[name]().eval()
        if isinstance(model, EmbeddedLSTM):
            x = torch.randint(1, 11, (batch, steps))
        else:
            x = torch.randn(batch, 3, steps)
    return model, x


def layer_names(rnn: nn.RNNBase, name: str = "rnn") -> list[str]:
    """The unit layers NetViz draws for `rnn` (one per layer of the module)."""
    return [name] if rnn.num_layers == 1 else [f"{name}.l{k}" for k in range(rnn.num_layers)]


# ------------------------------------------------------------------------------ split twin
class _Sequence(nn.Module):
    """A single-layer batch-first module that returns its output sequence only."""

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class _Split(nn.Module):
    """A multi-layer module as a chain of single-layer ones; returns (out, h_n[, c_n]) like it
    (c_n: zeros, never read by these models)."""

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        self.batch_first, self.mode = rnn.batch_first, rnn.mode
        self.hidden, self.bidirectional = rnn.hidden_size, rnn.bidirectional
        family = type(rnn)
        layers = []
        for k in range(rnn.num_layers):
            size = rnn.input_size if k == 0 else rnn.hidden_size * (2 if rnn.bidirectional else 1)
            kwargs = {"nonlinearity": rnn.nonlinearity} if family is nn.RNN else {}
            single = family(size, rnn.hidden_size, batch_first=True, bias=rnn.bias,
                            bidirectional=rnn.bidirectional, **kwargs)
            for suffix in ("", "_reverse") if rnn.bidirectional else ("",):
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    if hasattr(rnn, f"{kind}_l{k}{suffix}"):
                        getattr(single, f"{kind}_l0{suffix}").data.copy_(getattr(rnn, f"{kind}_l{k}{suffix}"))
            layers.append(_Sequence(single))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor):
        x = x if self.batch_first else x.transpose(0, 1)
        finals = []
        for layer in self.layers:
            x = layer(x)
            finals.append(x[:, -1, :self.hidden])
            if self.bidirectional:
                finals.append(x[:, 0, self.hidden:])
        h_n = torch.stack(finals)
        out = x if self.batch_first else x.transpose(0, 1)
        return (out, (h_n, torch.zeros_like(h_n))) if self.mode == "LSTM" else (out, h_n)


def split_twin(model: nn.Module) -> nn.Module:
    twin = copy.deepcopy(model)
    twin.rnn = _Split(model.rnn)
    return twin.eval()


# ------------------------------------------------------------------------------ cell loop
class _CellLoop(nn.Module):
    """The module as a Python loop over torch's cells, hidden unit `unit` of layer `zero_layer`
    set to `value` at every step (the unit index counts the forward direction's units first)."""

    def __init__(self, rnn: nn.RNNBase, zero_layer: int, unit: int, value: float = 0.0) -> None:
        super().__init__()
        self.rnn, self.zero_layer, self.unit, self.value = rnn, zero_layer, unit, value

    def _cell(self, k: int, suffix: str) -> nn.Module:
        rnn = self.rnn
        size = rnn.input_size if k == 0 else rnn.hidden_size * (2 if rnn.bidirectional else 1)
        if rnn.mode == "LSTM":
            cell = nn.LSTMCell(size, rnn.hidden_size, bias=rnn.bias)
        elif rnn.mode == "GRU":
            cell = nn.GRUCell(size, rnn.hidden_size, bias=rnn.bias)
        else:
            cell = nn.RNNCell(size, rnn.hidden_size, bias=rnn.bias, nonlinearity=rnn.nonlinearity)
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            if hasattr(rnn, f"{kind}_l{k}{suffix}"):
                getattr(cell, kind).data.copy_(getattr(rnn, f"{kind}_l{k}{suffix}"))
        return cell

    def forward(self, x: torch.Tensor):
        rnn = self.rnn
        x = x if rnn.batch_first else x.transpose(0, 1)
        batch, steps, _ = x.shape
        finals, cells_out = [], []
        for k in range(rnn.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse") if rnn.bidirectional else ("",)):
                cell = self._cell(k, suffix)
                h = x.new_zeros(batch, rnn.hidden_size)
                c = x.new_zeros(batch, rnn.hidden_size)
                states = [None] * steps
                for t in range(steps) if d == 0 else reversed(range(steps)):
                    if rnn.mode == "LSTM":
                        h, c = cell(x[:, t], (h, c))
                    else:
                        h = cell(x[:, t], h)
                    if k == self.zero_layer and self.unit // rnn.hidden_size == d:
                        h = h.clone()
                        h[:, self.unit % rnn.hidden_size] = self.value
                    states[t] = h
                outputs.append(torch.stack(states, 1))
                finals.append(h)
                cells_out.append(c)
            x = torch.cat(outputs, 2)
        out = x if rnn.batch_first else x.transpose(0, 1)
        h_n = torch.stack(finals)
        return (out, (h_n, torch.stack(cells_out))) if rnn.mode == "LSTM" else (out, h_n)


def cell_loop_twin(model: nn.Module, layer: int, unit: int, value: float = 0.0) -> nn.Module:
    twin = copy.deepcopy(model)
    twin.rnn = _CellLoop(copy.deepcopy(model.rnn), layer, unit, value)
    return twin.eval()
