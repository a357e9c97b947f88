"""Cost of drawing a recurrent layer (issue 13, item 5). JSON out.

NetViz runs an nn.LSTM / nn.GRU / nn.RNN unrolled step by step in Python (so that an edit of
h_t reaches the next step) instead of PyTorch's fused kernel. For an LSTM classifier on the 8×8
digits read row by row (8 steps, random weights, batch 8), in milliseconds: the module's own
forward, the engine's unrolled forward, a `snapshot()` (all scores, `--n-steps` path points)
and a zero-then-undo round trip on one hidden unit.

    python benchmarks/bench_recurrent.py [--hidden 16] [--n-steps 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch import nn

from netviz_widget import Explainer
from netviz_widget.datasets import load_digits_split


class DigitsLSTM(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.transpose(1, 2))
        return self.head(out[:, -1])


def _ms(call, repeats: int) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return round((time.perf_counter() - start) / repeats * 1e3, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_digits_split()
    x = data.x_test[:8].reshape(-1, 8, 8).transpose(1, 2)
    torch.manual_seed(0)
    model = DigitsLSTM(args.hidden).eval()
    ex = Explainer(model, x, n_steps=args.n_steps)

    def snapshot() -> None:
        ex._cache.clear()
        ex.snapshot()

    def round_trip() -> None:
        ex.intervene("lstm", [0], "zero")
        ex.undo()

    with torch.no_grad():
        module = _ms(lambda: model(x), 50)
        unrolled = _ms(lambda: ex.graph.forward(x), 50)
    print(json.dumps({
        "hidden": args.hidden, "n_steps": args.n_steps, "threads": args.threads,
        "module_forward_ms": module, "unrolled_forward_ms": unrolled,
        "snapshot_ms": _ms(snapshot, 5), "zero_undo_ms": _ms(round_trip, 5),
        "load_average": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
