"""Every notebook the way a new user runs it: a just-started JupyterLab (one per run), one fresh
page, Run All as soon as the notebook is open (its kernel still starting), default JupyterLab
settings. Every NetViz must draw its view and its bokeh figures, with no console error (where a
JupyterLab race loses the page's widget messages: after one click on the note's "Save and reload").

One run of the quickstart by default; ``NETVIZ_FIRST_RUN_NOTEBOOKS=all`` takes every notebook with a
NetViz, ``NETVIZ_FIRST_RUN_REPEAT=5`` repeats each, and
``NETVIZ_FIRST_RUN_BURN=2`` runs that many CPU-burning processes beside the browser (a loaded machine).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from .conftest import ROOT
from .jupyter_server import JupyterLab
from .lab import notebook_state, open_and_run_all, run_code_in_new_cell

WITH_NETVIZ = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if "NetViz(" in p.read_text()]
# CI runs the quickstart; NETVIZ_FIRST_RUN_NOTEBOOKS=all (or a comma list of names) runs others: the
# study notebooks take minutes each (02 ran past 600 s beside other load here)
_WANTED = os.environ.get("NETVIZ_FIRST_RUN_NOTEBOOKS", "01_quickstart")
NOTEBOOKS = [p for p in WITH_NETVIZ if _WANTED == "all" or p.stem in _WANTED.split(",")]
REPEAT = int(os.environ.get("NETVIZ_FIRST_RUN_REPEAT", "1"))
BURN = int(os.environ.get("NETVIZ_FIRST_RUN_BURN", "0"))
# JupyterLab's defaults, less two pop-ups: the kernel choice (a user answers it with the default
# kernel, which this setting starts at once) and the news toast
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}
CODE_PROMPTS = ("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
                ".map(p => p.textContent)")
# per NetViz box: did the view draw, and how many bokeh roots does its plots panel hold
NETVIZ_STATE = """() => [...document.querySelectorAll('.jp-OutputArea .netviz')].map(box => ({
    view: box.querySelector(".netviz-root[data-ready='1']") !== null,
    bokeh: box.querySelectorAll('div[data-root-id]').length,
    plots: box.querySelector('.netviz-plots')?.dataset.plots ?? 'absent',
    note: box.querySelector('.netviz-plots-note')?.innerText ?? '',
}))"""


@pytest.fixture
def fresh_lab(tmp_path_factory, chromium):
    """A just-started JupyterLab with default settings, one per run: the cold path a user takes
    (no throwaway notebook warms the server up). `window.jupyterapp` is exposed so that a failure
    can say whether the page's kernel connection handles comms (see COMMS_IGNORED)."""
    server = JupyterLab(tmp_path_factory.mktemp("first-run"), [], settings=USER_SETTINGS,
                        page_config={"exposeAppInBrowser": True})
    yield server
    server.stop()


# JupyterLab 4.6 race (traced with stacks here): Run All chosen while a just-opened notebook's
# SessionContext is still initialising makes runCell call startKernel, which starts a session and
# connects to its kernel; the still-running SessionContext._initialize then finds that session by
# path and connects to the same kernel again. KernelManager.connectTo gives the second connection
# handleComms=false (the first still lives), and the first is then disposed. That page ignores
# every comm message: no widget model is created ("widget model not found", no view at all, no
# error about comms); a reloaded page gets a connection that handles comms and restores every
# view from the kernel. Seen here (2026-11-27, beside a CPU burner) in 7 of 7 cold runs with an
# early Run All (handleComms read false in the 5 that checked; also with comms over subshells
# disabled), in none of 3 where the page was only opened; then in 17 of 17 cold runs of the tests
# below (docs/reliability.md section 11). No widget code runs in such a page: the
# product says so in words and offers a "Save and reload" button (netviz_widget/ui/page_note.py),
# and the test clicks it.
COMMS_IGNORED = """() => {
    const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
    return kernel ? kernel.handleComms === false : null;
}"""


