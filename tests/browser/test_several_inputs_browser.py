"""A model with several inputs draws one input layer per input, stacked in the first column:
each input's units in its own band (none overlapping), each labelled, edges from each input
layer to the tower that reads it."""

from __future__ import annotations

import torch

from netviz_widget import NetViz
from tests.engine.test_several_inputs import _setup


def test_input_layers_are_stacked_bands_of_the_first_column(chromium, tmp_path):
    model, (a, b) = _setup()
    viz = NetViz(model, (a, b), n_steps=2)
    page = chromium.new_page(viewport={"width": 1000, "height": 700})
    try:
        page.goto(viz.save_html(tmp_path / "view.html").as_uri())
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=30_000)
        handle = "document.querySelector('.netviz-root').parentElement.netviz"
        user = [page.evaluate(f"{handle}.unitPosition('input:user', {u})") for u in range(4)]
        item = [page.evaluate(f"{handle}.unitPosition('input:item', {u})") for u in range(3)]
        tower = page.evaluate(f"{handle}.unitPosition('user', 0)")
        assert len({round(x, 3) for x, _ in user + item}) == 1  # one column
        assert tower[0] > user[0][0] + 50  # the towers are the next column
        assert max(y for _, y in user) + 10 < min(y for _, y in item)  # separate bands
        labels = page.locator(".netviz-layer-label")
        texts = labels.all_inner_texts()
        assert "input:user (4)" in texts and "input:item (3)" in texts
        user_box = labels.nth(texts.index("input:user (4)")).bounding_box()
        item_box = labels.nth(texts.index("input:item (3)")).bounding_box()
        assert item_box["y"] > user_box["y"] + 40  # item's label sits above its own band
        box = page.locator(".netviz-stage").bounding_box()
        assert box["y"] + max(y for _, y in user) < item_box["y"] < box["y"] + min(y for _, y in item)
        svg = page.evaluate(f"{handle}.toSVG()")
        assert "input:item (3)" in svg
    finally:
        page.close()
    assert torch.equal(viz.explainer.inputs, torch.cat([a, b], 1))
