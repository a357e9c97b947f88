"""Untrusted strings and tampered state in a real browser: names render as text, no script
runs, a broken saved state shows an error instead of breaking the page."""

from __future__ import annotations

import json
import warnings
from collections import OrderedDict

import torch
from torch import nn

from netviz_widget import NetViz
from netviz_widget.ui.export import standalone_html

NAMES = ["<img src=x onerror=alert(1)>", "\"q'<script>alert(2)</script>", "fc<b>bold</b>"]
LABELS = ["<script>alert(3)</script>", "<img src=y onerror=alert(4)>", "c\"'&amp;"]


def hostile_view() -> NetViz:
    model = nn.Sequential(OrderedDict([(NAMES[0], nn.Linear(4, 5)), (NAMES[1], nn.ReLU()),
                                       (NAMES[2], nn.Linear(5, 3))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fx cannot generate code for such names: hooks fallback
        viz = NetViz(model, torch.rand(2, 4, generator=torch.Generator().manual_seed(0)),
                     class_labels=LABELS, target=0)
    viz.select(NAMES[0], 1)
    return viz


def open_page(chromium, tmp_path, html_text):
    path = tmp_path / "page.html"
    path.write_text(html_text)
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    problems = []
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.goto(path.as_uri())
    return page, problems


def test_module_names_and_labels_render_as_text(chromium, tmp_path, artifacts):
    viz = hostile_view()
    page, problems = open_page(chromium, tmp_path, standalone_html(viz.view, title=NAMES[1]))
    try:
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=20_000)
        labels = page.locator(".netviz-layer-label").all_inner_texts()
        assert f"{NAMES[0]} (5)" in labels and f"{NAMES[2]} (3)" in labels
        assert LABELS[0] in page.locator(".netviz-header").inner_text()
        assert NAMES[0] in page.locator(".netviz-drill-title").inner_text()
        x, y = page.evaluate("(n) => document.querySelector('.netviz-root').parentElement"
                             ".netviz.unitPosition(n, 2)", NAMES[0])
        box = page.locator(".netviz-stage").bounding_box()
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.locator(".netviz-tooltip").wait_for(state="visible", timeout=5_000)
        assert f"{NAMES[0]}[2]" in page.locator(".netviz-tooltip").inner_text()
        assert page.locator(".netviz-root img, .netviz-root script, .netviz-root b").count() == 0
        page.screenshot(path=str(artifacts / "hostile-names.png"))
    finally:
        page.close()
    assert problems == []


def test_tampered_state_shows_an_error_and_keeps_the_page_alive(chromium, tmp_path):
    viz = hostile_view()
    html_text = standalone_html(viz.view)
    start = html_text.index('id="netviz-state">') + len('id="netviz-state">')
    end = html_text.index("</script>", start)
    state = json.loads(html_text[start:end].replace("<\\/", "</"))
    state["topology"]["edges"]["src"]["buffer"]["__b64__"] = "AAAAAA=="  # 1 uint32 for 20 edges
    state["topology"]["edges"]["src"]["shape"] = [1]
    tampered = html_text[:start] + json.dumps(state).replace("</", "<\\/") + html_text[end:]
    page, problems = open_page(chromium, tmp_path, tampered)
    try:
        page.locator(".netviz-error").wait_for(state="visible", timeout=10_000)
        assert "could not show the network" in page.locator(".netviz-error").inner_text()
        page.evaluate("window.netvizModel.set('error', 'still alive')")
        assert page.locator(".netviz-error").inner_text() == "still alive"
    finally:
        page.close()
    assert problems == []
