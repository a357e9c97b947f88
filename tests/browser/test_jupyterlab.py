"""The real widget in JupyterLab, in Debian's Chromium: render, hover, click, intervene, undo."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from .lab import open_and_run_all, run_code_in_new_cell, unit_point


def test_quickstart_view_hover_select_intervene_undo(chromium, jupyterlab, artifacts):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors, hosts = [], set()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: hosts.add(urlparse(r.url).netloc) if r.url.startswith("http") else None)
    try:
        open_and_run_all(page, jupyterlab.url("lab/workspaces/quickstart/tree/01_quickstart.ipynb"))
        view = page.locator(".netviz-root[data-ready='1']").first
        view.scroll_into_view_if_needed()
        view.wait_for(timeout=60_000)
        header = page.locator(".netviz-header").first
        initial = header.inner_text()
        assert re.search(r"predicted \d \(p = 0\.\d{3}\)", initial), initial
        page.screenshot(path=str(artifacts / "quickstart-view.png"))

        # hover a unit: the tooltip names it and shows its numbers
        x, y = unit_point(page, "fc2", 3)
        page.mouse.move(x, y)
        tooltip = page.locator(".netviz-tooltip").first
        tooltip.wait_for(state="visible", timeout=5_000)
        assert "fc2[3]" in tooltip.inner_text() and "score:" in tooltip.inner_text()

        # click selects: the controls and the drill-down show it
        page.mouse.click(x, y)
        page.get_by_text("selected: fc2[3]").wait_for(timeout=10_000)
        page.locator(".netviz-drill-title", has_text="fc2[3]").wait_for(timeout=10_000)

        # shift-click every other fc2 unit, then zero them all from the controls
        page.keyboard.down("Shift")
        for unit in range(16):
            if unit != 3:
                page.mouse.click(*unit_point(page, "fc2", unit))
        page.keyboard.up("Shift")
        page.get_by_text(re.compile(r"selected: .*\(\+10\)")).wait_for(timeout=10_000)
        page.locator(".netviz-controls button", has_text="Apply").click()
        page.wait_for_function(
            "(before) => document.querySelector('.netviz-header').innerText !== before", arg=initial,
            timeout=20_000)
        after = header.inner_text()
        assert "1 intervention" in after
        page.screenshot(path=str(artifacts / "quickstart-intervention.png"))

        # the displayed prediction is what the engine computes
        engine = run_code_in_new_cell(
            page, "s = viz.snapshot; print(f'predicted {int(s.prediction[0])} "
                  "(p = {float(s.probabilities[0].max()):.3f})')")
        assert engine.strip() in after, (engine, after)

        # undo restores the original view
        page.locator(".netviz-controls button", has_text="Undo").click()
        page.wait_for_function(
            "(before) => document.querySelector('.netviz-header').innerText === before", arg=initial,
            timeout=20_000)

        # Escape clears the selection
        page.locator(".netviz-stage").first.focus()
        page.keyboard.press("Escape")
        page.get_by_text("click a unit to select it (shift-click adds)").first.wait_for(timeout=10_000)

        # the circuit highlight and the written explanation
        page.locator(".netviz-controls button", has_text="show circuit").click()
        page.locator(".netviz-controls button", has_text="explain").click()
        page.locator(".netviz-explanation").first.wait_for(timeout=20_000)
        assert "Causal check" in page.locator(".netviz-explanation").first.inner_text()
        page.locator(".netviz-root").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "quickstart-circuit.png"))
    finally:
        page.screenshot(path=str(artifacts / "quickstart-last.png"))
        (artifacts / "quickstart-console.txt").write_text("\n".join(errors))
        page.close()
    assert errors == [], errors
    assert hosts <= {f"127.0.0.1:{jupyterlab.port}"}, hosts
