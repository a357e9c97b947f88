"""What a user prints or indexes: results show as one short line, records index like a list."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from netviz_widget import Explainer, NetViz, Recorder
from netviz_widget.errors import InputError


def model_and_inputs():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 40), nn.ReLU(), nn.Linear(40, 3)), torch.rand(300, 6)


def one_line(text: str) -> str:
    assert "\n" not in text and len(text) < 300, text
    return text


def test_a_snapshot_and_a_diff_print_as_one_line():
    model, x = model_and_inputs()
    ex = Explainer(model, x, n_steps=2)
    text = one_line(repr(ex.intervene("0", [1, 2], mode="zero")))
    prediction = ex.snapshot().prediction
    first = ", ".join(map(str, prediction[:8]))
    assert text.startswith(f"Snapshot(batch=300, outputs=3, prediction=[{first}, "
                           "… 300 in all]")
    assert "interventions=['zero 0[1, 2]']" in text and "actual_effect=[" in text
    other = copy.deepcopy(model)
    with torch.no_grad():
        other[2].weight.mul_(2)
    assert one_line(repr(ex.compare(other))).startswith("SnapshotDiff(batch=300, prediction_a=[")


def test_a_recording_and_its_replay_print_as_one_line(tmp_path):
    model, x = model_and_inputs()
    recorder = Recorder(model, x[:4], every=2, n_steps=2)
    for step in range(5):
        recorder.step(step, loss=1.0 / (step + 1), metrics={"acc": 0.5})
    recording = recorder.recording
    text = one_line(repr(recording))
    assert text == ("Recording(3 records at steps [0, 2, 4], 4 probe inputs, layers=['input', '0', '2'], "
                    "curves=['loss', 'acc'] over 5 steps)")
    assert one_line(repr(NetViz.replay(recording))) == "ReplayView(3 records, record 0 (step 0), input #0)"


def test_a_negative_record_index_counts_from_the_end():
    model, x = model_and_inputs()
    recorder = Recorder(model, x[:4], every=2, n_steps=2)
    for step in range(5):
        recorder.step(step)
    recording = recorder.recording
    assert recording.snapshot(-1).equals(recording.snapshot(2))
    assert recording.snapshot(-3).equals(recording.snapshot(0))
    for bad in (3, -4):
        with pytest.raises(InputError, match=r"index: expected a record index in \[0, 3\) \(or -3 … -1"):
            recording.snapshot(bad)
