"""Recorder / Recording: snapshots during training, on disk, replayed bit for bit."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer
from netviz_widget.datasets import load_digits_split, mlp
from netviz_widget.engine.recorder import Recorder
from netviz_widget.engine.recording import Recording
from netviz_widget.errors import InputError
from tests.model_state import assert_unchanged, fingerprint

ARRAYS = ("logits", "target", "input_scores", "delta", "output_change")


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def dropout_mlp() -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(3)
        return nn.Sequential(OrderedDict([("fc1", nn.Linear(64, 24)), ("relu1", nn.ReLU()),
                                          ("drop", nn.Dropout(0.3)), ("fc2", nn.Linear(24, 10))]))


def train(model, digits, steps, recorder=None, keep=None, seed=0):
    """A plain loop that draws from the global RNG (shuffling and dropout)."""
    torch.manual_seed(seed)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for step in range(steps):
        rows = torch.randint(0, digits.x_train.shape[0], (64,))
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(digits.x_train[rows]), digits.y_train[rows])
        loss.backward()
        optimiser.step()
        if recorder is None:
            continue
        if recorder.step(step, loss=loss.item(), metrics={"double": 2 * loss.item()}) and keep is not None:
            keep[step] = copy.deepcopy(model.state_dict())
    return model


def test_a_recording_replays_bit_identical_scores(digits, tmp_path):
    model, x = mlp((64, 32, 16, 10)), digits.x_test[:5]
    keep = {}
    recorder = Recorder(model, x, every=4, path=tmp_path / "run.npz", target=digits.y_test[:5].tolist(),
                        n_steps=8)
    with recorder:
        train(model, digits, 13, recorder, keep)
    recording = Recording.load(tmp_path / "run.npz")
    assert list(recording.steps) == [0, 4, 8, 12] == sorted(keep)
    for i, step in enumerate(recording.steps):
        snapshot_model = mlp((64, 32, 16, 10))
        snapshot_model.load_state_dict(keep[int(step)])
        expected = Explainer(snapshot_model, x, target=digits.y_test[:5].tolist(), n_steps=8).snapshot()
        replayed = recording.snapshot(i)
        for name in ARRAYS:
            assert np.array_equal(getattr(replayed, name), getattr(expected, name)), name
        for name in ("node_scores", "activations", "edge_scores"):
            got, want = getattr(replayed, name), getattr(expected, name)
            assert got.keys() == want.keys()
            assert all(np.array_equal(got[k], want[k]) for k in want), name
        np.testing.assert_allclose(replayed.probabilities, expected.probabilities, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(recording.node_scores["fc1"][0], recording.node_scores["fc1"][-1])


def test_only_the_top_edges_are_kept(digits):
    model, x = mlp((64, 32, 16, 10)), digits.x_test[:3]
    recorder = Recorder(model, x, every=1, max_edges=100, n_steps=8)
    recorder.step(0)
    recording = recorder.recording
    assert recording.edge_index.shape == (1, 100) and recording.edge_scores.shape == (1, 3, 100)
    assert recording.edge_index.dtype == np.int32 and recording.edge_scores.dtype == np.float32
    expected = Explainer(model, x, target=recording.target[0].tolist(), n_steps=8).snapshot()
    every_edge = np.concatenate([expected.edge_scores[k].reshape(3, -1) for k in expected.edge_scores], 1)
    strength = np.abs(every_edge).mean(0)
    threshold = np.sort(strength)[-100]
    assert np.all(strength[recording.edge_index[0]] >= threshold)
    np.testing.assert_array_equal(recording.edge_scores[0], every_edge[:, recording.edge_index[0]])
    weights = np.concatenate([model.fc1.weight.detach().numpy().reshape(-1),
                              model.fc2.weight.detach().numpy().reshape(-1),
                              model.fc3.weight.detach().numpy().reshape(-1)])
    np.testing.assert_array_equal(recording.edge_weights[0], weights[recording.edge_index[0]])
    dense = recording.snapshot(0).edge_scores[("fc1", "fc2")]
    assert np.count_nonzero(dense) <= 3 * 100


def test_recording_leaves_training_unchanged(digits):
    plain = train(dropout_mlp(), digits, 12)
    rng_plain = torch.get_rng_state()
    model = dropout_mlp()
    recorder = Recorder(model, digits.x_test[:4], every=3, n_steps=4)
    recorded = train(model, digits, 12, recorder)
    assert torch.equal(torch.get_rng_state(), rng_plain)
    for key, value in plain.state_dict().items():
        assert torch.equal(value, recorded.state_dict()[key]), key
    assert len(recorder.recording) == 4


def test_a_recorded_step_leaves_the_model_as_it_was(digits):
    model = dropout_mlp().train()
    loss = model(digits.x_train[:16]).sum()
    loss.backward()  # gradients in flight, as between backward() and step()
    before = fingerprint(model)
    recorder = Recorder(model, digits.x_test[:2], every=1, n_steps=4)
    assert recorder.step(0, loss=1.0)
    assert_unchanged(model, before)


def test_records_and_curves_stay_bounded(digits):
    recorder = Recorder(mlp((64, 8, 10)), digits.x_test[:2], every=1, n_steps=2, max_records=4, max_points=6)
    for step in range(11):
        recorder.step(step, loss=float(step), metrics=None if step == 4 else {"acc": step / 10})
    recording = recorder.recording
    assert len(recording) <= 4
    assert np.all(np.diff(recording.steps) == recorder.every) and recording.steps[0] == 0
    assert 2 <= len(recording.curve_steps) <= 6
    assert len(set(np.diff(recording.curve_steps))) == 1 and 4 in recording.curve_steps
    np.testing.assert_array_equal(recording.loss, recording.curve_steps.astype(float))
    acc = recording.metrics["acc"]
    given = recording.curve_steps != 4
    np.testing.assert_array_equal(acc[given], recording.curve_steps[given] / 10)
    assert np.isnan(acc[~given]).all()


def test_unit_series_follows_a_unit_over_training(digits, tmp_path):
    model = mlp((64, 8, 10))
    recorder = Recorder(model, digits.x_test[:3], every=2, n_steps=4)
    train(model, digits, 7, recorder)
    recording = recorder.recording
    series = recording.unit_series("fc1", 5)
    np.testing.assert_array_equal(series, recording.node_scores["fc1"][:, :, 5].mean(1))
    np.testing.assert_array_equal(recording.unit_series("fc1", 5, example=1, what="activation"),
                                  recording.activations["fc1"][:, 1, 5])
    path = recorder.save(tmp_path / "x.npz")
    assert path.stat().st_size < 200_000
    np.testing.assert_array_equal(Recording.load(path).unit_series("fc1", 5), series)


def test_bad_input_is_refused_with_the_argument_named(digits, tmp_path):
    model = mlp((64, 8, 10))
    with pytest.raises(InputError, match="every: expected a positive integer"):
        Recorder(model, digits.x_test[:2], every=0)
    with pytest.raises(InputError, match="target"):
        Recorder(model, digits.x_test[:2], target=[1, 2, 3])
    recorder = Recorder(model, digits.x_test[:2], every=1, n_steps=2)
    with pytest.raises(InputError, match="step"):
        recorder.step(-1)
    with pytest.raises(InputError, match="metrics"):
        recorder.step(0, metrics=[1.0])
    with pytest.raises(InputError, match="loss: expected a number"):
        recorder.step(0, loss="high")
    with pytest.raises(InputError, match="at least one recorded step"):
        recorder.recording  # noqa: B018
    with pytest.raises(InputError, match="path"):
        recorder.save()
    recorder.step(0)
    with pytest.raises(InputError, match="a step after"):
        recorder.record(0)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a recording")
    with pytest.raises(InputError, match="path"):
        Recording.load(bad)
    with pytest.raises(InputError, match="index"):
        recorder.recording.snapshot(5)
