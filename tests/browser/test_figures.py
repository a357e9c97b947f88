"""Figures for papers: SVG from the same layout and scales as the canvas, PNG as drawn."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from netviz_widget import NetViz
from netviz_widget.datasets import digits_mlp, load_digits_split


def test_save_svg_and_png(chromium, tmp_path, artifacts):
    data = load_digits_split()
    viz = NetViz(digits_mlp(), data.x_test[:2])
    viz.intervene("fc1", [0, 1], "zero")
    svg_path = viz.save_svg(tmp_path / "view.svg")
    root = ET.parse(svg_path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    discs = [c for c in root.iter(f"{ns}circle") if c.get("fill") != "none"]
    assert len(discs) == 32 + 16 + 10  # hidden and output units
    assert len(list(root.iter(f"{ns}rect"))) == 1 + 64  # background + the 8×8 input pixels
    texts = [t.text or "" for t in root.iter(f"{ns}text")]
    assert "fc1 (32)" in texts
    # each output unit labelled with its class and probability, as the view shows them
    assert [t for t in texts if re.fullmatch(r"\d \d\.\d\d", t)] == viz.view.state["output_labels"]
    png_path = viz.save_png(tmp_path / "view.png")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (artifacts / "view.svg").write_text(svg_path.read_text())
