"""Engine speed: the fused snapshot vs the equivalent Captum calls, and the intervention
round trip. Prints JSON; measured side by side in one run (the machine is shared and noisy).

    python benchmarks/bench_engine.py [--repeats 15] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from captum.attr import IntegratedGradients, LayerConductance

from netviz_widget import Explainer
from netviz_widget.datasets import digits_cnn, digits_mlp, load_digits_split


def timed(fn, repeats: int) -> list[float]:
    """Wall times in ms of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
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
            fused = timed(synchronized(lambda ex=ex: ex._compute(), device), repeats)
            def sequence(x=x, t=target, n=n_steps):
                captum_sequence(model, modules, x, t, n)
            captum = timed(synchronized(sequence, device), repeats)
            row = {
                "model": name, "batch": batch, "n_steps": n_steps,
                "fused_ms_p50": round(statistics.median(fused), 2),
                "captum_sequence_ms_p50": round(statistics.median(captum), 2),
                "ratio_fused_over_captum": round(statistics.median(fused) / statistics.median(captum), 3),
                "fused_includes": "IG + conductance of every unit layer + all edge scores + outputs",
            }
            if batch == 1 and n_steps == 32:
                units = ex.graph.layers[1]

                def round_trip(ex=ex, units=units):
                    ex.intervene(units.name, [0], "zero")
                    ex.undo()
                trips = timed(synchronized(round_trip, device), repeats * 3)
                row["intervene_round_trip_ms_p50"] = round(statistics.median(trips), 2)
                row["intervene_round_trip_ms_p95"] = round(percentile(trips, 0.95), 2)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 repeats (smoke run)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the models are moved there)")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    torch.set_num_threads(2)
    device = torch.device(args.device)
    data = load_digits_split()
    mlp, cnn = digits_mlp().to(device), digits_cnn().to(device)
    results = bench_model("digits_mlp 64-32-16-10", mlp, [mlp.relu1, mlp.relu2, mlp.fc3],
                          data.x_test.to(device), repeats)
    results += bench_model("digits_cnn", cnn, [cnn.relu1, cnn.relu2, cnn.fc],
                           data.images(data.x_test).to(device), repeats)
    print(json.dumps({
        "benchmark": "engine", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "device": str(device) + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""),
        "machine": platform.machine(), "repeats": repeats,
        "targets": {"ratio_mlp_batch1": 0.4, "ratio_mlp_batch256": 0.5,
                    "round_trip_p50_ms_mlp": 15, "round_trip_p50_ms_cnn": 120},
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
