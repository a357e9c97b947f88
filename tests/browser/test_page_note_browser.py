"""The page note's button in a real JupyterLab page (page_note.py), without waiting for the
JupyterLab race that makes it appear (test_first_run.py meets the race itself, on a cold server):
a cell shows what a raced page shows, a widget output reading "model not found", beside the note's
script. The button must wait for the running cells, save the notebook and reload the page; in the
reloaded page the saved copy of the script must stay silent (a reload would not help there)."""

from __future__ import annotations

import json

import nbformat

from .lab import KERNEL_IDLE

LOST = "Error displaying widget: model not found"  # what ipywidgets writes in a raced page
FAKE_LOST = ("from IPython.display import HTML, Javascript, display\n"
             "from netviz_widget.ui import page_note\n"
             "import time\n"
             f"display(HTML('<div class=\"jupyter-widgets\">{LOST}</div>'))\n"
             "display(Javascript(page_note.watch_script(time.time())))")
SLOW = "import time\ntime.sleep(6)\nprint('slow cell done')"


def test_the_note_button_waits_saves_and_reloads(chromium, jupyterlab, artifacts):
    name = "lost-page-probe.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FAKE_LOST),
                                               nbformat.v4.new_code_cell(SLOW)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = jupyterlab.root / name
    nbformat.write(notebook, path)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        page.goto(jupyterlab.url(f"lab/workspaces/lost-note/tree/{name}"))
        page.wait_for_selector(KERNEL_IDLE, state="attached", timeout=180_000)
        page.wait_for_timeout(1000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        note = page.locator(".netviz-lost-note")
        note.wait_for(state="attached", timeout=60_000)
        assert "save the notebook and reload the page" in note.text_content()
        # the slow cell still runs: the button waits for it rather than reloading under it
        assert "[*]" in page.locator(".jp-InputArea-prompt").nth(1).text_content()
        assert json.loads(path.read_text())["cells"][0]["outputs"] == []  # nothing saved yet
        with page.expect_navigation(timeout=60_000):
            note.locator("button.netviz-lost-reload").click()
            page.wait_for_function(
                "() => document.querySelector('.netviz-lost-status')?.textContent.includes('Waiting')",
                timeout=5_000)
        saved = nbformat.read(path, as_version=4)  # multi-line strings joined
        assert any(LOST in o.get("data", {}).get("text/html", "")
                   for o in saved.cells[0].outputs)
        assert "slow cell done" in "".join(o.get("text", "") for o in saved.cells[1].outputs)
        # the reloaded page shows the saved outputs; the saved script is older than the page
        page.wait_for_selector(".jp-Notebook .jupyter-widgets", timeout=120_000)
        page.wait_for_timeout(3000)  # the script checks every second
        page.screenshot(path=str(artifacts / "lost-note-reloaded.png"))
        assert page.locator(".netviz-lost-note").count() == 0
        assert errors == [], errors
    finally:
        page.close()
