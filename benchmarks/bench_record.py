"""Recording overhead on the digits MLP, and the Python side of a replay frame. Prints JSON.

    python benchmarks/bench_record.py [--repeats 3] [--epochs 40] [--every 50] [--batch 8]

One plain training loop (Adam, batch 128) with a Recorder: each training step and each
`recorder.step` call is timed on its own, so that the load of a shared machine hits both alike;
the overhead is the summed recorder time over the summed training time (median over repeats),
in wall time and in CPU time of this process. For reference, whole runs with and without the
recorder are timed too (alternating; on a loaded machine their ratio is dominated by noise).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from netviz_widget.datasets import load_digits_split, mlp
from netviz_widget.engine.recorder import Recorder


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def train(epochs: int, every: int | None, batch: int, seed: int = 0) -> dict:
    """Train the digits MLP as a plain loop; per-part (wall, CPU) seconds."""
    data = load_digits_split()
    torch.manual_seed(seed)
    model = mlp()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    recorder = None if every is None else Recorder(model, data.x_test[:batch], every=every)
    parts = {"train": [0.0, 0.0], "record": [0.0, 0.0], "total": [0.0, 0.0]}
    run_start = clock()
    step = 0
    for _ in range(epochs):
        order = torch.randperm(data.x_train.shape[0])
        for first in range(0, data.x_train.shape[0], 128):
            start = clock()
            rows = order[first:first + 128]
            optimiser.zero_grad()
            loss = loss_fn(model(data.x_train[rows]), data.y_train[rows])
            loss.backward()
            optimiser.step()
            value = loss.item()
            for i, t in enumerate(since(start)):
                parts["train"][i] += t
            if recorder is not None:
                start = clock()
                recorder.step(step, loss=value)
                for i, t in enumerate(since(start)):
                    parts["record"][i] += t
            step += 1
    parts["total"] = list(since(run_start))
    parts["recorder"] = recorder
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8, help="probe inputs recorded")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train(2, args.every, args.batch)  # warm-up: imports, tracing, allocator
    runs, plain = [], []
    for _ in range(args.repeats):
        plain.append(train(args.epochs, None, args.batch)["total"])
        runs.append(train(args.epochs, args.every, args.batch))
    recording = runs[-1]["recorder"].recording
    with tempfile.TemporaryDirectory() as folder:
        size = recording.save(Path(folder) / "run.npz").stat().st_size

    def overhead(i: int) -> float:
        return round(statistics.median(r["record"][i] / r["train"][i] for r in runs), 4)

    def whole(i: int) -> float:
        return round(statistics.median(r["total"][i] for r in runs)
                     / statistics.median(p[i] for p in plain) - 1, 4)

    print(json.dumps({
        "benchmark": "record",
        "machine": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "load_average_1min": round(_load(), 2),
        "model": "digits MLP 64-32-16-10, Adam, batch 128",
        "steps": int(recording.curve_steps[-1]) + 1, "every": args.every, "probe_batch": args.batch,
        "records": len(recording), "file_bytes": size,
        "train_ms_per_step": round(1e3 * statistics.median(r["train"][0] for r in runs)
                                   / (int(recording.curve_steps[-1]) + 1), 3),
        "record_ms_per_snapshot": round(1e3 * statistics.median(r["record"][0] for r in runs)
                                        / len(recording), 3),
        "overhead_wall": overhead(0), "overhead_cpu": overhead(1), "overhead_target": 0.10,
        "whole_run_overhead_wall": whole(0), "whole_run_overhead_cpu": whole(1),
        "replay_frame_python_ms": round(_frame_ms(recording), 3), "replay_frame_target_ms": 50,
    }, indent=2))


def _load() -> float:
    try:
        import os

        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")


def _frame_ms(recording) -> float:
    """Median ms to turn one record into the view's state (Python side of a slider step)."""
    try:
        from netviz_widget.ui.replay import ReplayView
    except ImportError:
        return float("nan")
    view = ReplayView(recording)
    times = []
    for i in list(range(len(recording))) * 3:
        view._states.clear()
        start = time.perf_counter()
        view.index = i
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


if __name__ == "__main__":
    main()
