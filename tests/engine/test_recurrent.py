"""Issue 13 item 5: nn.LSTM / nn.GRU / nn.RNN classifiers, one unit layer per layer of the module
(hidden units; time as positions), unrolled from the module's live parameters so that an
intervention on a hidden unit acts at every step and feeds the recurrence. Checked against the
module itself, Captum, a plain loop over torch's cells, and the completeness identity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from captum.attr import LayerConductance
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget.engine._recurrence import run_unrolled
from netviz_widget.engine.interventions import make_intervention
from tests.captum_ref import explainer_input_ig
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo_recurrent import FAMILIES, build, cell_loop_twin, layer_names, split_twin

N_STEPS = 6


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    model, x = build(request.param)
    before = fingerprint(model)
    ex = Explainer(model, x, n_steps=N_STEPS)
    yield request.param, model, x, ex
    assert_unchanged(model, before)


def _forward(ex, twin):
    """(forward, inputs) for Captum: the model on the engine's inputs (token ids: from the
    embedding's output on, as the engine explains them)."""
    if ex.tokens is None:
        return twin, ex.inputs

    def from_embedding(embedded):
        out, _ = twin.rnn(embedded.movedim(1, -1))
        return twin.head(out[:, -1])
    return from_embedding, ex.inputs


@pytest.mark.parametrize("rnn", [
    nn.LSTM(3, 5, batch_first=True), nn.LSTM(3, 4, num_layers=3, bidirectional=True),
    nn.LSTM(3, 4, num_layers=2, bias=False, batch_first=True), nn.GRU(3, 5, num_layers=2),
    nn.GRU(3, 4, bidirectional=True, batch_first=True, bias=False),
    nn.RNN(3, 5, nonlinearity="relu"), nn.RNN(3, 4, num_layers=2, bidirectional=True, batch_first=True),
], ids=lambda r: repr(r))
def test_the_unrolled_layers_equal_the_module_output_h_n_and_c_n(rnn):
    torch.manual_seed(0)
    x = torch.randn(3, 7, 3)
    with torch.no_grad():
        expected, got = rnn(x), run_unrolled(rnn, x)
    flatten = lambda r: [r[0], *(r[1] if isinstance(r[1], tuple) else (r[1],))]  # noqa: E731
    for e, g in zip(flatten(expected), flatten(got), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


def test_each_layer_of_the_module_is_a_unit_layer_with_input_to_hidden_edges(family):
    _name, model, _, ex = family
    names = layer_names(model.rnn)
    directions = 2 if model.rnn.bidirectional else 1
    steps = ex.inputs.shape[-1]
    for k, layer_name in enumerate(names):
        layer = ex.graph.layer(layer_name)
        assert layer.kind == {"LSTM": "lstm", "GRU": "gru"}.get(model.rnn.mode, "rnn")
        assert layer.shape == (directions * model.rnn.hidden_size, steps)
        (block,) = ex.graph.blocks_into(layer_name)
        assert block.kind == "recurrent" and block.module == "rnn"
        assert block.src == ("input" if k == 0 else names[k - 1])
    assert not any(b.src == b.dst for b in ex.graph.blocks)  # no hidden→hidden self edges
    with torch.no_grad():  # the traced, unrolled copy computes the model's own logits
        np.testing.assert_allclose(ex.evaluate([]), model(ex.tokens if ex.tokens is not None
                                                          else ex.inputs).numpy(), rtol=1e-5, atol=1e-6)


def test_input_ig_equals_captum(family):
    _, model, _, ex = family
    expected = explainer_input_ig(model, ex, N_STEPS + 1)
    got = ex.snapshot().input_scores
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


def _captum(forward, module, inputs, target):
    return LayerConductance(forward, module).attribute(
        inputs, baselines=torch.zeros_like(inputs), target=target, n_steps=N_STEPS).detach()


def test_every_layer_conductance_equals_captum(family):
    """A recurrent layer's score is the conductance of its output sequence (what the rest of the
    network reads), summed over time: Captum's LayerConductance of the equivalent single-layer
    module's output (h_n readouts read that sequence's last step)."""
    name, model, _, ex = family
    snap = ex.snapshot()
    twin = split_twin(model)
    forward, inputs = _forward(ex, twin)
    for k, layer_name in enumerate(layer_names(model.rnn)):
        expected = _captum(forward, twin.rnn.layers[k], inputs, ex.target).sum(1).numpy()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(snap.node_scores[layer_name], expected, rtol=1e-5,
                                   atol=1e-6 * scale, err_msg=f"{name}: {layer_name}")
    forward, inputs = _forward(ex, model)
    for module_name in ("fc", "head"):
        if hasattr(model, module_name):
            expected = _captum(forward, getattr(model, module_name), inputs, ex.target).numpy()
            np.testing.assert_allclose(snap.node_scores[module_name], expected, rtol=1e-5,
                                       atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("name", ["lstm_last_step", "lstm_2_layers_time_major_h_n", "gru_bidirectional"])
def test_every_path_goes_through_each_recurrent_layer_so_it_adds_up_to_the_output_change(name):
    model, x = build(name)
    ex = Explainer(model, x, n_steps=200)
    snap = ex.snapshot()
    for layer_name in layer_names(model.rnn):
        np.testing.assert_allclose(snap.node_scores[layer_name].sum(1), snap.output_change,
                                   rtol=0.02, atol=1e-3, err_msg=layer_name)


def test_recurrent_edges_split_the_source_conductance_and_sum_to_the_input_currents(family):
    """Edge (i → j) = Σ_k Σ_t Σ_{gate rows r of j} ∂F/∂u_{r,t} · W_ih[r, i] · Δx_{i,t} with the
    total derivative through the recurrence: summed over j it is source unit i's conductance
    (x_t reaches F only through u_t = W_ih x_t + b_ih); summed over i it is the conductance of
    the input currents into j's gates (both measured by Captum on the traced copy)."""
    name, model, _, ex = family
    snap = ex.snapshot()
    gm, probes = ex.graph.runner.gm, ex.graph.runner.probes
    rnn = model.rnn
    directions, gates = (2 if rnn.bidirectional else 1), {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)
    for block in ex.graph.blocks:
        if block.kind != "recurrent":
            continue
        edges = snap.edge_scores[(block.src, block.dst)]
        source = _captum(gm, probes[block.input_key], ex.inputs, ex.target)
        if probes[block.input_key].axis == -1:  # token-wise (batch, steps, features)
            source = source.movedim(-1, 1)
        source = source.reshape(source.shape[0], source.shape[1], -1).sum(-1).numpy()
        np.testing.assert_allclose(edges.sum(1), source, rtol=1e-4, atol=1e-5 * np.abs(source).max(),
                                   err_msg=f"{name}: out of {block.src}")
        currents = _captum(gm, probes[block.output_key], ex.inputs, ex.target).sum(-1)
        currents = currents.reshape(-1, directions, gates, rnn.hidden_size).sum(2)
        currents = currents.reshape(currents.shape[0], -1).numpy()
        np.testing.assert_allclose(edges.sum(2), currents, rtol=1e-4,
                                   atol=1e-5 * np.abs(currents).max(), err_msg=f"{name}: into {block.dst}")
        if block.src != "input":  # the previous layer feeds only this one: its own score
            np.testing.assert_allclose(edges.sum(1), snap.node_scores[block.src], rtol=1e-4,
                                       atol=1e-5 * np.abs(source).max())


def _inputs(model, ex):
    return ex.tokens if ex.tokens is not None else ex.inputs


@pytest.mark.parametrize("mode, value", [("zero", None), ("clamp", 0.7)])
def test_a_hidden_unit_set_at_every_step_equals_a_loop_over_torch_cells(family, mode, value):
    name, model, _, ex = family
    clean = ex.snapshot()
    names = layer_names(model.rnn)
    for k, layer_name in enumerate(names):
        n_units = ex.graph.layer(layer_name).n_units
        effects = [np.abs(ex.evaluate([make_intervention(ex.graph, layer_name, [u], "zero")])
                          - clean.logits).max() for u in range(n_units)]
        unit = int(np.argmax(effects))
        got = ex.evaluate([make_intervention(ex.graph, layer_name, [unit], mode, value)])
        with torch.no_grad():
            expected = cell_loop_twin(model, k, unit, value or 0.0)(_inputs(model, ex)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=f"{name}: {layer_name}")
        assert not np.allclose(got, clean.logits)
    changed = ex.intervene(names[0], [0], mode, value=value)
    assert not np.array_equal(changed.logits, clean.logits)
    assert np.all(changed.node_scores[names[0]][:, 0] == 0)  # a set unit conducts nothing
    ex.undo()
    ex._cache.clear()
    assert ex.snapshot().equals(clean)


def test_mean_ablation_replaces_each_step_by_its_reference_mean():
    model, x = build("lstm_last_step", batch=4)
    reference = build("lstm_last_step", batch=16)[1]
    ex = Explainer(model, x, reference=reference, n_steps=2)
    got = ex.evaluate([make_intervention(ex.graph, "rnn", [2], "mean", reference=reference)])
    mean = torch.stack([run_unrolled(model.rnn, r.T[None])[0][0] for r in reference]).mean(0)

    class Fixed(nn.Module):  # unit 2 replaced by its reference mean at each step, in a cell loop
        def forward(self, seq):
            cell = nn.LSTMCell(3, 5)
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, kind).data.copy_(getattr(model.rnn, f"{kind}_l0"))
            h = c = seq.new_zeros(seq.shape[0], 5)
            for t in range(seq.shape[1]):
                h, c = cell(seq[:, t], (h, c))
                h = h.clone()
                h[:, 2] = mean[t, 2]
            return h

    with torch.no_grad():
        expected = model.head(Fixed()(x.transpose(1, 2))).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_explain_circuit_and_the_view_run(family):
    _, model, _, ex = family
    assert ex.explain().markdown
    assert ex.circuit().units
    ex.neuron(layer_names(model.rnn)[-1], 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = NetViz(model, _inputs(model, ex), n_steps=2)
    assert view.explainer.graph.layer(layer_names(model.rnn)[0]).kind in ("lstm", "gru", "rnn")


def test_the_engine_reads_the_live_weights():
    model, x = build("gru_bidirectional")
    ex = Explainer(model, x, n_steps=2)
    before = ex.snapshot()
    with torch.no_grad():
        model.rnn.weight_hh_l0_reverse.mul_(-2.0)
        model.rnn.weight_ih_l0.add_(0.3)
        expected = model(x).numpy()
    after = ex.snapshot()
    np.testing.assert_allclose(after.logits, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(after.logits, before.logits)
    (block,) = ex.graph.blocks_into("rnn")
    weight = model.rnn.weight_ih_l0.detach().reshape(3, 4, 3)
    norm = weight.pow(2).sum(0).sqrt()
    np.testing.assert_allclose(block.weight[:4], torch.where(weight.sum(0) < 0, -norm, norm).numpy(),
                               rtol=1e-6)


# ------------------------------------------------------------------------------ refusals
class _Refused(nn.Module):
    def __init__(self, rnn: nn.Module, how: str) -> None:
        super().__init__()
        self.rnn, self.how = rnn, how
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.transpose(1, 2)
        if self.how == "projection":
            out, _ = self.rnn(seq)
            return self.head(torch.cat([out[:, -1], out[:, -1]], 1))
        if self.how == "initial state":
            out, _ = self.rnn(seq, torch.zeros(1, seq.shape[0], 4))
            return self.head(out[:, -1])
        if self.how == "cell state":
            _, (h, c) = self.rnn(seq)
            return self.head(c[-1])
        if self.how == "h_n reshaped":
            _, h = self.rnn(seq)
            return self.head(h.permute(1, 0, 2).reshape(-1, 4))
        if self.how == "time-major slice":
            out, _ = self.rnn(x.permute(2, 0, 1))
            return self.head(out[:, 0])
        if self.how == "time-major input":
            out, _ = self.rnn(x)
            return self.head(out[-1])
        if self.how == "units on axis 1":
            out, _ = self.rnn(x)
            return self.head(out[:, -1])
        h = c = seq.new_zeros(seq.shape[0], 4)  # "cell loop"
        for t in range(5):
            h, c = self.rnn(seq[:, t], (h, c))
        return self.head(h)


REFUSALS = [
    ("projection", nn.LSTM(3, 4, proj_size=2, batch_first=True), "LSTM 'rnn'",
     r"`out, _ = self\.rnn\(seq\)`: an LSTM with proj_size > 0"),
    ("initial state", nn.GRU(3, 4, batch_first=True), "GRU 'rnn'",
     "a recurrent layer given an initial state is not drawn as units"),
    ("cell state", nn.LSTM(3, 4, batch_first=True), "operator.getitem",
     r"`return self\.head\(c\[-1\]\)`: it reads the LSTM's cell state c_n"),
    ("h_n reshaped", nn.GRU(3, 4, batch_first=True), "Tensor.permute", "it reads h_n in a way"),
    ("time-major slice", nn.RNN(3, 4), "operator.getitem",
     r"it reads a time-major \(batch_first=False\) output in a way NetViz cannot follow"),
    ("time-major input", nn.LSTM(3, 4), "LSTM 'rnn'",
     "reads a tensor that is not a permutation of a batch-first one"),
    ("units on axis 1", nn.LSTM(5, 4, batch_first=True), "LSTM 'rnn'",
     r"a recurrent layer reads the features on the last axis of \(1, 3, 5\), but its units are on "
     r"axis 1.*Workaround: pass \(batch, features, steps\)"),
    ("cell loop", nn.LSTMCell(3, 4), "LSTMCell 'rnn'",
     r"`h, c = self\.rnn\(seq\[:, t\], \(h, c\)\)`: a recurrent cell called step by step"),
]


@pytest.mark.parametrize("how, rnn, operation, detail", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_what_cannot_be_drawn_exactly_is_refused_naming_the_operation_and_line(how, rnn, operation, detail):
    from netviz_widget import LayeredGraph
    from netviz_widget.errors import GraphError

    model = _Refused(rnn, how).eval()
    if how == "projection":
        model.head = nn.Linear(4, 2)
    before = fingerprint(model)
    with pytest.raises(GraphError) as info:
        LayeredGraph.from_module(model, torch.rand(1, 3, 5))
    message = str(info.value)
    for pattern in (operation, detail, "test_recurrent.py:", "Workaround: "):
        assert __import__("re").search(pattern, message), (pattern, message)
    assert_unchanged(model, before)


def test_packed_sequences_cannot_be_traced_and_are_refused_by_module_name():
    from netviz_widget import LayeredGraph
    from netviz_widget.errors import GraphError

    class Packed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn, self.head = nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 2)

        def forward(self, x):
            lengths = torch.full((x.shape[0],), x.shape[2])
            packed = nn.utils.rnn.pack_padded_sequence(x.transpose(1, 2), lengths, batch_first=True)
            _, (h, _) = self.rnn(packed)
            return self.head(h[-1])

    with pytest.warns(UserWarning, match="torch.fx could not trace"), \
            pytest.raises(GraphError, match=r"LSTM 'rnn' \(torch\.fx could not trace the model.*"
                          r"a recurrent layer is drawn only in a model torch\.fx can trace \(packed "
                          r"sequences"):
        LayeredGraph.from_module(Packed(), torch.rand(2, 3, 5))


def test_patching_every_hidden_unit_at_every_step_runs_the_other_input():
    model, x = build("lstm_last_step", batch=2)
    other = build("lstm_last_step", batch=2, steps=6)[1].flip(0)
    ex = Explainer(model, x, n_steps=2)
    patch = make_intervention(ex.graph, "rnn", list(range(5)), "patch", patch_input=other)
    with torch.no_grad():
        np.testing.assert_allclose(ex.evaluate([patch]), model(other).numpy(), rtol=1e-5, atol=1e-6)
