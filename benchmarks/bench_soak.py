"""Soak: many snapshot/undo cycles and rapid requests; memory and hook counts must not grow.
Prints JSON.

    python benchmarks/bench_soak.py [--cycles 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from netviz_widget import Explainer, NetViz
from netviz_widget._model_state import HOOK_DICTS
from netviz_widget.datasets import digits_mlp, load_digits_split


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def hook_count(model: torch.nn.Module) -> int:
    return sum(len(getattr(m, name)) for m in model.modules() for name in HOOK_DICTS)


def soak(cycles: int) -> dict:
    data = load_digits_split()
    model = digits_mlp()
    ex = Explainer(model, data.x_test[:1], reference=data.x_train)
    for _ in range(200):  # warm up caches and allocators
        ex.intervene("fc1", [3], "zero")
        ex.undo()
    start_rss, start_hooks, start = rss_mb(), hook_count(model), time.perf_counter()
    samples = []
    for i in range(cycles):
        ex.intervene("fc1", [i % 32], "mean")
        ex.snapshot()
        ex.undo()
        if i % max(1, cycles // 10) == 0:
            samples.append(round(rss_mb() - start_rss, 2))
    return {
        "cycles": cycles, "seconds": round(time.perf_counter() - start, 2),
        "rss_growth_mb": round(rss_mb() - start_rss, 2), "rss_growth_samples_mb": samples,
        "hooks_before": start_hooks, "hooks_after": hook_count(model),
        "history_after": len(ex.history), "snapshot_cache_size": len(ex._cache),
    }


def rapid_requests(n: int) -> dict:
    data = load_digits_split()
    viz = NetViz(digits_mlp(), data.x_test[:1], reference=data.x_train)
    clean = viz.snapshot
    start_rss, start = rss_mb(), time.perf_counter()
    for i in range(n):  # as a front end would send them: selection, then Apply, then Undo
        viz.view.selection = [["fc2", i % 16]]
        viz.controls.apply.click()
        viz.controls.undo.click()
    return {
        "requests": 3 * n, "seconds": round(time.perf_counter() - start, 2),
        "rss_growth_mb": round(rss_mb() - start_rss, 2),
        "final_equals_clean": viz.snapshot.equals(clean), "history_after": len(viz.explainer.history),
        "final_selection": viz.view.selection,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1_000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(json.dumps({"benchmark": "soak", "snapshot_undo": soak(args.cycles),
                      "rapid_requests": rapid_requests(args.requests)}, indent=2))


if __name__ == "__main__":
    main()
