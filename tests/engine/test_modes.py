"""The intervention modes are one registry: a mode added with one `register_mode` call acts on
the forward pass, is undone, shows in the controls and is validated like the built-in ones."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget.engine.modes import MODE_REGISTRY, Mode, mode_names, register_mode
from netviz_widget.errors import InputError, InterventionError


@pytest.fixture
def shifted():
    """The example of docs/architecture.md: a mode that adds `value` to the units."""
    entry = register_mode(Mode("shift", "shift by", parameter="offset",
                               act=lambda act, index, value, source: act[:, index] + value,
                               help="the activation plus a constant"))
    yield entry
    del MODE_REGISTRY["shift"]


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


def test_builtin_modes_are_registered_in_order():
    assert mode_names()[:6] == ["zero", "mean", "resample", "clamp", "scale", "patch"]


def test_a_registered_mode_acts_on_the_output(shifted):
    net, x = model(), torch.randn(2, 4)
    ex = Explainer(net, x)
    before = ex.snapshot().outputs["logits"]
    snap = ex.intervene("0", [1, 3], mode="shift", value=2.0)
    with torch.no_grad():  # by hand: units 1 and 3 of the first layer's output (after ReLU) + 2
        hidden = torch.relu(net[0](x))
        hidden[:, [1, 3]] += 2.0
        expected = net[2](hidden)
    assert snap.outputs["logits"] == pytest.approx(expected.numpy(), abs=1e-5)
    assert ex.undo().outputs["logits"] == pytest.approx(before)


def test_a_registered_mode_is_validated_like_the_builtins(shifted):
    ex = Explainer(model(), torch.randn(2, 4))
    with pytest.raises(InterventionError, match="offset"):
        ex.intervene("0", [1], mode="shift")  # its number is missing
    with pytest.raises(InterventionError, match="shift"):
        ex.intervene("0", [1], mode="no such mode")  # the error lists it among the modes


def test_a_registered_mode_shows_in_the_controls(shifted):
    viz = NetViz(model(), torch.randn(2, 4))
    controls = viz.controls
    assert ("shift by", "shift") in controls.mode.options
    controls.mode.value = "shift"
    assert controls.value.layout.display is None and controls.value.description == "offset"
    assert controls.patch_from.layout.display == "none"
    controls.mode.value = "zero"
    assert controls.value.layout.display == "none"


def test_registering_twice_or_with_an_unknown_need_is_refused(shifted):
    with pytest.raises(InputError, match="shift"):
        register_mode(Mode("shift", "again", act=lambda act, index, value, source: act[:, index]))
    with pytest.raises(InputError, match="needs"):
        register_mode(Mode("other", "other", needs="a database",
                           act=lambda act, index, value, source: act[:, index]))
