"""Hostile names in a real browser with a dialog listener: the saved page with "<!--<script>" in a
layer name still draws (it used to blank silently), the explanation shown under it runs no
script, and save_svg gives well-formed XML despite control characters."""

from __future__ import annotations

import warnings
import xml.dom.minidom
from collections import OrderedDict

import torch
from torch import nn

from netviz_widget import NetViz
from netviz_widget.ui.export import standalone_html

NAMES = ["<!--<script>", "<img src=x onerror=alert(1)>", "ctrl\x01\x0c"]


def hostile_viz() -> NetViz:
    model = nn.Sequential(OrderedDict([(NAMES[0], nn.Linear(4, 5)), ("act", nn.ReLU()),
                                       (NAMES[2], nn.Linear(5, 4)), ("act2", nn.ReLU()),
                                       (NAMES[1], nn.Linear(4, 3))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NetViz(model, torch.rand(2, 4, generator=torch.Generator().manual_seed(0)), n_steps=4,
                      class_labels=[NAMES[1], "<svg onload=alert(2)>", "$\\href{javascript:alert(3)}{x}$"],
                      target=0)


def test_comment_opener_in_a_name_keeps_the_saved_page_alive(chromium, tmp_path):
    viz = hostile_viz()
    explanation = viz.explain()
    path = tmp_path / "page.html"
    path.write_text(standalone_html(viz.view, title=NAMES[0], sections=explanation.html))
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    problems = []
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=20_000)
        labels = page.locator(".netviz-layer-label").all_inner_texts()
        assert f"{NAMES[0]} (5)" in labels
        # the output units' labels: the class names as text beside the nodes, never markup
        outputs = page.locator(".netviz-output-label").all_inner_texts()
        assert outputs == viz.view.state["output_labels"] and outputs[0].startswith(NAMES[1])
        assert page.locator(".netviz-text img, .netviz-text svg").count() == 0
        assert NAMES[1] in page.locator(".netviz-explanation").inner_text()
        assert page.locator(".netviz-explanation img, .netviz-explanation svg").count() == 0
        svg = page.evaluate("document.querySelector('.netviz-root').parentElement.netviz.toSVG()")
        xml.dom.minidom.parseString(svg)  # well-formed despite the control characters
    finally:
        page.close()
    assert problems == []
