"""A note and a "Save and reload" button where JupyterLab lost a page's widget messages.

The fallback: netviz-widget's JupyterLab extension (js/lab/session_start.js) prevents the race
below where it is loaded; this note serves pages without it (the extension disabled, a JupyterLab
whose classes it does not recognise).

Choosing Run All while JupyterLab 4.6 is still connecting a just-opened notebook to its kernel
starts a kernel from the Run All while the notebook's own start-up connects to that same kernel
again: the second kernel connection is made while the first lives, so JupyterLab gives it
``handleComms=false``, then drops the first. That page ignores every widget message: no widget
model is created, each widget output reads "Error displaying widget: model not found", and no
widget code (ours included) runs there. The kernel is fine, and a reloaded page gets a connection
that handles comms and restores every view from the kernel. Nothing short of a new kernel
connection helps: "Reconnect to kernel" reopens the same connection (still ignoring comms), and a
re-display from the kernel lands in the same deaf page.

No widget code can repair such a page, but an ``application/javascript`` output still runs in it
(BokehJS loads that way). So the first NetViz of a kernel displays this small script: it watches
its notebook and, under each widget output that failed with "model not found", says what happened
and offers one button that does the repair: wait until the notebook's running cells have ended,
save the notebook (its toolbar's save button), and reload the page only once the notebook's tab
reads saved and no other open document has unsaved changes; otherwise it says what is left to do
and reloads nothing, so no edit is lost. The script acts only in the page whose Run All made it
(the output is newer than the page): a notebook reopened from disk after its kernel went away
shows "model not found" too, and there a reload would not help.
"""

from __future__ import annotations

import json
import time

_SHOWN = False
WATCH_S = 1800  # how long the script watches its notebook (a Run All of the study notebooks)
SAVE_WAIT_S = 60  # how long the button waits for the save to be confirmed before giving up

NOTE = ("The widgets did not reach this page: JupyterLab ignores widget messages in it (this "
        "happens when Run All is chosen while the notebook is still connecting to its kernel). "
        "The kernel is fine: save the notebook and reload the page, and the views come back. "
        "The button does both, once the running cells have ended.")
BUTTON = "Save and reload"
WAITING = "Waiting for the running cells to end…"
SAVING = "Saving…"
OTHER_DIRTY = ("Saved. Another open document has unsaved changes: save it, then reload the "
               "page.")
NOT_SAVED = ("The notebook was not saved (see JupyterLab's dialog, if any): save it, then "
             "reload the page.")
NO_SAVE_BUTTON = "This page has no save button here: save the notebook, then reload the page."

WATCH_JS = """
(function () {
  var created = %(created_ms)d, text = %(text)s;
  // a saved copy of this output, rendered when a notebook is opened, is older than its page
  if (created < performance.timeOrigin) return;
  var here = (typeof element !== "undefined" && element && element.nodeType) ? element
    : document.currentScript;
  function scope() {  // this output's notebook once the output is in the page
    return (here && here.closest && here.closest(".jp-Notebook")) || document;
  }
  function running(panel) {
    return [].some.call(panel.querySelectorAll(".jp-InputArea-prompt"), function (p) {
      return (p.textContent || "").indexOf("[*]") >= 0;
    });
  }
  function saveButton(panel) {
    var item = panel.querySelector(".jp-Toolbar-item[data-jp-item-name='save']");
    return item && (item.querySelector("jp-button, button") || item);
  }
  function saved(panel) {  // the notebook's tab reads saved: null where there is no such tab
    var tab = panel.id && document.querySelector(
      ".lm-TabBar-tab[data-id='" + panel.id + "']");
    return tab ? !tab.classList.contains("jp-mod-dirty") : null;
  }
  function repair(box, button, status) {
    var panel = box.closest(".jp-NotebookPanel");
    if (!panel) { status.textContent = text.noSave; return; }
    button.disabled = true;
    var started = null, waited = 0;
    var timer = setInterval(function () {
      if (started === null) {
        if (running(panel)) { status.textContent = text.waiting; return; }
        var save = saveButton(panel);
        if (!save) { clearInterval(timer); status.textContent = text.noSave; return; }
        status.textContent = text.saving;
        save.click();
        started = Date.now();
        return;
      }
      waited = Date.now() - started;
      if (saved(panel) === true && waited > 300) {
        clearInterval(timer);
        if (document.querySelector(".jp-mod-dirty")) { status.textContent = text.otherDirty; return; }
        window.location.reload();
      } else if (waited > %(save_wait_ms)d) {
        clearInterval(timer); status.textContent = text.notSaved; button.disabled = false;
      }
    }, 250);
  }
  var watchStarted = Date.now();
  var watcher = setInterval(function () {
    if (Date.now() - watchStarted > %(watch_ms)d) { clearInterval(watcher); return; }
    scope().querySelectorAll(".jupyter-widgets").forEach(function (box) {
      var boxText = (box.textContent || "").trim();
      if (box.dataset.netvizNote || boxText.indexOf("Error displaying widget: model not found") !== 0) return;
      box.dataset.netvizNote = "1";
      var p = document.createElement("div");
      p.className = "netviz-lost-note";
      p.style.cssText = "margin:4px 0;padding:6px 8px;border-left:3px solid #d55e00;"
        + "background:#fff4ec;color:#222;font-size:13px;";
      var words = document.createElement("div");
      words.textContent = text.note;
      var button = document.createElement("button");
      button.className = "netviz-lost-reload";
      button.textContent = text.button;
      button.style.cssText = "margin-top:4px;";
      var status = document.createElement("span");
      status.className = "netviz-lost-status";
      status.style.cssText = "margin-left:8px;";
      button.addEventListener("click", function () { repair(box, button, status); });
      p.appendChild(words); p.appendChild(button); p.appendChild(status);
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


def watch_script(created_s: float) -> str:
    """The watching script for an output made at `created_s` (seconds since the epoch)."""
    text = {"note": NOTE, "button": BUTTON, "waiting": WAITING, "saving": SAVING,
            "otherDirty": OTHER_DIRTY, "notSaved": NOT_SAVED, "noSave": NO_SAVE_BUTTON}
    return WATCH_JS % {"created_ms": int(created_s * 1000), "text": json.dumps(text),
                       "watch_ms": WATCH_S * 1000, "save_wait_ms": SAVE_WAIT_S * 1000}


def ensure_page_note() -> None:
    """Display the watching script once per kernel (nothing outside an ipykernel kernel)."""
    global _SHOWN
    if _SHOWN or not in_ipykernel():
        return
    from IPython.display import Javascript, display

    display(Javascript(watch_script(time.time())))
    _SHOWN = True
