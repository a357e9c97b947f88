"""Engine speed: the fused snapshot vs the equivalent Captum calls, and the intervention
round trip quiet and beside CPU burners (one busy process per core, started and stopped here),
with the library's thread choice (num_threads="auto") and with torch's default threads, side by
side. Prints JSON; measured side by side in one run (the machine is shared and noisy).

    python benchmarks/bench_engine.py [--repeats 15] [--quick] [--crossover]

`--crossover` adds the snapshot time at 1 thread vs the default threads over growing work
(multiply-adds × path rows), quiet and loaded: where more threads start to pay.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from captum.attr import IntegratedGradients, LayerConductance
from torch import nn

from netviz_widget import Explainer
from netviz_widget.datasets import digits_cnn, digits_mlp, load_digits_split
from netviz_widget.engine._calls import CROSSOVER, intra_op_threads, multiply_adds

BURN = "import time\nend = time.time() + 900\nwhile time.time() < end: pass"


@contextlib.contextmanager
def cpu_burners(n: int):
    """`n` busy processes (one per core) for the body; stopped afterwards, also on errors."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(n)]
    try:
        time.sleep(0.5)  # let them reach the scheduler
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


def timed(fn, repeats: int) -> list[float]:
    """Wall times in ms of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def timed_pair(first, second, repeats: int) -> tuple[list[float], list[float]]:
    """Wall times in ms of two functions, interleaved (first, second, first, ...) after one
    warm-up call each, so that both meet the same moments of a noisy machine."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1e3)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def captum_sequence(model, modules, x, target, n_steps):
    """What a user would otherwise call: IG on the inputs + LayerConductance per layer."""
    baseline = torch.zeros_like(x)
    IntegratedGradients(model).attribute(x, baselines=baseline, target=target, n_steps=n_steps + 1,
                                         method="gausslegendre")
    for module in modules:
        LayerConductance(model, module).attribute(x, baselines=baseline, target=target, n_steps=n_steps)


def synchronized(fn, device):
    """`fn` followed by a device synchronisation, so that GPU times are complete."""
    def call():
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return call


def bench_model(name, model, modules, x_all, repeats):
    rows = []
    for batch in (1, 256):
        x = x_all[:batch]
        for n_steps in (32, 50):
            ex = Explainer(model, x, n_steps=n_steps, reference=x_all)
            target = ex.target
            device = x.device
            def sequence(x=x, t=target, n=n_steps):
                captum_sequence(model, modules, x, t, n)
            fused, captum = timed_pair(synchronized(lambda ex=ex: ex._compute(), device),
                                       synchronized(sequence, device), repeats)
            row = {
                "model": name, "batch": batch, "n_steps": n_steps,
                "fused_ms_p50": round(statistics.median(fused), 2),
                "captum_sequence_ms_p50": round(statistics.median(captum), 2),
                "ratio_fused_over_captum": round(statistics.median(fused) / statistics.median(captum), 3),
                "fused_includes": "IG + conductance of every unit layer + all edge scores + outputs",
            }
            rows.append(row)
    return rows


