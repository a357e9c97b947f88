"""The quickstart as a marimo notebook (`marimo run`), in headless Chromium: the view, wrapped as
`mo.ui.anywidget(viz.view)`, draws and answers a click (the selection reaches Python, whose
drill-down comes back to the view)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from .jupyter_server import free_port

NOTEBOOK = '''
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import torch

    from netviz_widget import NetViz
    from netviz_widget.datasets import digits_mlp, load_digits_split

    torch.set_num_threads(2)
    data = load_digits_split()
    viz = NetViz(digits_mlp(), data.x_test[:8], reference=data.x_train)
    view = mo.ui.anywidget(viz.view)
    view
    return (viz,)


if __name__ == "__main__":
    app.run()
'''


@pytest.fixture
def marimo_app(tmp_path):
    if shutil.which("marimo", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("marimo is not installed (it is in the dev extra)")
    path = tmp_path / "quickstart_marimo.py"
    path.write_text(NOTEBOOK)
    port = free_port()
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    log = open(tmp_path / "marimo.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "marimo", "run", str(path), "--headless", "--host", "127.0.0.1",
         "--port", str(port), "--no-token"], env=env, stdout=log, stderr=subprocess.STDOUT,
        cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "marimo.log").read_text())
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_marimo_draws_the_view_and_answers_a_click(chromium, marimo_app, artifacts):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        page.goto(marimo_app)
        root = page.locator(".netviz-root[data-ready='1']").first
        root.wait_for(state="attached", timeout=300_000)  # the cell trains the model first
        root.scroll_into_view_if_needed()
        header = page.locator(".netviz-header").first.inner_text()
        assert "predicted" in header and "(p = 0." in header, header
        # click a unit: the selection goes to Python, which sends the drill-down back
        stage = page.locator(".netviz-stage").first
        box = stage.bounding_box()
        x, y = root.evaluate("(el) => el.parentElement.netviz.unitPosition('fc2', 3)")
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.locator(".netviz-drill-title", has_text="fc2[3]").first.wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "marimo-quickstart.png"))
    finally:
        page.close()
    assert errors == [], errors
