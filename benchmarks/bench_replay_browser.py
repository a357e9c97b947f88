"""Replay frame time in the browser: a recording of the digits MLP saved as the offline replay page,
opened in headless Chromium; each slider step is timed from the input event until two animation
frames later (the state decoded and the canvases redrawn). Prints JSON.

    python benchmarks/bench_replay_browser.py [--records 20] [--batch 8]

The in-notebook frame adds the kernel round trip to this: the Python side of a step is
`replay_frame_python_ms` in bench_record.py, a click → Python → DOM round trip < 20 ms here
(/work/shared/notes/recipes.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from netviz_widget import NetViz, Recorder
from netviz_widget.datasets import load_digits_split, mlp
from netviz_widget.ui.export import CHROMIUM_ARGS

STEP = """async (i) => {
  const slider = document.getElementById('netviz-replay-slider');
  const start = performance.now();
  slider.value = String(i);
  slider.dispatchEvent(new Event('input'));
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return performance.now() - start;
}"""


def recording(records: int, batch: int):
    data = load_digits_split()
    model = mlp()
    recorder = Recorder(model, data.x_test[:batch], every=5)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(5 * records):
        optimiser.zero_grad()
        rows = torch.randint(0, data.x_train.shape[0], (128,))
        loss = torch.nn.functional.cross_entropy(model(data.x_train[rows]), data.y_train[rows])
        loss.backward()
        optimiser.step()
        recorder.step(step, loss=loss.item())
    return recorder.recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    from playwright.sync_api import sync_playwright

    replay = NetViz.replay(recording(args.records, args.batch))
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        path = replay.save_html(Path(folder) / "replay.html")
        executable = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(path.as_uri())
            page.wait_for_selector(".netviz-root[data-ready='1']", timeout=30_000)
            order = list(range(len(replay.recording))) * 3
            times = [page.evaluate(STEP, i) for i in order]
            draw = page.evaluate("document.querySelector('.netviz-root').parentElement.netviz.redraw()")
        finally:
            browser.close()
    print(json.dumps({
        "benchmark": "replay_browser",
        "model": "digits MLP 64-32-16-10",
        "records": len(replay.recording), "probe_batch": args.batch,
        "edges_shipped": len(replay.chosen),
        "frame_ms_median": round(statistics.median(times), 2),
        "frame_ms_p90": round(sorted(times)[int(0.9 * (len(times) - 1))], 2),
        "frame_target_ms": 50,
        "last_draw_ms": {k: round(v, 2) for k, v in draw.items()},
        "note": "slider input → two animation frames (decode + redraw), offline page, headless Chromium",
    }, indent=2))


if __name__ == "__main__":
    main()
