"""Playwright helpers for driving JupyterLab."""

from __future__ import annotations

import time

from playwright.sync_api import Page


def open_and_run_all(page: Page, url: str, ready: str = ".netviz-root[data-ready='1']",
                     timeout_s: float = 240) -> None:
    """Open a notebook and Run All; retry only until execution visibly starts (a `[*]` prompt or
    the `ready` element: saved prompts look executed, and Run All sent before the kernel is
    connected is silently dropped), then wait for `ready` and for every cell to finish."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    started = ("(ready) => document.querySelector(ready) !== null || "
               "[...document.querySelectorAll('.jp-InputArea-prompt')]"
               ".some(p => p.textContent.includes('[*]'))")
    deadline = time.time() + 120
    while True:
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(started, arg=ready, timeout=15_000)
            break
        except Exception:
            if time.time() > deadline:
                raise
    # attached, not "visible": JupyterLab may skip painting cells scrolled out of view
    view = page.locator(ready).first
    view.wait_for(state="attached", timeout=timeout_s * 1000)
    view.scroll_into_view_if_needed(timeout=30_000)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
        ".some(p => p.textContent.includes('[*]'))", timeout=timeout_s * 1000)


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
