"""Every notebook the way a new user runs it: a just-started JupyterLab (one per run), one fresh
page, Run All chosen once while the notebook opens ("opening": its file still loading) or as soon
as it shows its cells ("loaded"), its kernel still starting, default JupyterLab settings. Every
cell must run from that one Run All, the page's kernel connection must handle widget messages, and
every NetViz must draw its view and its bokeh figures, with no console error. What makes this hold
is netviz-widget's JupyterLab extension (js/lab/session_start.js); the control runs the "opening"
path with the extension disabled and asserts that JupyterLab's race shows (a page deaf to widget
messages, or cells left unrun): it shows that the test can fail, and fails itself the day
JupyterLab no longer has the race (``NETVIZ_FIRST_RUN_CONTROL=0`` skips it).

One run of the quickstart at each moment by default; ``NETVIZ_FIRST_RUN_NOTEBOOKS=all`` takes
every notebook with a NetViz, ``NETVIZ_FIRST_RUN_REPEAT=5`` repeats each,
``NETVIZ_FIRST_RUN_WHEN=opening`` (or ``loaded``) chooses Run All at one moment only, and
``NETVIZ_FIRST_RUN_BURN=2`` runs that many CPU-burning processes beside the browser (a loaded machine).
"""

from __future__ import annotations

import json
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
# when Run All is chosen (see _run_all_once): both by default
WHEN = os.environ.get("NETVIZ_FIRST_RUN_WHEN", "opening,loaded").split(",")
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


CONTROL = os.environ.get("NETVIZ_FIRST_RUN_CONTROL", "1") == "1"
EXTENSION_PLUGIN = "netviz-widget:session-start"
# the test servers switch JupyterLab's debugger off (jupyter_server.py); the control also netviz's
DISABLE_EXTENSION = {"disabledExtensions": {"@jupyterlab/debugger-extension": True, "netviz-widget": True}}


def _fresh_lab(tmp_path_factory, page_config: dict | None = None) -> JupyterLab:
    """A just-started JupyterLab with default settings: the cold path a user takes (no throwaway
    notebook warms the server up). `window.jupyterapp` is exposed so that the test can read the
    page's kernel connection (COMMS_IGNORED) and which plugins are active."""
    return JupyterLab(tmp_path_factory.mktemp("first-run"), [], settings=USER_SETTINGS,
                      page_config={"exposeAppInBrowser": True, **(page_config or {})})


