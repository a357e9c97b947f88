"""The canvas edge layer draws what the SVG export describes: same lines, colours, widths and
opacities, pixel for pixel within anti-aliasing. The reference is independent of the canvas
draw path (the SVG export's edge paths rasterised by the browser's SVG renderer), so any change
to the renderer that alters the picture fails here."""

from __future__ import annotations

import pytest
import torch

from netviz_widget import NetViz
from netviz_widget.datasets import mlp

# In the page: the edge canvas's pixels vs the SVG export's edge paths (shifted by `shift` px)
# drawn on a canvas of the same size. Both premultiplied and blurred 3×3 (anti-aliasing is
# allowed to differ by a fraction of a pixel), then compared channel by channel (0–255).
COMPARE = """async (shift) => {
  const el = document.querySelector('.netviz-root').parentElement;
  const canvas = el.querySelector('canvas.netviz-edges');
  const w = canvas.width;
  const h = canvas.height;
  const got = canvas.getContext('2d').getImageData(0, 0, w, h).data;
  const doc = new DOMParser().parseFromString(el.netviz.toSVG(), 'image/svg+xml');
  const paths = [...doc.querySelectorAll('g.netviz-edges path')];
  const css = [parseFloat(canvas.style.width), parseFloat(canvas.style.height)];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ` +
    `viewBox="0 0 ${css[0]} ${css[1]}">` +
    `<g transform="translate(${shift} 0)">${paths.map((p) => p.outerHTML).join('')}</g></svg>`;
  const image = new Image();
  image.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  await image.decode();
  const reference = document.createElement('canvas');
  reference.width = w;
  reference.height = h;
  reference.getContext('2d').drawImage(image, 0, 0);
  const want = reference.getContext('2d').getImageData(0, 0, w, h).data;
  const blurred = (data) => {
    const pre = new Float32Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const a = data[4 * i + 3] / 255;
      pre[4 * i] = data[4 * i] * a;
      pre[4 * i + 1] = data[4 * i + 1] * a;
      pre[4 * i + 2] = data[4 * i + 2] * a;
      pre[4 * i + 3] = data[4 * i + 3];
    }
    const out = new Float32Array(w * h * 4);
    for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) sum += pre[4 * ((y + dy) * w + x + dx) + c];
      }
      out[4 * (y * w + x) + c] = sum / 9;
    }
    return out;
  };
  const a = blurred(got);
  const b = blurred(want);
  let painted = 0, paintedReference = 0, far = 0, total = 0;
  for (let i = 0; i < w * h; i++) {
    if (got[4 * i + 3] > 0) painted++;
    if (want[4 * i + 3] > 0) paintedReference++;
    let d = 0;
    for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(a[4 * i + c] - b[4 * i + c]));
    total += d;
    if (d > 16) far++;
  }
  return { edges: paths.length, painted, paintedReference, pixels: w * h, far, mean: total / (w * h) };
}"""


def open_view(chromium, tmp_path, widths, edge_color="score"):
    model = mlp(widths, seed=0).eval()
    x = torch.rand(1, widths[0], generator=torch.Generator().manual_seed(0))
    viz = NetViz(model, x, n_steps=8, input_image=False, height=500)
    viz.view.top_k = len(viz.view.topology["edges"]["src"]["buffer"]) // 4  # every shipped edge
    viz.view.edge_color = edge_color
    viz.intervene("fc1", [0, 1], "zero")
    path = viz.save_html(tmp_path / "view.html")
    page = chromium.new_page(viewport={"width": 1100, "height": 800}, device_scale_factor=1)
    page.goto(path.as_uri())
    page.wait_for_selector(".netviz-root[data-ready='1']", timeout=30_000)
    return page


TINY, SMALL, MEDIUM = (8, 16, 8, 10), (32, 48, 24, 10), (64, 96, 48, 10)


