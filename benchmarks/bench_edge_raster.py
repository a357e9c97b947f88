"""What an edge layer's raster costs in this headless Chromium, by drawing path: the evidence
behind the data-update limits that bench_render.py prints.

The same straight lines (every edge of an MLP laid out in columns on a 1200×600 canvas, as the
view draws them, 16 colour buckets) are drawn → pixels (a one-pixel readback) by:

- canvas2d: the view's path, one batched path per bucket, widths 0.5–1.5 px;
- canvas2d_hairline: the same with every line at most one device pixel wide;
- canvas2d_half: the same on a half-resolution canvas (the view's level of detail past 20k);
- webgl2_lines / webgl2_lines_msaa: one gl.LINES draw of all edges (per-vertex colour and
  alpha, premultiplied blending), without and with 4× multisampling, when the browser offers
  WebGL2; `webgl_renderer` says what renders it (SwiftShader = the CPU). 10k lines only: on
  100k lines SwiftShader takes seconds a frame.

Chromium is launched as the tests and bench_render.py launch it, and, with --gpu-flags, also
with --use-angle=swiftshader --enable-unsafe-swiftshader.

    python benchmarks/bench_edge_raster.py [--repeats 9] [--gpu-flags]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_render import CHROMIUM, CHROMIUM_ARGS, WORKLOADS

PAGE = (Path(__file__).parent / "edge_raster_page.js").read_text(encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gpu-flags", action="store_true",
                        help="also launch Chromium with --use-angle=swiftshader --enable-unsafe-swiftshader")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    launches = {"tests' flags": CHROMIUM_ARGS}
    if args.gpu_flags:
        launches["--use-angle=swiftshader"] = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + [
            "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
    report: dict = {"benchmark": "edge_raster", "canvas": [1200, 600], "results": []}
    with sync_playwright() as playwright:
        for label, flags in launches.items():
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
            page = browser.new_page()
            for name in ("10k", "100k"):  # WebGL2 on 100k lines: minutes in SwiftShader, left out
                row = page.evaluate(PAGE, [list(WORKLOADS[name]), args.repeats, name == "10k"])
                report["results"].append({"launch": label, "workload": name, **row})
            browser.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
