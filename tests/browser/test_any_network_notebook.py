"""notebooks/05_any_network.ipynb in JupyterLab: the Inception-style CNN, the gated MLP, the
tiny transformer (its heads as a layer) and the LSTM are drawn, and the interventions applied
from Python are in force in the first view, in the transformer's and in the LSTM's."""

from __future__ import annotations

import shutil

from .conftest import ROOT
from .lab import open_and_run_all

NOTEBOOK = "05_any_network.ipynb"


def test_any_network_notebook_draws_branches_and_gates(chromium, jupyterlab, artifacts):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, jupyterlab.root / NOTEBOOK)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        open_and_run_all(page, jupyterlab.url(f"lab/workspaces/anynet/tree/{NOTEBOOK}"), timeout_s=500)
        roots = page.locator(".netviz-root")
        assert roots.count() >= 2, roots.count()
        roots.first.scroll_into_view_if_needed()
        header = page.locator(".netviz-header").first.inner_text()
        assert "1 intervention" in header, header
        page.screenshot(path=str(artifacts / "any-network-notebook.png"))
        # the tiny transformer: its heads drawn as a layer, one of them zeroed from Python
        heads = page.locator(".netviz-layer-label", has_text="encoder.self_attn (2)")
        transformer = roots.filter(has=heads)
        assert transformer.count() == 1, transformer.count()
        transformer.scroll_into_view_if_needed()
        header = transformer.locator(".netviz-header").inner_text()
        assert "1 intervention: zero encoder.self_attn[" in header, header
        labels = transformer.locator(".netviz-layer-label").all_inner_texts()
        assert "encoder.self_attn.pattern (2)" in labels and "encoder.linear1 (32)" in labels, labels
        transformer.screenshot(path=str(artifacts / "any-network-transformer.png"))
        lstm = roots.filter(has=page.locator(".netviz-layer-label", has_text="lstm (16)"))
        lstm.wait_for(state="attached", timeout=60_000)
        assert lstm.count() == 1
        lstm.scroll_into_view_if_needed()
        page.wait_for_function("(root) => root.dataset.ready === '1' && root.querySelector("
                               "'.netviz-header').innerText.includes('zero lstm[')",
                               arg=lstm.element_handle(), timeout=30_000)
        lstm.screenshot(path=str(artifacts / "any-network-notebook-lstm.png"))
    finally:
        page.close()
    # see test_safety_notebook: a slow first load of the ES module is retried once
    assert [e for e in errors if "[anywidget] Failed to initialize model." not in e] == [], errors