@pytest.fixture
def fresh_lab(tmp_path_factory, chromium):
    server = _fresh_lab(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture
def fresh_lab_without_extension(tmp_path_factory, chromium):
    server = _fresh_lab(tmp_path_factory, DISABLE_EXTENSION)
    yield server
    server.stop()


# JupyterLab 4.6 race (traced with stacks here, session 5): Run All chosen while a just-opened
# notebook's SessionContext is still initialising makes runCell call startKernel, which starts a
# session and connects to its kernel; the still-running SessionContext._initialize then finds that
# session by path and connects to the same kernel again. KernelManager.connectTo gives the second
# connection handleComms=false (the first still lives), and the first is then disposed. That page
# ignores every comm message: no widget model is created ("widget model not found"). A Run All a
# little later, while the kernel starts, leaves every cell but the first unrun (CodeCell.execute
# finds no kernel). netviz-widget's JupyterLab extension (js/lab/session_start.js) makes both wait
# for the start-up under way.
COMMS_IGNORED = """() => {
    const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
    return kernel ? kernel.handleComms === false : null;
}"""
PLUGIN_ACTIVE = f"() => window.jupyterapp?.isPluginActivated('{EXTENSION_PLUGIN}') ?? null"
KERNEL_STATUS = ("() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel"
                 "?.status ?? null")
# what Run All met: had the notebook's file loaded, and was a session there yet
PHASE = """() => {
    const panel = window.jupyterapp?.shell?.currentWidget;
    return {loaded: panel?.context?.isReady ?? null, session: !!panel?.sessionContext?.session};
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


def _run_all_once(page, url: str, name: str, when: str, n_cells: int,
                  timeout_s: float) -> tuple[list[str], dict]:
    """Open notebook `name` at `url`, choose Run All once, and wait until the kernel is idle with
    no cell running or queued (15 s in a row), or every code cell has run. Returns the code cells'
    prompts ("[3]" ran; "[ ]" was left unrun) and the phase Run All met (PHASE).
    `when`: "opening", while the notebook's file loads: the server's answer with the file is held
    back until Run All has been chosen, so the panel holds the new model's one empty cell (under a
    spinner; the Run menu works already); "loaded", once the panel shows the file's `n_cells` cells."""
    held: list = []
    pattern = re.compile(rf"/api/contents/{re.escape(name)}\?.*content=1")
    if when == "opening":  # the route is set before the page asks for anything
        page.route(pattern, lambda route: held.append(route))
    # with the file's answer held back, the page never reaches its load event: do not wait for it
    page.goto(url, wait_until="commit")
    if when == "opening":
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", state="attached", timeout=120_000)
        deadline = time.time() + 60
        while not held and time.time() < deadline:
            page.wait_for_timeout(100)
        assert held, "the notebook's file was not requested"
        _click_run_all(page)
        phase = page.evaluate(PHASE)
        for route in held:
            route.continue_()
        page.unroute(pattern)
    else:
        page.wait_for_function(
            f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= {n_cells}", timeout=120_000)
        _click_run_all(page)
        phase = page.evaluate(PHASE)
    deadline, idle_since = time.time() + timeout_s, None
    while time.time() < deadline:
        prompts = page.evaluate(CODE_PROMPTS)
        # the kernel connection's own status (the toolbar's indicator says idle while the kernel
        # still starts; Notebook 7 has no status bar)
        idle = page.evaluate(KERNEL_STATUS) == "idle"
        if idle and not _unrun(prompts):
            return prompts, phase
        idle_since = (idle_since or time.time()) if idle and "[*]" not in "".join(prompts) else None
        if idle_since and time.time() - idle_since > 15:  # nothing runs: cells left unrun
            return prompts, phase
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


def _first_run(chromium, server: JupyterLab, notebook, run: int, when: str, artifacts, tag: str,
               front_end: str = "lab") -> dict:
    """Open a copy of `notebook` in a new page of `server` (`front_end`: "lab", JupyterLab, or
    "notebook7"), choose Run All once (`when`: see _run_all_once), and return what the page shows:
    prompts, phase, comms_ignored, plugin_active, boxes, errors."""
    tag = f"{tag}-{when}"
    name = f"{notebook.stem}-{tag}-{run}.ipynb"  # a new file: a new kernel, as on a first open
    shutil.copy(notebook, server.root / name)
    errors: list[str] = []
    state: dict = {"prompts": [], "phase": {}, "comms_ignored": None, "plugin_active": None, "boxes": []}
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        with cpu_burners(BURN):
            url = server.url(f"lab/workspaces/first-{tag}-{notebook.stem}-{run}/tree/{name}"
                             if front_end == "lab" else f"notebooks/{name}")
            # 02's whole Run All took 570+ s beside a burner on 2 loaded cores
            n_cells = len(json.loads(notebook.read_text())["cells"])
            state["prompts"], state["phase"] = _run_all_once(page, url, name, when, n_cells, timeout_s=900)
            state["comms_ignored"] = page.evaluate(COMMS_IGNORED)
            state["plugin_active"] = page.evaluate(PLUGIN_ACTIVE)
            # a page that ignores comms draws no view: no use waiting for one there
            state["boxes"] = (page.evaluate(NETVIZ_STATE) if state["comms_ignored"]
                              else _wait_for_views(page, 120))
    finally:
        if page.locator(".netviz").count():  # the first NetViz, where a failure would show
            page.locator(".netviz").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"first-run-{tag}-{notebook.stem}-{run}.png"))
        (artifacts / f"first-run-{tag}-{notebook.stem}-{run}-console.txt").write_text("\n".join(errors))
        unrun = len(_unrun(state["prompts"]))
        print(f"{name}: one Run All ({state['phase']}); code cells {len(state['prompts'])}, "
              f"left unrun {unrun}; page ignores comms: {state['comms_ignored']}; "
              f"extension active: {state['plugin_active']}")
        page.close()
    state["errors"] = errors
    return state


