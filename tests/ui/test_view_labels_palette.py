"""The output units' labels in the view payload, and the one diverging palette shared by the
canvas, the SVG export (js/scales.js) and the bokeh figures (netviz_widget/ui/palette.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from netviz_widget import NetViz
from netviz_widget.datasets import mlp
from netviz_widget.ui.figures import heatmap
from netviz_widget.ui.palette import NEGATIVE, NEUTRAL, POSITIVE, bokeh_palette, diverging_rgb, hex_colour

ROOT = Path(__file__).resolve().parents[2]


def small_viz(widths=(6, 8, 3), labels=None):
    model = mlp(widths, seed=0).eval()
    x = torch.rand(2, widths[0], generator=torch.Generator().manual_seed(0))
    return NetViz(model, x, n_steps=8, input_image=False, class_labels=labels)


def test_output_units_carry_their_label_and_probability():
    viz = small_viz(labels=["cat", "<b>dog</b>", "emu & co"])
    probabilities = viz.snapshot.probabilities[0]
    assert viz.view.state["output_labels"] == [
        f"{label} {p:.2f}" for label, p in zip(["cat", "<b>dog</b>", "emu & co"], probabilities)]
    viz.example = 1  # another example: its own probabilities
    assert viz.view.state["output_labels"][0] == f"cat {viz.snapshot.probabilities[1][0]:.2f}"
    viz.intervene("fc1", list(range(8)), "zero")  # every hidden unit off: the logits are the bias
    bias = viz.explainer.model.fc2.bias.detach()
    expected = torch.softmax(bias, 0).numpy()
    assert viz.view.state["output_labels"] == [
        f"{label} {p:.2f}" for label, p in zip(["cat", "<b>dog</b>", "emu & co"], expected)]


def test_a_grouped_output_layer_has_no_per_unit_labels():
    viz = small_viz(widths=(4, 6, 300))  # 300 outputs are shown as groups
    assert viz.view.topology["layers"][-1]["n_nodes"] < 300 == viz.view.topology["layers"][-1]["n_units"]
    assert viz.view.state["output_labels"] is None


def test_the_palette_runs_from_negative_through_neutral_to_positive():
    assert diverging_rgb(-1) == NEGATIVE and diverging_rgb(0) == NEUTRAL and diverging_rgb(1) == POSITIVE
    assert diverging_rgb(-5) == NEGATIVE  # clamped
    colours = bokeh_palette(5)
    assert colours == [hex_colour(diverging_rgb(t)) for t in (-1, -0.5, 0, 0.5, 1)]
    assert colours[0] == "#2166ac" and colours[2] == "#e6e6e6" and colours[-1] == "#d66000"
    mapper = heatmap(np.array([[-1.0, 1.0]]), "h").renderers[0].glyph.color_mapper
    assert list(mapper.palette) == bokeh_palette()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is absent")
def test_python_and_the_canvas_compute_the_same_colours():
    points = [i / 40 - 1 for i in range(81)] + [-0.123456, 0.5 / 255, 0.999]
    script = ("import { divergingRgb } from './js/scales.js';\n"
              f"console.log(JSON.stringify({json.dumps(points)}.map(divergingRgb)));")
    done = subprocess.run(["node", "--input-type=module", "-e", script], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [list(diverging_rgb(t)) for t in points]
