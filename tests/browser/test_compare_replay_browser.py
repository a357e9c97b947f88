"""Compare and replay in JupyterLab: the A / B / B − A toggle and the replay slider and play button."""

from __future__ import annotations

import json
import re

import nbformat

from .lab import open_and_run_all, unit_point

NOTEBOOK = "compare_replay.ipynb"
SETUP = """
import torch
from netviz_widget import NetViz, Recorder
from netviz_widget.datasets import digits_mlp, load_digits_split, mlp

torch.set_num_threads(1)
data = load_digits_split()
viz = NetViz(digits_mlp(seed=0), data.x_test[:2], n_steps=8, compare=digits_mlp(seed=1))
viz"""
REPLAY = """
model = mlp()
optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
recorder = Recorder(model, data.x_test[:2], every=2, n_steps=4)
for step in range(12):
    optimiser.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(data.x_train[:128]), data.y_train[:128])
    loss.backward()
    optimiser.step()
    recorder.step(step, loss=loss.item())
replay = NetViz.replay(recorder.recording, interval=150)
replay"""
READY_BOTH = "() => document.querySelectorAll(\".netviz-root[data-ready='1']\").length == 2"
LABEL_STARTS = "(text) => document.querySelector('.netviz-replay-step').innerText.startsWith(text)"


def write_notebook(path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(SETUP.strip()), nbformat.v4.new_code_cell(REPLAY.strip())]
    nbformat.write(notebook, path)


def test_compare_toggle_and_replay_slider(chromium, jupyterlab, artifacts):
    write_notebook(jupyterlab.root / NOTEBOOK)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        open_and_run_all(page, jupyterlab.url(f"lab/workspaces/compare/tree/{NOTEBOOK}"), timeout_s=300)
        page.wait_for_function(READY_BOTH, timeout=60_000)
        # ---- compare: the toggle switches the view to B − A; the hover shows both models
        header = page.locator(".netviz-header").first
        assert header.inner_text().startswith("A · "), header.inner_text()
        page.locator(".netviz-compare button", has_text="B − A").click()
        page.wait_for_function("() => document.querySelector('.netviz-header').innerText.startsWith('B − A')",
                               timeout=20_000)
        x, y = unit_point(page, "fc1", 5)
        page.mouse.move(x, y)
        tooltip = page.locator(".netviz-tooltip").first
        tooltip.wait_for(state="visible", timeout=5_000)
        text = tooltip.inner_text()
        assert "showing B − A" in text and re.search(r"A: score .*\n.*B: score", text), text
        assert "A predicts" in page.locator(".netviz-compare").inner_text()
        page.screenshot(path=str(artifacts / "compare-diff.png"))

        # ---- replay: the slider moves the view; play runs to the last record
        label = page.locator(".netviz-replay-step").first
        label.scroll_into_view_if_needed()
        assert label.inner_text().startswith("step 0 (1/6)"), label.inner_text()
        roots = page.locator(".netviz-root")
        seq = int(roots.nth(1).get_attribute("data-seq"))
        handle = page.locator(".netviz-replay .widget-slider .noUi-handle").first
        handle.click()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(LABEL_STARTS, arg="step 2 (2/6)", timeout=20_000)
        page.wait_for_function(
            "(seq) => Number(document.querySelectorAll('.netviz-root')[1].dataset.seq) > seq", arg=seq,
            timeout=20_000)
        page.locator(".netviz-replay .widget-play button").first.click()
        page.wait_for_function(LABEL_STARTS, arg="step 10 (6/6)", timeout=30_000)
        draw = page.evaluate(
            "() => document.querySelectorAll('.netviz-root')[1].parentElement.netviz.redraw()")
        (artifacts / "replay-frame.json").write_text(json.dumps({"draw_ms": draw}))
        page.screenshot(path=str(artifacts / "replay-last.png"))
    finally:
        page.close()
    assert [e for e in errors if "[anywidget] Failed to initialize model." not in e] == [], errors
