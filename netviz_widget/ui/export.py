"""Standalone HTML: the view, its state and the bundle in one offline file (no kernel, no CDN).

The page mounts the same ES module the notebook uses, with a small in-page model that serves
the saved traits; hover, selection, zoom and pan work, interventions need a kernel.
"""

from __future__ import annotations

import base64
import html
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import Template
from typing import Any

from netviz_widget._text import strip_control
from netviz_widget.ui.view import STATIC, NetworkView

SYNCED = ("topology", "state", "selection", "node_color", "edge_color", "top_k", "drilldown",
          "highlight", "error", "height")

_TEMPLATE = Path(__file__).parent / "templates" / "standalone.html"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__b64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script", "<!--" or "-->" can form (an
    unescaped "<!--<script>" in a layer name would swallow the rest of the page)."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def standalone_html(view: NetworkView, title: str = "netviz_widget", intro: str = "",
                    sections: str = "", head: str = "", circuit: list[int] | None = None,
                    views: dict[str, Any] | None = None) -> str:
    """The page for `view`'s current traits (see module docstring).

    `intro`, `sections` and `head` are trusted HTML built by this package (escape any user
    text before passing it); `circuit` lists global unit ids for the "show circuit" toggle;
    `views` (from `offline_views.offline_views`) adds an input selector and precomputed
    drill-downs: the page swaps the chosen input's traits in and answers a click with the
    clicked unit's drill-down.
    """
    bundle = (STATIC / "widget.js").read_text(encoding="utf-8")
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    traits = {name: _jsonable(getattr(view, name)) for name in SYNCED}
    traits["__circuit__"] = [int(i) for i in circuit or []]
    if views is not None:
        traits["__views__"] = _jsonable(views)
    state = _script_json(traits)
    page = Template(_TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(title=html.escape(title), css=css.replace("</", "<\\/"), state=state,
                           bundle=bundle.replace("</script", "<\\/script"), intro=intro,
                           sections=sections, head=head)


def save_html(view: NetworkView, path: str | Path, title: str = "netviz_widget", **parts: Any) -> Path:
    """Write the standalone page for `view` to `path` and return the path (see
    `standalone_html` for the optional parts)."""
    path = Path(path)
    path.write_text(standalone_html(view, title, **parts), encoding="utf-8")
    return path


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _in_browser(view: NetworkView, width: int, action: str, path: Path) -> Path:
    """Open the standalone page in headless Chromium (Debian's /usr/bin/chromium when present,
    else Playwright's own) and run `action`: "svg" or "png"."""
    import os

    from netviz_widget.errors import NetVizError

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        raise NetVizError("save_png/save_svg", "playwright and a Chromium",
                          "no playwright module",
                          hint="pip install playwright; apt-get install chromium") from error
    executable = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    # Playwright's sync API refuses to run inside an asyncio loop (a Jupyter kernel has one):
    # do the browser work on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_render, view, width, action, path, executable).result()


def _render(view: NetworkView, width: int, action: str, path: Path, executable: str | None) -> Path:
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        page_path = Path(tmp) / "view.html"
        page_path.write_text(standalone_html(view), encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_path.as_uri())
            page.wait_for_selector(".netviz-root[data-ready='1']", timeout=30_000)
            if action == "svg":
                svg = page.evaluate("document.querySelector('.netviz-root').parentElement.netviz.toSVG()")
                path.write_text(strip_control(svg), encoding="utf-8")
            else:
                page.locator(".netviz-root").screenshot(path=str(path))
        finally:
            browser.close()
    return path


def save_svg(view: NetworkView, path: str | Path, width: int = 1200) -> Path:
    """Write the view as SVG, drawn from the same layout and scales as the canvas."""
    return _in_browser(view, width, "svg", Path(path))


def save_png(view: NetworkView, path: str | Path, width: int = 1200) -> Path:
    """Write a PNG screenshot of the view as the browser draws it."""
    return _in_browser(view, width, "png", Path(path))
