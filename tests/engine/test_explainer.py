"""The headless Explainer: state, undo/redo, effects, drill-down, tables, robustness."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, intervened
from netviz_widget.engine.interventions import make_intervention
from netviz_widget.errors import InputError, ModelError, NetVizError
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo import ZOO, example_input


@pytest.fixture
def mlp_explainer():
    model = ZOO["sequential_mlp"]().eval()
    return Explainer(model, example_input(model, batch=4), n_steps=16)


def test_default_target_is_the_clean_prediction(mlp_explainer):
    snap = mlp_explainer.snapshot()
    np.testing.assert_array_equal(snap.target, snap.logits.argmax(1))
    np.testing.assert_allclose(snap.probabilities.sum(1), 1, rtol=1e-6)


def test_intervention_effect_equals_a_direct_run(mlp_explainer):
    ex = mlp_explainer
    clean = ex.snapshot()
    after = ex.intervene("0", [0, 1, 2, 3], "zero")
    graph = ex.graph
    with torch.no_grad(), intervened(graph, [make_intervention(graph, "0", [0, 1, 2, 3], "zero")]):
        direct = graph.forward(ex.inputs).numpy()
    np.testing.assert_allclose(after.logits, direct, rtol=1e-6)
    rows = np.arange(4)
    np.testing.assert_allclose(after.actual_effect,
                               direct[rows, clean.target] - clean.logits[rows, clean.target], rtol=1e-5,
                               atol=1e-6)
    assert ex.history[0]["intervention"] == "zero 0[0, 1, 2, 3]"
    assert ex.history[0]["actual_effect"] == pytest.approx(float(after.actual_effect.mean()))


def test_first_order_prediction_is_exact_for_a_linear_readout(mlp_explainer):
    # the last hidden layer feeds the logits linearly: gradient × change is exact there
    snap = mlp_explainer.intervene("2", [1, 4], "scale", value=0.5)
    np.testing.assert_allclose(snap.predicted_effect, snap.actual_effect, rtol=1e-4, atol=1e-6)


def test_undo_redo_reset_restore_the_exact_earlier_snapshot(mlp_explainer):
    ex = mlp_explainer
    s0 = ex.snapshot()
    s1 = ex.intervene("0", [1], "zero")
    s2 = ex.intervene("2", [0, 3], "clamp", value=2.0)
    assert not s1.equals(s0) and not s2.equals(s1)
    assert ex.undo().equals(s1)
    assert ex.undo().equals(s0)
    assert ex.undo().equals(s0) and not ex.can_undo
    assert ex.redo().equals(s1)
    assert ex.redo().equals(s2) and not ex.can_redo
    assert ex.reset().equals(s0)
    # recomputed from scratch (no cache), the snapshots are bit-identical too
    ex._cache.clear()
    assert ex.snapshot().equals(s0)
    ex.redo()
    ex._cache.clear()
    assert ex.snapshot().equals(s1)


def test_a_new_intervention_clears_redo(mlp_explainer):
    ex = mlp_explainer
    ex.intervene("0", [1], "zero")
    ex.undo()
    ex.intervene("0", [2], "zero")
    assert not ex.can_redo and len(ex.history) == 1


@pytest.mark.parametrize("mode, kwargs", [
    ("zero", {}), ("mean", {}), ("resample", {}), ("clamp", {"value": 1.5}),
    ("scale", {"value": 3.0}), ("patch", {"patch_input": None}),
])
def test_every_mode_changes_the_output_and_undo_restores_it(mlp_explainer, mode, kwargs):
    ex = mlp_explainer
    if "patch_input" in kwargs:
        kwargs = {"patch_input": example_input(ex.model, batch=1, seed=42)}
    clean = ex.snapshot()
    after = ex.intervene("0", list(range(8)), mode, **kwargs)
    assert not np.allclose(after.logits, clean.logits)
    assert ex.undo().equals(clean)


def test_changing_the_target_rescopes_the_scores(mlp_explainer):
    ex = mlp_explainer
    ex.target = 0
    snap = ex.snapshot()
    assert np.all(snap.target == 0)
    np.testing.assert_allclose(snap.node_scores["2"].sum(1), snap.output_change, rtol=0.05, atol=1e-3)


def test_to_frame_is_a_tidy_table(mlp_explainer):
    table = mlp_explainer.to_frame()
    records = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert len(records) == 4 * (4 + 8 + 6 + 3)
    row = next(r for r in records if r["layer"] == "0" and r["unit"] == 5 and r["example"] == 2)
    snap = mlp_explainer.snapshot()
    assert row["score"] == pytest.approx(float(snap.node_scores["0"][2, 5]))


def test_dataset_scores_are_chunked_and_grouped_by_class():
    model = ZOO["sequential_mlp"]().eval()
    reference = example_input(model, batch=37, seed=3)
    ex = Explainer(model, reference[:2], reference=reference, n_steps=8)
    small = ex.dataset_scores(chunk_size=5, progress=False)
    whole = ex.dataset_scores(chunk_size=1000, progress=False)
    assert small.counts.sum() == 37
    for layer in small.mean:
        np.testing.assert_allclose(small.mean[layer], whole.mean[layer], rtol=1e-5, atol=1e-6)
        assert np.all(small.mean_abs[layer] >= np.abs(small.mean[layer]) - 1e-6)
    assert ex.snapshot(dataset=True).dataset is not None


@pytest.mark.parametrize("name", ["sequential_mlp", "small_cnn", "residual_mlp", "branchy_mlp"])
def test_every_public_call_leaves_the_model_as_it_was(name):
    model = ZOO[name]().train()
    params = list(model.parameters())
    params[0].requires_grad_(False)  # partly frozen
    params[-1].grad = torch.ones_like(params[-1])
    handle = model.register_forward_hook(lambda *a: None)
    before = fingerprint(model)
    x = example_input(model, batch=2)
    with pytest.warns(UserWarning) if name == "branchy_mlp" else contextlib.nullcontext():
        ex = Explainer(model, x, n_steps=4)
    ex.snapshot(dataset=True)
    layer = ex.graph.layers[1].name
    modes = [("zero", {}), ("mean", {}), ("clamp", {"value": 0.3}), ("patch", {"patch_input": x[:1]})]
    for mode, kwargs in modes:
        ex.intervene(layer, [0], mode, **kwargs)
    ex.neuron(layer, 0)
    ex.undo()
    ex.reset()
    ex.to_frame()
    with pytest.raises(NetVizError):
        ex.intervene(layer, [999], "zero")
    assert_unchanged(model, before)
    handle.remove()


def test_a_fully_frozen_model_still_gets_scores():
    model = ZOO["sequential_mlp"]().eval().requires_grad_(False)
    snap = Explainer(model, example_input(model), n_steps=8).snapshot()
    assert np.abs(snap.node_scores["0"]).sum() > 0


class Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x) / (x.sum(1, keepdim=True) - x.sum(1, keepdim=True))


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(n_steps=0), InputError, "n_steps"),
    (dict(n_steps=-3), InputError, "n_steps"),
    (dict(n_steps=2.5), InputError, "n_steps"),
    (dict(target=3), InputError, "[0, 3)"),
    (dict(target=-1), InputError, "[0, 3)"),
    (dict(target="cat"), InputError, "target"),
    (dict(target=[0, 1]), InputError, "one class index per input"),
    (dict(target=[0.5, 1, 1, 1]), InputError, "integer"),
    (dict(baseline="median"), InputError, "baseline"),
    (dict(baseline=torch.zeros(5)), InputError, "baseline"),
    (dict(baseline=torch.full((4,), float("nan"))), InputError, "finite"),
    (dict(reference=torch.zeros(10, 7)), InputError, "reference"),
])
def test_bad_arguments_get_clear_errors(kwargs, error, words):
    model = ZOO["sequential_mlp"]()
    with pytest.raises(error) as info:
        Explainer(model, example_input(model, batch=4), **kwargs)
    message = str(info.value)
    assert words in message and "expected" in message and "got" in message


def test_non_finite_outputs_say_where():
    with pytest.raises(ModelError, match="model output: expected finite values"):
        Explainer(Exploding(), torch.rand(2, 3))


def test_baselines_mean_and_tensor():
    model = ZOO["sequential_mlp"]().eval()
    x = example_input(model, batch=4)
    ref = example_input(model, batch=20, seed=9)
    ex = Explainer(model, x, baseline="mean", reference=ref, n_steps=8)
    torch.testing.assert_close(ex.baseline[0], ref.mean(0))
    ex2 = Explainer(model, x, baseline=torch.full((4,), 0.5), n_steps=8)
    assert torch.all(ex2.baseline == 0.5)
    snap = ex2.snapshot()
    assert np.all(np.abs(snap.delta) < 0.05 * np.abs(snap.output_change) + 1e-3)



def test_snapshots_round_trip_through_npz(mlp_explainer, tmp_path):
    snap = mlp_explainer.intervene("0", [1, 2], "zero")
    path = tmp_path / "run.npz"
    snap.save(str(path))
    loaded = type(snap).load(str(path))
    assert loaded.equals(snap)
    np.testing.assert_array_equal(loaded.actual_effect, snap.actual_effect)
    assert loaded.interventions == ("zero 0[1, 2]",)


def test_per_example_replacements_work_on_batches_of_any_size():
    model = ZOO["sequential_mlp"]().eval()
    x = example_input(model, batch=6)
    reference = example_input(model, batch=100, seed=3)
    ex = Explainer(model, x, reference=reference, n_steps=8)
    ex.intervene("0", [0, 1], "resample")
    ex.intervene("2", [1], "patch", patch_input=example_input(model, batch=6, seed=5))
    view = ex.neuron("0", 2)  # the reference (100 rows) sees the 6-row replacements cycled
    assert view.top_examples.shape == (5,)
    assert ex.dataset_scores(chunk_size=7, progress=False).counts.sum() == 100


def test_intervene_all_is_one_undo_step():
    ex = Explainer(ZOO["custom_mlp"](), example_input(ZOO["custom_mlp"](), batch=2))
    hidden = [layer.name for layer in ex.graph.layers if layer.role == "hidden"][:2]
    clean = ex.snapshot().outputs["logits"]
    ex.intervene(hidden[0], [0], "zero")
    one = ex.snapshot().outputs["logits"]
    both = ex.intervene_all([{"layer": hidden[0], "units": [1], "mode": "zero"},
                             {"layer": hidden[1], "units": [0, 1], "mode": "scale", "value": 3.0}])
    assert len(ex.history) == 3 and not np.allclose(both.outputs["logits"], one)
    assert np.array_equal(ex.undo().outputs["logits"], one)  # one undo removes both
    assert len(ex.history) == 1
    assert np.array_equal(ex.redo().outputs["logits"], both.outputs["logits"])  # one redo, in order
    assert [h["units"] for h in ex.history] == [[0], [1], [0, 1]]
    ex.reset()
    assert np.array_equal(ex.snapshot().outputs["logits"], clean)
    assert np.array_equal(ex.redo().outputs["logits"], one)  # redone oldest step first
    with pytest.raises(NetVizError):
        ex.intervene_all([{"layer": hidden[0], "units": [2], "mode": "zero"},
                          {"layer": hidden[1], "units": [10**6], "mode": "zero"}])
    assert len(ex.history) == 1  # a failing request leaves the Explainer as it was
