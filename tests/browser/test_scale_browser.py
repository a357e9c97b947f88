"""Workload 1 of the scale benchmark (MLP 784-1024-512-10, 1.3 M weights) in JupyterLab: the
view draws with grouped wide layers, a group expands on click, an intervention applies."""

from __future__ import annotations

import re

import nbformat

from .lab import open_and_run_all, unit_point

CODE = """
import torch
from torch import nn
from netviz_widget import NetViz
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))
viz = NetViz(model.eval(), torch.rand(1, 784))
viz
"""


def test_large_mlp_expand_select_intervene(chromium, jupyterlab, artifacts):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells.append(nbformat.v4.new_code_cell(CODE.strip()))
    nbformat.write(notebook, jupyterlab.root / "large_mlp.ipynb")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, jupyterlab.url("lab/workspaces/scale/tree/large_mlp.ipynb"))
        page.locator(".netviz-root").first.scroll_into_view_if_needed()
        labels = page.locator(".netviz-layer-label").all_inner_texts()
        assert "0 (1024)" in labels and "2 (512)" in labels
        before = page.locator(".netviz-header").first.inner_text()
        page.mouse.click(*unit_point(page, "0", 5))  # a group of 16 units: expands
        expanded = "() => document.querySelector('.netviz-root').parentElement.netviz.unitPosition('0', 70)"
        page.wait_for_function(f"{expanded} !== null")
        page.mouse.move(*unit_point(page, "0", 5))
        page.locator(".netviz-tooltip").first.wait_for(state="visible", timeout=5_000)
        assert re.search(r"0\[80\]", page.locator(".netviz-tooltip").first.inner_text())
        page.mouse.click(*unit_point(page, "0", 5))  # now unit 80: selected
        page.get_by_text("selected: 0[80]").wait_for(timeout=10_000)
        page.locator(".netviz-controls button", has_text="Apply").click()
        page.wait_for_function(
            "(b) => document.querySelector('.netviz-header').innerText !== b", arg=before, timeout=30_000)
        assert "1 intervention: zero 0[80]" in page.locator(".netviz-header").first.inner_text()
        assert not page.locator(".netviz-error").first.is_visible()  # no stale-state error on expand
        page.screenshot(path=str(artifacts / "large-mlp.png"))
    finally:
        page.close()