# Edge scores: nearly every line under one device pixel. Weights: half the lines wider (~170
# here, within the renderer's budget of wide lines; past it, or on a 2× screen with hundreds of
# lines, lines are capped at one device pixel: a level of detail, see js/edges.js).
@pytest.mark.parametrize(("widths", "edge_color"), [
    (SMALL, "score"), (MEDIUM, "score"), (TINY, "weight")],
    ids=["3k-scores", "11k-scores", "300-weights"])
def test_edge_layer_matches_the_svg_export(chromium, tmp_path, widths, edge_color):
    page = open_view(chromium, tmp_path, widths, edge_color)
    try:
        same = page.evaluate(COMPARE, 0)
        shifted = page.evaluate(COMPARE, 1)  # the same check must see a 1-px displacement
    finally:
        page.close()
    assert same["edges"] >= 8  # several colour buckets
    assert same["painted"] > 0.05 * same["pixels"]  # a real picture, not an empty canvas
    assert abs(same["painted"] - same["paintedReference"]) < 0.02 * same["pixels"]
    assert same["far"] < 0.001 * same["pixels"], same
    assert same["mean"] < 1.0, same
    assert shifted["far"] > 10 * max(same["far"], 100), (same, shifted)


def test_drawing_reads_no_pixels_back(chromium, tmp_path):
    """A readback stalls the page until the canvas is rasterised: the view never does one (a
    benchmark that wants the time until pixels reads them back itself)."""
    page = chromium.new_page(viewport={"width": 1100, "height": 800})
    page.add_init_script("""
        window.readbacks = 0;
        const original = CanvasRenderingContext2D.prototype.getImageData;
        CanvasRenderingContext2D.prototype.getImageData = function (...args) {
            window.readbacks++;
            return original.apply(this, args);
        };""")
    model = mlp(SMALL, seed=0).eval()
    viz = NetViz(model, torch.rand(1, SMALL[0]), n_steps=8, input_image=False)
    try:
        page.goto(viz.save_html(tmp_path / "view.html").as_uri())
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=30_000)
        handle = "document.querySelector('.netviz-root').parentElement.netviz"
        x, y = page.evaluate(f"{handle}.unitPosition('fc1', 3)")
        box = page.locator(".netviz-stage").bounding_box()
        page.mouse.move(box["x"] + x, box["y"] + y)  # hover: overlay
        page.locator(".netviz-tooltip").wait_for(state="visible", timeout=5_000)
        trace = page.evaluate(f"{handle}.redraw()")  # every layer
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert page.evaluate("window.readbacks") == 0
        assert trace["drawEnd"] >= trace["drawStart"] > 0
    finally:
        page.close()


def test_node_colour_change_redraws_nodes_not_edges(chromium, tmp_path):
    page = chromium.new_page(viewport={"width": 1100, "height": 800})
    page.add_init_script("""
        window.strokes = {};
        const original = CanvasRenderingContext2D.prototype.stroke;
        CanvasRenderingContext2D.prototype.stroke = function (...args) {
            const name = this.canvas.className;
            window.strokes[name] = (window.strokes[name] ?? 0) + 1;
            return original.apply(this, args);
        };""")
    viz = NetViz(mlp(SMALL, seed=0).eval(), torch.rand(1, SMALL[0]), n_steps=8, input_image=False)
    try:
        page.goto(viz.save_html(tmp_path / "view.html").as_uri())
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=30_000)
        frame = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        page.evaluate(frame)
        page.evaluate("window.strokes = {}")
        page.evaluate("window.netvizModel.set('node_color', 'activation')")
        page.evaluate(frame)
        strokes = page.evaluate("window.strokes")
        assert strokes.get("netviz-nodes", 0) > 0 and strokes.get("netviz-edges", 0) == 0, strokes
        page.evaluate("window.netvizModel.set('edge_color', 'weight')")
        page.evaluate(frame)
        assert page.evaluate("window.strokes")["netviz-edges"] > 0
    finally:
        page.close()
