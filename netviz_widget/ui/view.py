"""NetworkView: the anywidget canvas view. Traits only; no logic beyond declaring them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anywidget
import traitlets

from netviz_widget.errors import describe

STATIC = Path(__file__).parents[1] / "static"


def _bundle(name: str) -> Path | str:
    path = STATIC / name
    if path.exists():
        return path
    if name.endswith(".js"):  # a source checkout without `npm run build`
        return ("export default { render({ el }) { el.textContent = "
                "'netviz_widget: the front-end bundle is missing; run npm run build.'; } };")
    return ""


class NetworkView(anywidget.AnyWidget):
    """The layered network view (see js/widget.js). Public state, all synced:

    - ``topology``: layers (name, kind, role, n_units, offset, image hints), blocks, class
      labels and the shipped edges (binary src/dst/weight); sent once per input/target.
    - ``state``: per-update binary node scores, activations and edge scores, the input
      heatmap, probabilities, prediction, completeness warning, interventions, ``seq``.
    - ``selection``: ``[[layer, display node], ...]`` set by Python; the front end asks for a
      selection with a ``{"request": "select", "value": [...]}`` message (see `on_request`).
    - ``node_color`` ("score" | "activation"), ``edge_color`` ("score" | "weight"),
      ``top_k`` (edges drawn), ``drilldown`` (the selected unit's drill-down),
      ``highlight`` (global unit ids to emphasise, e.g. a circuit), ``error`` (shown in the view).
    """

    _esm = _bundle("widget.js")
    _css = _bundle("widget.css")

    topology = traitlets.Dict().tag(sync=True)
    state = traitlets.Dict().tag(sync=True)
    selection = traitlets.List([]).tag(sync=True)
    # Traits the front end may write accept any value here, so that a bad one reaches NetViz's
    # validation (which refuses it visibly) instead of failing silently inside the comm.
    node_color = traitlets.Any("score").tag(sync=True)
    edge_color = traitlets.Any("score").tag(sync=True)
    top_k = traitlets.Any(2000).tag(sync=True)
    drilldown = traitlets.Dict().tag(sync=True)
    highlight = traitlets.Any([]).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Any(460).tag(sync=True)

    # Python owns these: a front end that writes them (a tampered topology could widen the
    # accepted unit ids) is ignored; Python's value stays and is sent back. The front end asks
    # for a selection with a request; Python validates it and sets `selection`.
    PYTHON_OWNED = frozenset({"topology", "state", "selection", "drilldown", "error"})

    def __init__(self, defer_open: bool = False, **kwargs: object) -> None:
        """`defer_open=True`: open the comm only at `open_with_state()`, so that the front end
        gets the topology and state in the model's creation message. anywidget 0.11 gives a model
        2 s to load its ES module and drops every later update message to a model that took
        longer (a busy page or machine): the first picture must not depend on one."""
        self._defer_open = defer_open
        self._request_handlers: dict[str, Callable[[object], None]] = {}
        super().__init__(**kwargs)
        self.on_msg(self._on_message)

    def on_request(self, kind: str, handler: Callable[[object], None]) -> None:
        """Call `handler(value)` for each front-end request ``{"request": kind, "value": value}``
        (a custom message); today one kind, ``"select"`` (value: ``[[layer, display node], ...]``)."""
        self._request_handlers[kind] = handler

    def request(self, kind: str, payload: object) -> None:
        """Handle a request as if the front end had sent it (tests, scripts, benchmarks): the
        message takes the comm's path to the handlers."""
        self._handle_custom_msg({"request": kind, "value": payload}, [])

    def _on_message(self, _widget: object, content: object, _buffers: object) -> None:
        """A custom message from the front end (untrusted). Messages without a "request" key
        are not ours (anywidget's own) and pass; an unknown request is refused visibly."""
        if not isinstance(content, dict) or "request" not in content:
            return
        kind = content["request"]
        handler = self._request_handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.error = f"Rejected a request from the view: unknown request {describe(kind)}."
            return
        handler(content.get("value"))

    def open(self) -> None:
        """Open the comm to the front end, unless it is deferred (see `__init__`)."""
        if not self._defer_open:
            super().open()

    def open_with_state(self) -> None:
        """Open the deferred comm: its creation message carries the current state."""
        self._defer_open = False
        self.open()

    def set_state(self, sync_data: dict) -> None:
        """Apply an update from the front end, except to traits that Python owns."""
        refused = self.PYTHON_OWNED.intersection(sync_data)
        super().set_state({k: v for k, v in sync_data.items() if k not in refused})
        if refused:
            self.send_state(sorted(refused))
