"""Standalone HTML: the view, its state and the bundle in one offline file (no kernel, no CDN).

The page mounts the same ES module the notebook uses, with a small in-page model that serves
the saved traits; hover, selection, zoom and pan work, interventions need a kernel.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from string import Template
from typing import Any

from .view import STATIC, NetworkView

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


def standalone_html(view: NetworkView, title: str = "netviz_widget", intro: str = "",
                    sections: str = "", head: str = "", circuit: list[int] | None = None) -> str:
    """The page for `view`'s current traits (see module docstring).

    `intro`, `sections` and `head` are trusted HTML built by this package (escape any user
    text before passing it); `circuit` lists global unit ids for the "show circuit" toggle.
    """
    bundle = (STATIC / "widget.js").read_text(encoding="utf-8")
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    traits = {name: _jsonable(getattr(view, name)) for name in SYNCED}
    traits["__circuit__"] = [int(i) for i in circuit or []]
    state = json.dumps(traits).replace("</", "<\\/")
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
