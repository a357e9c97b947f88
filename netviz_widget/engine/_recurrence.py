"""Recurrent layers (nn.LSTM, nn.GRU, nn.RNN) unrolled step by step from the module's live
parameters, so that an edit of the hidden state at one step is what the next step reads.

The graph builder (`graph/_recurrent_rules`) replaces a call of the module in the traced copy by
two modules per layer of the module:

- `RecurrentInput`: the input currents ``u_t = W_ih x_t + b_ih`` of every step and gate (both
  directions), as (batch, rows, steps) with rows ordered (direction, gate, hidden unit) as in
  PyTorch's ``weight_ih_l{k}`` / ``weight_ih_l{k}_reverse``;
- `RecurrentLayer`: the recurrence over those currents with ``weight_hh_l{k}`` (PyTorch's gate
  equations), returning the hidden states of every step as (batch, directions·hidden, steps)
  (the units on axis 1, time as positions). It is its own probe: an edit (an intervention)
  is applied to ``h_t`` at every step before the next step reads it, and the recorded tensor
  is the sequence the rest of the network reads (its gradient is the downstream gradient, so
  its layer conductance equals Captum's `LayerConductance` of the module's output sequence).

Parameters are read from the module at every call (never copied), so training, a
`load_state_dict` or a swapped parameter is seen at once.
"""

from __future__ import annotations

import torch
from torch import nn

from netviz_widget.engine._probes import _Probe

__all__ = ["RecurrentInput", "RecurrentLayer", "input_weight_matrix", "run_unrolled"]

RECURRENT_MODULES = (nn.LSTM, nn.GRU, nn.RNN)


def gates_of(rnn: nn.RNNBase) -> int:
    """Rows of W_ih per hidden unit: 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n), 1 (RNN)."""
    return {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)


def directions_of(rnn: nn.RNNBase) -> int:
    return 2 if rnn.bidirectional else 1


def _parameter(rnn: nn.RNNBase, kind: str, layer: int, direction: int) -> torch.Tensor | None:
    suffix = "_reverse" if direction else ""
    return getattr(rnn, f"{kind}_l{layer}{suffix}", None)