def _unrun(prompts: list[str]) -> list[str]:
    """The code cells' prompts that show no execution count ("[ ]": left unrun)."""
    return [p for p in prompts if not re.search(r"\[\d+\]", p)]


def _assert_one_run_all_drew_everything(state: dict, when: str, own_errors: tuple[str, ...] = ()) -> None:
    """What a user must see after one Run All (`state` from _first_run): the extension active, Run
    All at the moment meant, every code cell run, widget messages handled, every NetViz drawn (view
    and bokeh root), no console error but the front end's own `own_errors`."""
    assert state["plugin_active"] is True, "netviz-widget's JupyterLab extension is not active"
    assert state["phase"]["loaded"] is (when == "loaded"), state["phase"]  # the moment meant
    assert state["prompts"] and not _unrun(state["prompts"]), f"cells left unrun: {state['prompts']}"
    assert state["comms_ignored"] is False, "the page's kernel connection ignores widget messages"
    assert state["boxes"], "no NetViz was displayed"
    for box in state["boxes"]:
        assert box["view"] and box["bokeh"] >= 1, state["boxes"]
    assert [e for e in state["errors"] if e not in own_errors] == [], state["errors"]


@pytest.mark.parametrize("run", range(REPEAT), ids=lambda r: f"run{r}")
@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_run_all_draws_every_netviz(notebook, when, run, fresh_lab, chromium, artifacts):
    """The user's path, with the package's JupyterLab extension as pip installs it: one Run All,
    chosen while the notebook opens or as soon as it shows its cells, runs every cell; the page
    handles widget messages; every NetViz draws; no console error."""
    state = _first_run(chromium, fresh_lab, notebook, run, when, artifacts, "user")
    _assert_one_run_all_drew_everything(state, when)

# Notebook 7.6.5 itself throws this at start-up (in notebook_core.js, from a signal's handler), also
# with netviz-widget's extension disabled and with no plugin disabled (checked 2026-11-28): not ours
NOTEBOOK7_OWN_ERROR = "pageerror: Cannot read properties of undefined (reading 'schema')"


@pytest.mark.parametrize("when", WHEN)
def test_first_run_all_in_notebook7(when, fresh_lab, chromium, artifacts):
    """The quickstart's first Run All in Notebook 7 (its own page per notebook), which loads the
    same extension: the same assertions as in JupyterLab, less Notebook 7's own start-up error."""
    notebook = next(p for p in WITH_NETVIZ if p.stem == "01_quickstart")
    state = _first_run(chromium, fresh_lab, notebook, 0, when, artifacts, "notebook7", front_end="notebook7")
    _assert_one_run_all_drew_everything(state, when, own_errors=(NOTEBOOK7_OWN_ERROR,))

@pytest.mark.skipif(not CONTROL, reason="NETVIZ_FIRST_RUN_CONTROL=0")
@pytest.mark.parametrize("run", range(REPEAT), ids=lambda r: f"run{r}")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_control_without_the_extension_the_race_shows(notebook, run, fresh_lab_without_extension,
                                                       chromium, artifacts):
    """The "opening" path with netviz-widget's extension disabled: JupyterLab's race must show
    (the page ignores widget messages, or one Run All leaves cells unrun). With the file held back
    until Run All is chosen, stock JupyterLab 4.6 runs the one empty cell and leaves every cell of
    the file unrun; measured runs are in docs/reliability.md section 11."""
    state = _first_run(chromium, fresh_lab_without_extension, notebook, run, "opening", artifacts,
                       "control")
    assert state["plugin_active"] is False
    assert state["phase"]["loaded"] is False, state["phase"]
    unrun = _unrun(state["prompts"])
    assert state["comms_ignored"] or unrun, f"no race this time: {state['prompts']}"


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
