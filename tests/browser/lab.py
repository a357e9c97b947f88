"""Playwright helpers for driving JupyterLab."""

from __future__ import annotations

import time

from playwright.sync_api import Page

KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
RUNNING = ("() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
           ".some(p => p.textContent.includes('[*]'))")
NOTEBOOK_STATE = """() => ({
    kernel: document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? 'none',
    prompts: [...document.querySelectorAll('.jp-InputArea-prompt')].map(p => p.textContent.trim()),
    outputs: [...document.querySelectorAll('.jp-OutputArea-output')]
        .map(o => o.innerText.slice(0, 300)).filter(t => t.trim()),
})"""


def notebook_state(page: Page) -> dict:
    """Kernel status, execution prompts and the visible outputs: what a failed run looked like."""
    try:
        return page.evaluate(NOTEBOOK_STATE)
    except Exception as error:  # the page itself may be gone
        return {"unavailable": str(error)}


def _run_all(page: Page, ready: str) -> None:
    """Run All until execution visibly starts: Run All sent before the kernel is connected is
    silently dropped, and saved prompts look executed, so a `[*]` prompt or `ready` is the sign."""
    started = f"(ready) => document.querySelector(ready) !== null || ({RUNNING})()"
    deadline = time.time() + 120
    while True:
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(started, arg=ready, timeout=15_000)
            return
        except Exception:
            if time.time() > deadline:
                raise


def open_and_run_all(page: Page, url: str, ready: str = ".netviz-root[data-ready='1']",
                     timeout_s: float = 240, attempts: int = 3) -> None:
    """Start the notebook's kernel, open the notebook, Run All, and wait for `ready`
    and for every cell to finish. A run that ends without `ready` (a widget that did not render)
    is retried; a run that never ends, or `attempts` runs without `ready`, fail with the
    notebook's state (kernel, prompts, outputs) in the message."""
    # A page that is connected while its kernel starts may end up with a widget manager that misses
    # the kernel's comms ("Error displaying widget: model not found"; seen on clean clones). So a
    # throwaway page starts the kernel and waits until it is idle; the test's page then connects to
    # the running kernel once and cleanly (and never sees the throwaway page's unload errors).
    starter = page.context.browser.new_page()
    try:
        starter.goto(url)
        starter.wait_for_selector(KERNEL_IDLE, state="attached", timeout=180_000)
    finally:
        starter.close()
    page.goto(url)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_selector(KERNEL_IDLE, state="attached", timeout=180_000)
    for _attempt in range(attempts):
        _run_all(page, ready)
        deadline, idle_since = time.time() + timeout_s, None
        while time.time() < deadline:
            if not page.evaluate(RUNNING):
                break
            # `[*]` prompts beside an idle kernel for long: the requests were dropped; run again
            idle = page.locator(KERNEL_IDLE).count() > 0
            idle_since = (idle_since or time.time()) if idle else None
            if idle_since and time.time() - idle_since > 30:
                break
            page.wait_for_timeout(500)
        else:
            raise TimeoutError(f"cells still running after {timeout_s:.0f} s: {notebook_state(page)}")
        view = page.locator(ready).first
        try:  # the view renders asynchronously (an ES module import) after its cell ends
            # attached, not "visible": JupyterLab may skip painting cells scrolled out of view
            view.wait_for(state="attached", timeout=60_000)
        except Exception:
            continue
        view.scroll_into_view_if_needed(timeout=30_000)
        return
    raise TimeoutError(f"{ready} never appeared in {attempts} runs: {notebook_state(page)}")


def run_code_in_new_cell(page: Page, code: str, timeout_s: float = 60) -> str:
    """Append a code cell at the end, run it and return its text output."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    count = cells.count()
    cells.nth(count - 1).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > {count}")
    page.keyboard.press("Enter")
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-Notebook .jp-Cell").nth(count).locator(".jp-OutputArea-output")
    output.first.wait_for(timeout=timeout_s * 1000)
    return output.first.inner_text()


def unit_point(page: Page, layer: str, unit: int) -> tuple[float, float]:
    """Page coordinates of a unit of the (first) network view."""
    stage = page.locator(".netviz-stage").first
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    position = page.evaluate(
        "([layer, unit]) => document.querySelector('.netviz-root').parentElement"
        ".netviz.unitPosition(layer, unit)", [layer, unit])
    return box["x"] + position[0], box["y"] + position[1]
