"""Smoke test in Notebook 7: the quickstart view draws and answers a hover."""

from __future__ import annotations

import re

from .lab import open_and_run_all, unit_point


def test_quickstart_in_notebook7(chromium, jupyterlab, artifacts):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, jupyterlab.url("notebooks/01_quickstart.ipynb"))
        view = page.locator(".netviz-root[data-ready='1']").first
        view.scroll_into_view_if_needed()
        assert re.search(r"predicted \d \(p = 0\.\d{3}\)", page.locator(".netviz-header").first.inner_text())
        page.mouse.move(*unit_point(page, "fc1", 4))
        page.locator(".netviz-tooltip").first.wait_for(state="visible", timeout=5_000)
        assert "fc1[4]" in page.locator(".netviz-tooltip").first.inner_text()
        page.screenshot(path=str(artifacts / "notebook7.png"))
    finally:
        page.screenshot(path=str(artifacts / "notebook7-last.png"))
        page.close()