def round_trips(models, repeats: int, burners: int) -> list[dict]:
    """Intervene + undo at batch 1, n_steps 32: library threads ("auto") vs torch's default
    threads (num_threads=None), quiet and then beside `burners` busy processes."""
    explainers = {}
    for name, model, x_all in models:
        for policy in ("auto", None):
            explainers[name, policy] = Explainer(model, x_all[:1], n_steps=32, reference=x_all,
                                                 num_threads=policy)

    def measure() -> dict:
        """Round trips interleaved (each repetition visits every explainer in turn), so that both
        policies meet the same moments of a noisy machine."""
        trips = {key: [] for key in explainers}
        for ex in explainers.values():  # warm-up
            ex.intervene(ex.graph.layers[1].name, [0], "zero")
            ex.undo()
        for _ in range(repeats * 3):
            for key, ex in explainers.items():
                start = time.perf_counter()
                ex.intervene(ex.graph.layers[1].name, [0], "zero")
                ex.undo()
                if ex.device.type == "cuda":
                    torch.cuda.synchronize()
                trips[key].append((time.perf_counter() - start) * 1e3)
        return {key: (round(statistics.median(t), 2), round(percentile(t, 0.95), 2))
                for key, t in trips.items()}

    quiet = measure()
    with cpu_burners(burners):
        loaded = measure()
    rows = []
    for name, _, _ in models:
        row = {"model": name}
        for policy, label in (("auto", "library"), (None, "default_threads")):
            row[f"{label}_quiet_p50_ms"], row[f"{label}_quiet_p95_ms"] = quiet[name, policy]
            row[f"{label}_loaded_p50_ms"], row[f"{label}_loaded_p95_ms"] = loaded[name, policy]
        row["library_loaded_over_quiet_p50"] = round(row["library_loaded_p50_ms"]
                                                     / row["library_quiet_p50_ms"], 2)
        rows.append(row)
    return rows


def crossover(repeats: int, burners: int) -> list[dict]:
    """Snapshot time at 1 thread vs the default threads over growing work."""
    data = load_digits_split()
    big = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(),
                        nn.Linear(512, 10))
    cases = [("digits_mlp", digits_mlp(), data.x_test, (1, 64, 256)),
             ("digits_cnn", digits_cnn(), data.images(data.x_test), (1, 16, 64)),
             ("mlp 784-1024-512-10", big, torch.rand(64, 784), (1, 8, 32))]
    default = torch.get_num_threads()
    rows = []
    for name, model, x_all, batches in cases:
        for batch in batches:
            ex = Explainer(model, x_all[:batch], n_steps=32, num_threads=None)
            row = {"model": name, "batch": batch,
                   "work_multiply_adds": multiply_adds(ex.graph) * batch * 33}
            for load in ("quiet", "loaded"):
                with cpu_burners(burners) if load == "loaded" else contextlib.nullcontext():
                    for threads in (1, default):
                        with intra_op_threads(threads):
                            row[f"{load}_{threads}_threads_ms_p50"] = round(
                                statistics.median(timed(ex._compute, repeats)), 2)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 repeats (smoke run)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the models are moved there)")
    parser.add_argument("--crossover", action="store_true", help="also time 1 vs default threads "
                        "over growing work")
    parser.add_argument("--round-trip-only", action="store_true", help="skip the Captum comparison")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    device = torch.device(args.device)
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    data = load_digits_split()
    mlp, cnn = digits_mlp().to(device), digits_cnn().to(device)
    x_mlp, x_cnn = data.x_test.to(device), data.images(data.x_test).to(device)
    trips = round_trips([("digits_mlp", mlp, x_mlp), ("digits_cnn", cnn, x_cnn)], repeats, cores)
    results = [] if args.round_trip_only else (
        bench_model("digits_mlp 64-32-16-10", mlp, [mlp.relu1, mlp.relu2, mlp.fc3], x_mlp, repeats)
        + bench_model("digits_cnn", cnn, [cnn.relu1, cnn.relu2, cnn.fc], x_cnn, repeats))
    report = {
        "benchmark": "engine", "torch": torch.__version__, "default_threads": torch.get_num_threads(),
        "device": str(device) + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""),
        "machine": platform.machine(), "cores": cores, "load_average_at_start": round(load_before, 2),
        "repeats": repeats, "crossover_multiply_adds": CROSSOVER,
        "targets": {"ratio_mlp_batch1": 0.4, "ratio_mlp_batch256": 0.5, "ratio_cnn_2_threads": 0.35,
                    "round_trip_p50_ms_mlp": 15, "round_trip_p50_ms_cnn": 120,
                    "library_loaded_over_quiet_p50": 2.0},
        "round_trip_intervene_undo_batch1": trips,
        "results": results,
    }
    if args.crossover:
        report["crossover"] = crossover(repeats, cores)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
