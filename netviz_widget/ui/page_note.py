"""A note, in words, where JupyterLab lost a page's widget messages.

Choosing Run All while JupyterLab 4.6 is still connecting a just-opened notebook to its kernel
starts a kernel from the Run All while the notebook's own start-up connects to that same kernel
again: the second kernel connection is made while the first lives, so JupyterLab gives it
``handleComms=false``, then drops the first. That page ignores every widget message: no widget
model is created, each widget output reads "Error displaying widget: model not found", and no
widget code (ours included) runs there. The kernel is fine, and a reloaded page gets a connection
that handles comms and restores every view from the kernel.

No widget code can repair such a page, but an ``application/javascript`` output still runs in it
(BokehJS loads that way). So the first NetViz of a kernel displays this small script: it watches
its notebook for a while and, under each widget output that failed with "model not found", says
what happened and what to do (save the notebook, reload the page).
"""

from __future__ import annotations

_SHOWN = False
WATCH_S = 600  # how long the script watches its notebook (a Run All of the study notebooks)

NOTE = ("The widgets did not reach this page: JupyterLab ignores widget messages in it (this "
        "happens when Run All is chosen while the notebook is still connecting to its kernel). "
        "The kernel is fine: save the notebook and reload the page, and the views come back. "
        "(If the kernel was restarted since this output was made, run the cell again instead.)")

WATCH_JS = """
(function () {
  var here = (typeof element !== "undefined" && element && element.nodeType) ? element
    : document.currentScript;
  var scope = (here && here.closest && here.closest(".jp-Notebook")) || document;
  var note = %(note)s;
  var started = Date.now();
  var timer = setInterval(function () {
    if (Date.now() - started > %(watch_ms)d) { clearInterval(timer); return; }
    scope.querySelectorAll(".jupyter-widgets").forEach(function (box) {
      var text = (box.textContent || "").trim();
      if (box.dataset.netvizNote || text.indexOf("Error displaying widget: model not found") !== 0) return;
      box.dataset.netvizNote = "1";
      var p = document.createElement("div");
      p.className = "netviz-lost-note";
      p.style.cssText = "margin:4px 0;padding:6px 8px;border-left:3px solid #d55e00;"
        + "background:#fff4ec;color:#222;font-size:13px;";
      p.textContent = note;
      box.appendChild(p);
    });
  }, 1000);
})();
"""


def in_ipykernel() -> bool:
    """True inside a Jupyter (ipykernel) kernel, where outputs go to a front end."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def ensure_page_note() -> None:
    """Display the watching script once per kernel (nothing outside an ipykernel kernel)."""
    global _SHOWN
    if _SHOWN or not in_ipykernel():
        return
    import json

    from IPython.display import Javascript, display

    display(Javascript(WATCH_JS % {"note": json.dumps(NOTE), "watch_ms": WATCH_S * 1000}))
    _SHOWN = True
