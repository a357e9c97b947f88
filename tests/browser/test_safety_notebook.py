"""notebooks/04_safety_find_and_switch_off.ipynb in JupyterLab: the circuit of the reverse-engineered
trigger is highlighted in the view and the units switched off from Python show in it."""

from __future__ import annotations

import re
import shutil

from .conftest import ROOT
from .lab import open_and_run_all

NOTEBOOK = "04_safety_find_and_switch_off.ipynb"


def test_safety_notebook_shows_the_circuit_and_the_units_switched_off(chromium, jupyterlab, artifacts):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, jupyterlab.root / NOTEBOOK)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        open_and_run_all(page, jupyterlab.url(f"lab/workspaces/safety/tree/{NOTEBOOK}"), timeout_s=400)
        root = page.locator(".netviz-root").first
        root.scroll_into_view_if_needed()
        # the circuit of the triggered copy is highlighted: some units, not all
        highlighted = int(root.get_attribute("data-highlighted"))
        assert highlighted > 0, highlighted
        # the units switched off in Python (one zero intervention per layer) are in force in the view
        header = page.locator(".netviz-header").first.inner_text()
        assert re.search(r"[12] interventions?", header), header
        assert re.search(r"predicted \d \(p = [01]\.\d{3}\)", header), header
        page.screenshot(path=str(artifacts / "safety-notebook.png"))
    finally:
        page.close()
    # anywidget gives a model 2 s to load its ES module; while Run All keeps both cores busy
    # (training, BokehJS parsing) that can lapse, the view then fails once and `open_and_run_all`
    # runs the notebook again. That message is the only error tolerated.
    assert [e for e in errors if "[anywidget] Failed to initialize model." not in e] == [], errors