@contextmanager
def cpu_burners(count: int):
    """`count` processes spinning on a core each, for as long as the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def _click_run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()


def _run_all_as_soon_as_open(page, timeout_s: float) -> int:
    """Choose Run All as soon as the notebook shows and wait until every code cell has run (a
    numbered prompt) and the kernel is idle. Run All sent before the kernel is connected is dropped
    by JupyterLab: a user who sees nothing happen chooses it again, and so does this (at most 6
    times). Returns the number of clicks."""
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
    _click_run_all(page)
    clicks, deadline, idle_since = 1, time.time() + timeout_s, None
    while time.time() < deadline:
        prompts = page.evaluate(CODE_PROMPTS)
        # the status bar's "| Idle" (the toolbar's indicator says idle while the kernel still starts)
        idle = page.get_by_text(re.compile(r"\| Idle$")).count() > 0
        if idle and all(re.search(r"\[\d+\]", p) for p in prompts):
            return clicks
        idle_since = (idle_since or time.time()) if idle and "[*]" not in "".join(prompts) else None
        if idle_since and time.time() - idle_since > 15:  # nothing runs, cells left unrun
            if clicks == 6:
                raise AssertionError(f"cells left unrun after {clicks} Run All: {notebook_state(page)}")
            _click_run_all(page)
            clicks, idle_since = clicks + 1, None
        page.wait_for_timeout(500)
    raise TimeoutError(f"cells still running after {timeout_s:.0f} s: {notebook_state(page)}")


def _drawn(boxes: list[dict]) -> bool:
    """Every NetViz drew its view and its plots panel (one bokeh root: a row of two figures)."""
    return bool(boxes) and all(b["view"] and b["bokeh"] >= 1 for b in boxes)


def _wait_for_views(page, seconds: float) -> list[dict]:
    """The NetViz boxes once all drew, or as they are after `seconds` (views render
    asynchronously after their cell ends)."""
    deadline, boxes = time.time() + seconds, []
    while time.time() < deadline:
        boxes = page.evaluate(NETVIZ_STATE)
        if _drawn(boxes):
            break
        page.wait_for_timeout(500)
    return boxes


def _click_save_and_reload(page, note) -> None:
    """What a user does in the page's note: click its button, which saves the notebook and
    reloads the page (page_note.py)."""
    with page.expect_navigation(timeout=120_000):
        note.locator("button.netviz-lost-reload").click()
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)


@pytest.mark.parametrize("run", range(REPEAT), ids=lambda r: f"run{r}")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_run_all_draws_every_netviz(notebook, run, fresh_lab, chromium, artifacts):
    """The user's path. Where JupyterLab's start-up race left the page ignoring widget messages
    (COMMS_IGNORED), the page must say so in words (page_note.py) and, after one click on its
    "Save and reload" button, every NetViz must draw with no console error in the reloaded page."""
    name = f"{notebook.stem}-{run}.ipynb"  # a new file: a new kernel, as on a first open
    shutil.copy(notebook, fresh_lab.root / name)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    boxes: list[dict] = []
    clicks, comms_ignored, lost_note, raced_errors = 0, None, "", []
    try:
        with cpu_burners(BURN):
            page.goto(fresh_lab.url(f"lab/workspaces/first-{notebook.stem}-{run}/tree/{name}"))
            # 02's whole test took 662 s beside a burner on 2 loaded cores
            clicks = _run_all_as_soon_as_open(page, timeout_s=900)
            comms_ignored = page.evaluate(COMMS_IGNORED)
            # a page that ignores comms draws no view: no use waiting for one there
            boxes = page.evaluate(NETVIZ_STATE) if comms_ignored else _wait_for_views(page, 90)
            if comms_ignored and not _drawn(boxes):
                note = page.locator(".netviz-lost-note").first
                note.wait_for(state="attached", timeout=30_000)
                note.scroll_into_view_if_needed()
                lost_note = note.text_content()
                page.screenshot(path=str(artifacts / f"first-run-{notebook.stem}-{run}-lost.png"))
                raced_errors, errors[:] = errors[:], []
                _click_save_and_reload(page, note)
                boxes = _wait_for_views(page, 180)
    finally:
        if page.locator(".netviz").count():  # the first NetViz, where a failure would show
            page.locator(".netviz").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"first-run-{notebook.stem}-{run}.png"), )
        (artifacts / f"first-run-{notebook.stem}-{run}-console.txt").write_text(
            "\n".join([*raced_errors, "--- reloaded ---", *errors] if raced_errors else errors))
        print(f"{name}: Run All chosen {clicks} time(s); JupyterLab race (comms ignored): "
              f"{comms_ignored}{'; Save and reload clicked' if lost_note else ''}")
        page.close()
    if lost_note:
        assert "save the notebook and reload the page" in lost_note, lost_note
    assert boxes, "no NetViz was displayed"
    for box in boxes:
        assert box["view"] and box["bokeh"] >= 1, boxes
    assert errors == [], errors


def test_without_bokehjs_the_panel_says_so_and_the_view_keeps_working(chromium, jupyterlab, artifacts):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    # BokehJS cannot install itself in this page (as when it is blocked)
    page.add_init_script("Object.defineProperty(window, 'Bokeh', {get: () => undefined, set: () => {}})")
    try:
        open_and_run_all(page, jupyterlab.url("lab/workspaces/no-bokeh/tree/01_quickstart.ipynb"))
        run_code_in_new_cell(page, "viz.plots.widget.wait_ms = 1000\nviz.plots.widget")
        note = page.locator(".netviz-plots[data-plots='missing'] .netviz-plots-note").first
        note.wait_for(state="attached", timeout=30_000)
        assert "The plots cannot be shown here: BokehJS" in note.text_content()
        assert "The network view and the controls work without it" in note.text_content()
        page.locator(".netviz-root[data-ready='1']").first.wait_for(state="attached", timeout=10_000)
        assert page.locator(".netviz div[data-root-id]").count() == 0
        note.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "plots-without-bokehjs.png"))
    finally:
        page.close()
