"""Open a saved page from file:// with every other request blocked, collecting errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class OfflinePage:
    """A page in its own context; `errors` (console errors, page errors) and `outside` (blocked
    requests to anything but file:, blob: or data:) fill while it runs."""

    context: object
    page: object
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


def open_offline(chromium, path: Path, viewport: dict) -> OfflinePage:
    """A new context that only serves local URLs, with `path` opened in it. Close `.context`."""
    context = chromium.new_context(viewport=viewport)
    offline = OfflinePage(context, None)

    def only_local(route):
        url = route.request.url
        if url.startswith(("file:", "blob:", "data:")):
            route.continue_()
        else:
            offline.outside.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = offline.page = context.new_page()
    page.on("console", lambda m: offline.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: offline.errors.append(str(e)))
    try:
        page.goto(path.as_uri())
    except BaseException:
        context.close()
        raise
    return offline
