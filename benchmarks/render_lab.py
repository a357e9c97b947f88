"""The JupyterLab part of bench_render.py: request to pixels for an Apply in a real JupyterLab
(kernel, transfer, decode, frame wait, draw), imported by bench_render.py from this folder."""

from __future__ import annotations

import importlib.util
import json
import statistics
import tempfile
from pathlib import Path
from types import ModuleType

# ---------------------------------------------------------------- JupyterLab: request to pixels
LAB_MODELS = {
    "digits_mlp": ("from netviz_widget.datasets import digits_mlp, load_digits_split\n"
                   "data = load_digits_split()\n"
                   "viz = NetViz(digits_mlp(), data.x_test[:8], reference=data.x_train)\n"
                   "viz.select('fc1', 3)"),
    "digits_cnn": ("from netviz_widget.datasets import digits_cnn, load_digits_split\n"
                   "data = load_digits_split()\n"
                   "viz = NetViz(digits_cnn(), data.images(data.x_test[:8]), "
                   "reference=data.images(data.x_train))\n"
                   "viz.select('conv2', 3)"),
    "mlp_784_1024_512_10": ("from torch import nn\n"
                            "torch.manual_seed(0)\n"
                            "model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), "
                            "nn.ReLU(), nn.Linear(512, 10)).eval()\n"
                            "viz = NetViz(model, torch.rand(1, 784))\n"
                            "viz.select('2', 7)"),
}
# The kernel side is timed by wrapping the NetViz instance's intervene (which the Apply button
# calls) and observing its `state` trait: ipywidgets sends a trait to the front end before it
# calls observers, so the observer's time is when the new state left the kernel.
LAB_PRELUDE = """import json, time, torch
from netviz_widget import NetViz
{model}
_bench = {{"start": [], "sent": []}}
_intervene = viz.intervene
def _timed_intervene(*args, **kwargs):
    _bench["start"].append(time.perf_counter())
    return _intervene(*args, **kwargs)
viz.intervene = _timed_intervene
viz.view.observe(lambda change: _bench["sent"].append(time.perf_counter()), "state")
viz"""
LAB_REPORT = ("print(json.dumps([1e3 * (min(t for t in _bench['sent'] if t > s) - s) "
              "for s in _bench['start']]))")
# Click a button of the controls and resolve when the view has drawn a newer state and its
# canvases are rasterised: {total, trace (the view's timestamps), t0}.
LAB_CLICK = """async (label) => {
  const el = document.querySelector('.netviz-root').parentElement;
  const root = el.querySelector('.netviz-root');
  const button = [...document.querySelectorAll('.netviz-controls button')]
    .find((b) => b.textContent.trim() === label);
  for (let i = 0; button.disabled && i < 1000; i++) await new Promise((r) => setTimeout(r, 10));
  const seq = Number(root.dataset.seq);
  const canvases = [...el.querySelectorAll('.netviz-stage canvas')];
  const drawn = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (Number(root.dataset.seq) <= seq) return;
      observer.disconnect();
      for (const c of canvases) c.getContext('2d').getImageData(0, 0, 1, 1);
      resolve(performance.now());
    });
    observer.observe(root, { attributes: true, attributeFilter: ['data-seq'] });
    setTimeout(() => resolve(Number.NaN), 60000);
  });
  const t0 = performance.now();
  button.click();
  const t1 = await drawn;
  if (Number.isNaN(t1)) throw new Error(`no new frame 60 s after ${label}: ${root.innerText.slice(0, 300)}`);
  return { total: t1 - t0, t0, t1, trace: { ...el.netviz.trace } };
}"""


def browser_helper(name: str) -> ModuleType:
    """A module of tests/browser/ loaded from its file (no sys.path change; an installed
    distribution that ships a top-level `tests` package cannot shadow it)."""
    path = Path(__file__).resolve().parents[1] / "tests" / "browser" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"netviz_browser_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lab_benchmark(browser, repeats: int) -> list[dict]:
    """Apply (timed) then Undo (untimed), `repeats` times per model, in a real JupyterLab."""
    import nbformat

    JupyterLab = browser_helper("jupyter_server").JupyterLab
    lab = browser_helper("lab")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = JupyterLab(Path(tmp), [])
        try:
            for name, model_code in LAB_MODELS.items():
                notebook = nbformat.v4.new_notebook()
                notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                                   "language": "python"}
                notebook.cells.append(nbformat.v4.new_code_cell(LAB_PRELUDE.format(model=model_code)))
                nbformat.write(notebook, server.root / f"{name}.ipynb")
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                try:
                    lab.open_and_run_all(page, server.url(f"lab/workspaces/{name}/tree/{name}.ipynb"))
                    page.locator(".netviz-root").first.scroll_into_view_if_needed()
                    clicks = []
                    for i in range(repeats + 1):
                        page.wait_for_timeout(400)  # the kernel finishes the last request first
                        click = page.evaluate(LAB_CLICK, "Apply")
                        if i:  # the first round warms up
                            clicks.append(click)
                        page.evaluate(LAB_CLICK, "Undo")
                    kernel = json.loads(lab.run_code_in_new_cell(page, LAB_REPORT))[1:]
                finally:
                    page.close()
                rows.append(lab_row(name, clicks, kernel))
        finally:
            server.stop()
    return rows


def lab_row(name: str, clicks: list[dict], kernel: list[float]) -> dict:
    """Medians of the total and its parts: kernel (Apply handler until the state is sent),
    transfer (the rest until the view receives the state: click → kernel and kernel → browser),
    decode (the view's state handler), frame wait (until the next animation frame), draw
    (drawing calls and raster)."""
    parts = {"total": [], "kernel": [], "transfer": [], "decode": [], "frame_wait": [], "draw": []}
    for click, kernel_ms in zip(clicks, kernel):
        trace = click["trace"]
        parts["total"].append(click["total"])
        parts["kernel"].append(kernel_ms)
        parts["transfer"].append(trace["stateAt"] - click["t0"] - kernel_ms)
        parts["decode"].append(trace["decodedAt"] - trace["stateAt"])
        parts["frame_wait"].append(trace["drawStart"] - trace["decodedAt"])
        parts["draw"].append(click["t1"] - trace["drawStart"])
    row = {"model": name, "clicks": len(clicks)}
    row |= {f"{k}_ms_p50": round(statistics.median(v), 1) for k, v in parts.items()}
    row["total_ms_p90"] = round(sorted(parts["total"])[int(0.9 * (len(clicks) - 1))], 1)
    return row
