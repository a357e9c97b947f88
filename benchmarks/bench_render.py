"""Render cost of the view in headless Chromium (software rendering), and bytes on the wire.

For networks with about 1k, 10k and 100k visible edges: the time to redraw the edge layer and
the whole view (a data update), the frame time of a pan/zoom step (the edge bitmap moves, nodes
and overlay redraw; edges redraw sharply 150 ms after the gesture), the time of a hover
highlight (overlay layer only), and the bytes shipped for the first render and for an update
after an intervention. Times include a pixel readback. Prints JSON.

    python benchmarks/bench_render.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser.jupyter_server import CHROMIUM, CHROMIUM_ARGS

from netviz_widget import NetViz
from netviz_widget._serialization import decode_array, payload_bytes
from netviz_widget.datasets import mlp
from netviz_widget.export import save_html

WORKLOADS = {"1k": (16, 32, 16, 10), "10k": (64, 96, 48, 10), "100k": (128, 384, 128, 10)}


def build(widths: tuple[int, ...]) -> tuple[NetViz, dict]:
    model = mlp(widths, seed=0).eval()
    x = torch.rand(1, widths[0], generator=torch.Generator().manual_seed(0))
    viz = NetViz(model, x, n_steps=16, max_edges=200_000, input_image=False, height=600)
    n_edges = len(decode_array(viz.view.topology["edges"]["src"]))
    viz.view.top_k = n_edges
    first = payload_bytes(viz.view.topology) + payload_bytes(viz.view.state)
    viz.intervene(viz.explainer.graph.layers[1].name, [0, 1], "zero")
    update = payload_bytes(viz.view.state)
    edge_bytes = len(viz.view.state["edge_scores"]["buffer"])
    n_units = viz.view.topology["n_units"]
    return viz, {
        "visible_edges": n_edges, "units": n_units,
        "bytes_first_render": first, "bytes_update": update,
        "update_bytes_per_edge": round(edge_bytes / n_edges, 3),
        "update_bytes_per_unit_and_fixed": update - edge_bytes,
    }


def measure(page, html: Path, repeats: int) -> dict:
    page.goto(html.as_uri())
    page.wait_for_selector(".netviz-root[data-ready='1']", timeout=60_000)
    handle = "document.querySelector('.netviz-root').parentElement.netviz"
    full, edges = [], []
    for _ in range(repeats):
        timings = page.evaluate(f"{handle}.redraw()")
        full.append(timings["edges"] + timings["nodes"] + timings["overlay"])
        edges.append(timings["edges"])
    pan = [page.evaluate(f"{handle}.panFrame(3, 2)") for _ in range(repeats)]
    hover = []
    box = page.locator(".netviz-stage").bounding_box()
    for unit in range(repeats):
        x, y = page.evaluate(f"{handle}.unitPosition('fc2', {unit})")
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        hover.append(page.evaluate(f"{handle}.timings.overlay"))
    return {
        "edge_layer_ms_p50": round(statistics.median(edges), 2),
        "full_redraw_ms_p50": round(statistics.median(full), 2),
        "pan_zoom_frame_ms_p50": round(statistics.median(pan), 2),
        "hover_highlight_ms_p50": round(statistics.median(hover), 2),
        "hover_highlight_ms_max": round(max(hover), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        for name, widths in WORKLOADS.items():
            viz, sizes = build(widths)
            html = save_html(viz.view, Path(tmp) / f"{name}.html")
            results.append({"workload": name, "widths": widths, **sizes, **measure(page, html, args.repeats)})
        browser.close()
    print(json.dumps({
        "benchmark": "render", "renderer": "canvas 2D, Debian Chromium headless (software)",
        "viewport": [1200, 800],
        "targets": {"10k_edges_frame_ms": 16, "100k_edges_frame_ms": 120, "hover_ms": 16,
                    "update_bytes_per_edge": 4.5},
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
