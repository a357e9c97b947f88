"""A NetViz view draws on a slow page while the kernel is busy with a later cell (issue 14 item 8).

anywidget 0.11 gives a model 2 s (``AbortSignal.timeout(2000)``) to load its ES module; a model
that took longer never applies the update messages sent after its creation. NetViz therefore opens
its view's comm only once topology and state are set, so they travel in the creation message
(netviz_widget/ui/view.py, ``defer_open``). This test makes the page slow on purpose, Run All on a
notebook with a NetViz followed by a busy cell, and asserts the view draws with no anywidget error.

The slowdown (``NETVIZ_SLOW_VIEW_MODE``):
- ``late`` (default, CI): the page's module load counts as late: anywidget's 2,000 ms timer is made
  1 ms by an init script, i.e. what a page too busy to load the module within 2 s sees, without
  depending on how busy this machine happens to be.
- ``throttle``: the page's CPU is throttled by Chromium (CDP ``Emulation.setCPUThrottlingRate``,
  rate ``NETVIZ_SLOW_VIEW_RATE``, default 20) from Run All on, anywidget's timer left as it is.

``NETVIZ_SLOW_VIEW_CODE=before`` runs the code before the fix (the view's comm opened at once, its
topology and state sent as updates); that variant is expected to FAIL. ``NETVIZ_SLOW_VIEW_REPEAT=n``
repeats the run n times (CI: once).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

import nbformat
import pytest

from .jupyter_server import TOKEN
from .lab import KERNEL_IDLE, RUNNING, _run_all, notebook_state

MODE = os.environ.get("NETVIZ_SLOW_VIEW_MODE", "late")
RATE = float(os.environ.get("NETVIZ_SLOW_VIEW_RATE", "20"))
CODE = os.environ.get("NETVIZ_SLOW_VIEW_CODE", "after")
REPEAT = int(os.environ.get("NETVIZ_SLOW_VIEW_REPEAT", "1"))

# anywidget's module-load timer, made to fire at once (mode "late")
LATE_MODULE = """(() => {
    const timeout = AbortSignal.timeout.bind(AbortSignal);
    AbortSignal.timeout = (ms) => timeout(ms === 2000 ? 1 : ms);
})();"""
# the code before the fix: the view's comm opens in its constructor (ipywidgets' default)
BEFORE_FIX = ("import ipywidgets\nfrom netviz_widget.ui.view import NetworkView\n"
              "NetworkView.open = ipywidgets.Widget.open\n")
SETUP = """import torch
from torch import nn
from netviz_widget import NetViz
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
viz = NetViz(model, torch.randn(3, 6))
viz"""
BUSY = "import time\nstart = time.time()\nwhile time.time() - start < 6:\n    pass\n'done'"
VIEW_STATE = """() => ({
    box: document.querySelector('.jp-OutputArea .netviz') !== null,
    drawn: document.querySelector(".netviz-root[data-ready='1']") !== null,
})"""


def _notebook(path) -> None:
    cells = [nbformat.v4.new_code_cell((BEFORE_FIX if CODE == "before" else "") + SETUP),
             nbformat.v4.new_code_cell(BUSY)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def _shut_down_kernels(jupyterlab) -> None:
    """End every session on the server: an earlier run's kernel must not load this one."""
    api = f"{jupyterlab.base}/api/sessions?token={TOKEN}"
    for session in json.load(urllib.request.urlopen(api, timeout=30)):
        request = urllib.request.Request(
            f"{jupyterlab.base}/api/sessions/{session['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _run_slow(chromium, jupyterlab, name: str) -> dict:
    """Open the notebook on the warm server, slow the page, Run All; what the view did."""
    _notebook(jupyterlab.root / name)
    # ?reset: an empty workspace (JupyterLab would reopen the notebooks of earlier runs)
    url = f"{jupyterlab.base}/lab/tree/{name}?reset&token={TOKEN}"
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        # a throwaway page starts the kernel (see lab.open_and_run_all), then the test's page
        starter = context.new_page()
        starter.goto(url)
        starter.wait_for_selector(KERNEL_IDLE, state="attached", timeout=180_000)
        starter.close()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        if MODE == "late":
            page.add_init_script(LATE_MODULE)
        page.goto(url)
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_selector(KERNEL_IDLE, state="attached", timeout=180_000)
        cdp = None
        if MODE == "throttle":
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": RATE})
        _run_all(page, ".jp-OutputArea .netviz")
        deadline = time.time() + 240
        while page.evaluate(RUNNING) and time.time() < deadline:
            page.wait_for_timeout(500)
        state, deadline = page.evaluate(VIEW_STATE), time.time() + 30
        while not state["drawn"] and time.time() < deadline:  # the view renders asynchronously
            page.wait_for_timeout(500)
            state = page.evaluate(VIEW_STATE)
        if cdp is not None:
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        bad = [e for e in errors if "anywidget" in e or "not found" in e.lower()]
        return {**state, "errors": bad, "notebook": notebook_state(page)}
    finally:
        context.close()
        _shut_down_kernels(jupyterlab)


@pytest.mark.parametrize("run", range(REPEAT))
def test_view_draws_on_a_slow_page_with_a_busy_kernel(chromium, jupyterlab, run):
    result = _run_slow(chromium, jupyterlab, f"slow_view_{CODE}_{MODE}_{run}.ipynb")
    print(f"slow view ({MODE}, code {CODE}, run {run}): drawn={result['drawn']} "
          f"box={result['box']} errors={len(result['errors'])}")
    assert result["box"], f"no NetViz in the output: {result['notebook']}"
    assert result["drawn"], f"the view never drew: {result['errors'][:3]} {result['notebook']}"
    assert not result["errors"], result["errors"][:3]
