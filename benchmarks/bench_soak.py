"""Soak: many snapshot/undo cycles and rapid requests; memory and hook counts must not grow;
1,000 interventions on the MLP 784-1024-512-10 (1.3 M weights) stay under the memory target
because the snapshot cache is bounded by bytes. Prints JSON.

    python benchmarks/bench_soak.py [--cycles 10000] [--interventions 1000] [--batch 8] [--memory-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import torch

from netviz_widget import Explainer, NetViz
from netviz_widget.datasets import digits_mlp, load_digits_split
from netviz_widget.engine._model_state import HOOK_DICTS


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


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bounded_memory(n: int, batch: int) -> dict:
    """`n` interventions (each a new snapshot, then undone) on the 1.3 M-weight MLP."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10)).eval()
    ex = Explainer(model, torch.rand(batch, 784), n_steps=32)
    snapshot_mb = ex.snapshot().nbytes / 1e6
    start_rss, start = rss_mb(), time.perf_counter()
    for i in range(n):
        ex.intervene("0" if i % 2 else "2", [i % 512], "zero")
        ex.undo()
    return {
        "interventions": n, "batch": batch, "seconds": round(time.perf_counter() - start, 1),
        "snapshot_mb": round(snapshot_mb, 1), "cache_bound_mb": round(ex._cache.max_bytes / 1e6),
        "cache_snapshots": len(ex._cache), "cache_mb": round(ex._cache.nbytes / 1e6, 1),
        "rss_start_mb": round(start_rss), "rss_end_mb": round(rss_mb()), "peak_rss_mb": round(peak_rss_mb()),
        "unbounded_64_snapshots_would_hold_mb": round(64 * snapshot_mb),
    }


def rapid_requests(n: int) -> dict:
    data = load_digits_split()
    viz = NetViz(digits_mlp(), data.x_test[:1], reference=data.x_train)
    clean = viz.snapshot
    start_rss, start = rss_mb(), time.perf_counter()
    for i in range(n):  # as a front end would send them: a selection request, then Apply, then Undo
        viz.view.request("select", [["fc2", i % 16]])
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
    parser.add_argument("--interventions", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--memory-only", action="store_true", help="only the 1.3 M-weight MLP run")
    args = parser.parse_args()
    report = {"benchmark": "soak", "targets": {"peak_rss_mb": 1500},
              "bounded_memory": bounded_memory(args.interventions, args.batch)}
    if not args.memory_only:
        report["snapshot_undo"] = soak(args.cycles)
        report["rapid_requests"] = rapid_requests(args.requests)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