def stacked_input_weight(rnn: nn.RNNBase, layer: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(W_ih of every direction stacked, (directions·gates·hidden, inputs); b_ih or None)."""
    directions = range(directions_of(rnn))
    weight = torch.cat([_parameter(rnn, "weight_ih", layer, d) for d in directions])
    biases = [_parameter(rnn, "bias_ih", layer, d) for d in directions]
    return weight, None if biases[0] is None else torch.cat(biases)


def input_weight_matrix(rnn: nn.RNNBase, layer: int):
    """The (directions·hidden, inputs) unit weight matrix drawn for the input→hidden edges of
    layer `layer`: per (hidden unit j, input i) the signed L2 norm over j's gate rows of W_ih
    (the sign of their sum)."""
    weight, _ = stacked_input_weight(rnn, layer)
    weight = weight.detach().float().cpu()
    d, g, h = directions_of(rnn), gates_of(rnn), rnn.hidden_size
    per_gate = weight.reshape(d, g, h, -1)
    norm = per_gate.pow(2).sum(1).sqrt()
    signed = torch.where(per_gate.sum(1) < 0, -norm, norm)
    return signed.reshape(d * h, -1).numpy().copy()


def layer_index(name: str) -> int:
    """The layer of the module that a unit layer called `name` is ('lstm' → 0, 'lstm.l2' → 2,
    'lstm.l1@2' → 1)."""
    base = name.split("@", 1)[0]
    tail = base.rsplit(".", 1)[-1]
    return int(tail[1:]) if len(tail) > 1 and tail[0] == "l" and tail[1:].isdigit() else 0


class RecurrentInput(nn.Module):
    """u_t = W_ih x_t + b_ih for every step, (batch, directions·gates·hidden, steps).

    `units_first`: the input arrives as (batch, features, steps) (a previous recurrent layer)
    rather than (batch, steps, features)."""

    def __init__(self, rnn: nn.RNNBase, layer: int, units_first: bool) -> None:
        super().__init__()
        object.__setattr__(self, "rnn", rnn)  # not a child: its parameters stay the user's
        self.layer = layer
        self.units_first = units_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x if self.units_first else x.movedim(-1, 1)
        weight, bias = stacked_input_weight(self.rnn, self.layer)
        current = torch.einsum("ri,bit->brt", weight, x)
        return current if bias is None else current + bias[:, None]


def _step(mode: str, u: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None,
          w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step of PyTorch's equations from the input current u = W_ih x + b_ih."""
    recurrent = h @ w_hh.t()
    if b_hh is not None:
        recurrent = recurrent + b_hh
    if mode == "LSTM":
        i, f, g, o = (u + recurrent).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if mode == "GRU":
        u_r, u_z, u_n = u.chunk(3, 1)
        h_r, h_z, h_n = recurrent.chunk(3, 1)
        r, z = torch.sigmoid(u_r + h_r), torch.sigmoid(u_z + h_z)
        n = torch.tanh(u_n + r * h_n)
        return (1 - z) * n + z * h, None
    pre = u + recurrent
    return (torch.tanh(pre) if mode == "RNN_TANH" else torch.relu(pre)), None


class RecurrentLayer(_Probe):
    """The recurrence of one layer over its input currents; its own probe (see module doc)."""

    def __init__(self, rnn: nn.RNNBase, layer: int, name: str) -> None:
        super().__init__(name, 1)
        object.__setattr__(self, "rnn", rnn)
        self.layer = layer
        self.layer_name = name  # the unit layer's name in the graph

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        sequence, _, _ = self.run(current)
        if self.store is not None:
            self.store[self.key] = sequence
            return sequence.clone()  # what the rest reads: its gradient is the downstream one
        return sequence

    def run(self, current: torch.Tensor) -> tuple[torch.Tensor, list, list]:
        """(hidden states (batch, directions·hidden, steps), final h and final c per direction)."""
        rnn = self.rnn
        batch, _, steps = current.shape
        hidden, directions = rnn.hidden_size, directions_of(rnn)
        current = current.reshape(batch, directions, -1, steps)
        sequences, finals, cells = [], [], []
        for d in range(directions):
            w_hh = _parameter(rnn, "weight_hh", self.layer, d)
            b_hh = _parameter(rnn, "bias_hh", self.layer, d)
            h = current.new_zeros(batch, hidden)
            c = current.new_zeros(batch, hidden) if rnn.mode == "LSTM" else None
            states: list[torch.Tensor] = [h] * steps
            for t in (range(steps) if d == 0 else reversed(range(steps))):
                h, c = _step(rnn.mode, current[:, d, :, t], h, c, w_hh, b_hh)
                if self.edit is not None:
                    h = self._edited(h, d, t, directions, steps)
                states[t] = h
            sequences.append(torch.stack(states, -1))
            finals.append(h)
            cells.append(c)
        return torch.cat(sequences, 1), finals, cells

    def _edited(self, h: torch.Tensor, direction: int, t: int, directions: int,
                steps: int) -> torch.Tensor:
        """h_t after the edit: the edit sees the layer's activation shape (batch, units, steps)
        with this step's values in column t (modes act per unit and position)."""
        hidden = h.shape[1]
        rows = slice(direction * hidden, (direction + 1) * hidden)
        full = h.new_zeros(h.shape[0], directions * hidden, steps)
        full[:, rows, :] = h[:, :, None]
        return self.edit(full)[:, rows, t]


def run_unrolled(rnn: nn.RNNBase, x: torch.Tensor) -> tuple[torch.Tensor, object]:
    """The module's own output `(out, h_n)` (GRU, RNN) or `(out, (h_n, c_n))` (LSTM) for a
    batch-first or time-major input, computed by the unrolled layers (for checks)."""
    source = x if rnn.batch_first else x.transpose(0, 1)
    finals, cells = [], []
    for layer in range(rnn.num_layers):
        current = RecurrentInput(rnn, layer, units_first=layer > 0)(source)
        source, final, cell = RecurrentLayer(rnn, layer, "check").run(current)
        finals += final
        cells += cell
    out = source.movedim(1, -1) if rnn.batch_first else source.permute(2, 0, 1)
    h_n = torch.stack(finals)
    return (out, (h_n, torch.stack(cells))) if rnn.mode == "LSTM" else (out, h_n)


def edge_conductance(layer: RecurrentLayer, x_in: torch.Tensor, g_current: torch.Tensor,
                     batch: int, n_steps: int) -> torch.Tensor:
    """(batch, directions·hidden, inputs) edge conductance of the input→hidden block.

    e_ji = Σ_k Σ_t Σ_{r ∈ gate rows of j} ∂F/∂u_{r,t}(α_{k-1}) · W_ih[r, i] · Δx_{i,t}(α_k),
    where ∂F/∂u is the total derivative through the unrolled recurrence. Because x_t reaches F
    only through u_t = W_ih x_t + b_ih, Σ_j e_ji is exactly the conductance of input unit i into
    this layer; Σ_i e_ji is the conductance of the input currents into j's gates.
    """
    rnn = layer.rnn
    weight, _ = stacked_input_weight(rnn, layer.layer)
    dx = (x_in[batch:] - x_in[:-batch]).reshape(n_steps, batch, x_in.shape[1], -1)
    g_u = g_current[:-batch].reshape(n_steps, batch, g_current.shape[1], -1)
    edges = torch.einsum("kbrt,kbit->bri", g_u, dx) * weight.detach()
    d, g, h = directions_of(rnn), gates_of(rnn), rnn.hidden_size
    return edges.reshape(batch, d, g, h, -1).sum(2).reshape(batch, d * h, -1)
