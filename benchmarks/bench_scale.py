"""Scale: networks 100× larger than the digits MLP, and a 10,000-input reference set. JSON out.

Workloads: (1) MLP 784-1024-512-10 on generated 28×28 inputs; (2) CNN conv 32-64-64 on 28×28,
then two Linear; (3) a 24-block residual MLP of width 128; (4) the digits MLP with 10,000
reference inputs (load_digits augmented by shifts and noise). For 1–3: NetViz construction time
(kernel side), time to the first drawn frame in headless Chromium (browser side, from the saved
state), bytes of the first view and of an update, and the intervention round trip at batch 1,
n_steps 32. For 4: dataset-level scores in chunks, time vs the best single-pass batch size, and
peak memory (each configuration in a fresh subprocess). (5) `explain()` against `snapshot()` on
resnet18, googlenet, squeezenet1_1 and mobilenet_v3_small at 64×64 (re-writes of torchvision's
definitions, published widths, random weights) beside the digits MLP and CNN, n_steps 8
(`bench_any_network.py`; `--explain-only` runs just this part).

    python benchmarks/bench_scale.py [--explain-only]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from netviz_widget import NetViz
from netviz_widget.ui._serialization import payload_bytes
from netviz_widget.ui.export import CHROMIUM_ARGS, save_html

CHROMIUM = "/usr/bin/chromium"


class Residual(nn.Module):
    def __init__(self, width: int = 128, blocks: int = 24) -> None:
        super().__init__()
        self.inp = nn.Linear(64, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.out = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        for block in self.blocks:
            h = h + torch.relu(block(h))
        return self.out(h)


def workloads() -> dict[str, tuple[nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    return {"mlp_784_1024_512_10": (mlp.eval(), torch.rand(1, 784)),
            "cnn_32_64_64_28x28": (cnn.eval(), torch.rand(1, 1, 28, 28)),
            "residual_24x128": (Residual().eval(), torch.rand(1, 64))}


def first_frame_ms(page, html: Path) -> float:
    start = time.perf_counter()
    page.goto(html.as_uri())
    page.wait_for_selector(".netviz-root[data-ready='1']", timeout=60_000)
    return (time.perf_counter() - start) * 1e3


def bench_view(name: str, model: nn.Module, x: torch.Tensor, page, tmp: Path) -> dict:
    start = time.perf_counter()
    viz = NetViz(model, x, n_steps=32)
    kernel_ms = (time.perf_counter() - start) * 1e3
    first_bytes = payload_bytes(viz.view.topology) + payload_bytes(viz.view.state)
    browser_ms = first_frame_ms(page, save_html(viz.view, tmp / f"{name}.html"))
    layer = viz.explainer.graph.layers[1].name
    trips = []
    for unit in range(12):
        start = time.perf_counter()
        viz.intervene(layer, [unit], "zero")
        trips.append((time.perf_counter() - start) * 1e3)
        viz.undo()
    return {"workload": name, "parameters": sum(p.numel() for p in model.parameters()),
            "kernel_side_ms": round(kernel_ms, 1), "browser_first_frame_ms": round(browser_ms, 1),
            "first_view_total_s": round((kernel_ms + browser_ms) / 1e3, 2),
            "bytes_first_view": first_bytes, "bytes_update": payload_bytes(viz.view.state),
            "round_trip_ms_p50": round(statistics.median(trips[2:]), 1),
            "round_trip_ms_max": round(max(trips[2:]), 1)}


DATASET_SCRIPT = """
import json, resource, sys, time, torch
from netviz_widget import Explainer
from netviz_widget.datasets import digits_mlp, load_digits_split
torch.set_num_threads(2)
data = load_digits_split()
g = torch.Generator().manual_seed(0)
base = data.x_train.reshape(-1, 8, 8)
reps = []
while sum(len(r) for r in reps) < 10_000:
    shifted = torch.roll(base, shifts=(int(torch.randint(-1, 2, (1,), generator=g)),
                                       int(torch.randint(-1, 2, (1,), generator=g))), dims=(1, 2))
    reps.append((shifted + 0.05 * torch.randn(shifted.shape, generator=g)).clamp(0, 1).reshape(-1, 64))
reference = torch.cat(reps)[:10_000]
ex = Explainer(digits_mlp(), reference[:1], reference=reference, n_steps=32)
mode, chunk = sys.argv[1], int(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
ex.dataset_scores(chunk_size=chunk, progress=False)
print(json.dumps({"chunk": chunk, "seconds": round(time.perf_counter() - start, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "rss_before_mb": round(before / 1024, 1)}))
"""


def bench_dataset() -> dict:
    rows = []
    for chunk in (64, 256, 1024, 4096, 10_000):
        out = subprocess.run([sys.executable, "-c", DATASET_SCRIPT, "scores", str(chunk)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(rows, key=lambda r: r["seconds"])
    default = next(r for r in rows if r["chunk"] == 256)
    return {"reference_inputs": 10_000, "by_chunk": rows, "best_chunk": best["chunk"],
            "default_chunk_256_over_best": round(default["seconds"] / best["seconds"], 2)}


def bench_explain(n_steps: int = 8, repeat: int = 3) -> list[dict]:
    """snapshot() and explain() seconds (medians of `repeat` fresh Explainers) of the re-written
    torchvision classifiers at their published widths on 64×64 inputs (random weights), beside
    the bundled digits MLP and CNN: `bench_any_network`'s measurement."""
    from bench_any_network import MODELS, measure, measure_digits

    return ([measure(name, 1.0, n_steps, 64, repeat) for name in MODELS]
            + [measure_digits(kind, n_steps, repeat) for kind in ("mlp", "cnn")])


def main() -> None:
    if sys.argv[1:] == ["--explain-only"]:
        torch.set_num_threads(2)
        print(json.dumps({"benchmark": "scale", "explain_cost": bench_explain()}, indent=1))
        return
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(2)
    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        for name, (model, x) in workloads().items():
            results.append(bench_view(name, model, x, page, Path(tmp)))
        browser.close()
    print(json.dumps({"benchmark": "scale", "targets": {"first_view_s": 3, "round_trip_ms_p50": 300,
                      "bytes_first_view": 2_000_000, "bytes_update": 500_000,
                      "dataset_peak_mb": 1500, "dataset_time_over_best": 1.3,
                      "explain_over_snapshot": 3}, "views": results, "dataset_level": bench_dataset(),
                      "explain_cost": bench_explain()}, indent=2))


if __name__ == "__main__":
    main()
