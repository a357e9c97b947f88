"""NetViz.replay: a recording's steps in the view, the slider, the curves and a unit's line."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from netviz_widget import NetViz
from netviz_widget.datasets import load_digits_split, mlp
from netviz_widget.engine.recorder import Recorder
from netviz_widget.errors import InputError
from tests.wire import decode_array

FC1 = slice(64, 96)


@pytest.fixture(scope="module")
def recording():
    digits = load_digits_split()
    model = mlp()
    recorder = Recorder(model, digits.x_test[:3], every=3, n_steps=4, max_edges=500)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for step in range(10):
            rows = torch.randint(0, digits.x_train.shape[0], (64,))
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(digits.x_train[rows]), digits.y_train[rows])
            loss.backward()
            optimiser.step()
            recorder.step(step, loss=loss.item(), metrics={"half": loss.item() / 2})
    return recorder.recording


def test_each_frame_draws_the_recorded_scores(recording):
    replay = NetViz.replay(recording)
    assert replay.link.source == (replay.play, "value") and replay.link.target == (replay.slider, "value")
    assert replay.slider.max == len(recording) - 1 == replay.play.max
    seqs = []
    for i in range(len(recording)):
        replay.slider.value = i  # as a drag or the play button does
        state = replay.view.state
        seqs.append(state["seq"])
        assert np.array_equal(decode_array(state["node_scores"])[FC1], recording.node_scores["fc1"][i, 0])
        assert np.array_equal(decode_array(state["activations"])[FC1], recording.activations["fc1"][i, 0])
        assert state["predicted"] == int(recording.logits[i, 0].argmax())
        assert replay.step_label.value.startswith(f"step {recording.steps[i]} ")
        assert all(cursor.location == recording.steps[i] for cursor in replay.cursors)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    edges = decode_array(replay.view.state["edge_scores"])
    assert len(edges) == len(replay.chosen) <= 20_000
    # the edges not stored for this record draw as 0; the stored ones keep their recorded value
    assert np.count_nonzero(edges) <= 500 * 1 and np.abs(edges).max() > 0
    replay.example = 2
    assert np.array_equal(decode_array(replay.view.state["node_scores"])[FC1],
                          recording.node_scores["fc1"][len(recording) - 1, 2])


def test_a_clicked_unit_shows_its_score_over_training(recording):
    replay = NetViz.replay(recording)
    replay.view.request("select", [["fc1", 7]])
    assert replay.view.selection == [["fc1", 7]]  # Python sets what the view shows selected
    scores = replay.unit_source.data["score"]
    np.testing.assert_array_equal(scores, recording.unit_series("fc1", 7, example=0))
    np.testing.assert_array_equal(replay.unit_source.data["step"], recording.steps)
    assert "fc1[7]" in replay.unit_figure.title.text
    replay.example = 1  # the line follows the shown input
    scores = replay.unit_source.data["score"]
    np.testing.assert_array_equal(scores, recording.unit_series("fc1", 7, example=1))


def test_the_curves_hold_the_recorded_loss_and_metrics(recording):
    replay = NetViz.replay(recording)
    sources = [r.data_source.data for fig in replay.plots_layout.children for r in fig.renderers
               if "value" in r.data_source.data]
    values = sorted(tuple(np.asarray(d["value"]).round(6)) for d in sources)
    expected = sorted([tuple(recording.loss.round(6)), tuple(recording.metrics["half"].round(6))])
    assert values == expected


def test_a_saved_recording_replays_the_same_frames(recording, tmp_path):
    path = recording.save(tmp_path / "run.npz")
    a, b = NetViz.replay(recording), NetViz.replay(str(path))
    a.index = b.index = 2
    for name in ("node_scores", "activations", "edge_scores", "input_map"):
        assert np.array_equal(decode_array(a.view.state[name]), decode_array(b.view.state[name])), name


def test_untrusted_and_bad_input_is_refused(recording):
    replay = NetViz.replay(recording)
    replay.view.request("select", [["fc9", 1]])
    assert "Rejected a selection" in replay.view.error
    replay.view.request("select", "fc1")
    assert "selection: expected" in replay.view.error
    with pytest.raises(InputError, match="index"):
        replay.index = len(recording)
    with pytest.raises(InputError, match="example"):
        replay.example = 3
    with pytest.raises(InputError, match="class_labels"):
        NetViz.replay(recording, class_labels=["a"])
    with pytest.raises(InputError, match="recording"):
        NetViz.replay(42)


def test_the_offline_page_holds_every_recorded_frame(recording, tmp_path):
    replay = NetViz.replay(recording)
    text = replay.save_html(tmp_path / "replay.html").read_text(encoding="utf-8")
    payload = json.loads(re.search(r'id="netviz-replay-frames">(.*?)</script>', text, re.S).group(1))
    assert payload["steps"] == recording.steps.tolist()
    for i, frame in enumerate(payload["frames"]):
        scores = np.frombuffer(base64.b64decode(frame["node_scores"]["buffer"]["__b64__"]), np.float32)
        assert np.array_equal(scores[FC1], recording.node_scores["fc1"][i, 0])
    assert 'type="range" id="netviz-replay-slider" min="0" max="3"' in text
