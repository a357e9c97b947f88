"""Cost of `explain()` against `snapshot()` on branched models (issue 13, item 9). JSON out.

torchvision is not a dependency, so the models are small re-writes of the public definitions:
a ResNet-18 (BasicBlock ×[2, 2, 2, 2]), a GoogLeNet-style stack of Inception blocks, a
SqueezeNet-style stack of Fire blocks and a MobileNetV3-style stack of inverted residuals with
squeeze-excitation; random weights, batch 1, 64×64 inputs. `--width` scales every channel count
(1.0 = the published widths of ResNet-18). For each: graph build, first `snapshot()` and
`explain()` (which reuses the snapshot) in seconds (wall clock, and CPU seconds of this process,
which other jobs on a shared machine disturb far less), and their ratios, as medians over `--repeat`
fresh Explainers (the first explain() of a process also pays its imports); `--digits` adds the
bundled digits MLP and CNN.

    python benchmarks/bench_any_network.py [--width 0.25] [--n-steps 32] [--size 64] [--repeat 3]
        [--models resnet18 ...] [--digits]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from netviz_widget import Explainer


def _c(width: float, channels: int) -> int:
    return max(2, round(channels * width))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


def resnet18(width: float) -> nn.Module:
    widths = [_c(width, c) for c in (64, 128, 256, 512)]
    layers, cin = [], _c(width, 64)
    for i, cout in enumerate(widths):
        layers += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(nn.Conv2d(3, _c(width, 64), 7, 2, 3, bias=False), nn.BatchNorm2d(_c(width, 64)),
                         nn.ReLU(), nn.MaxPool2d(3, 2, 1), *layers, nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(cin, 1000))


class Inception(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(cin, c1, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, c3r, 1), nn.ReLU(), nn.Conv2d(c3r, c3, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(cin, c5r, 1), nn.ReLU(), nn.Conv2d(c5r, c5, 3, padding=1))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, pool, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1))


def googlenet(width: float) -> nn.Module:
    c = lambda n: _c(width, n)  # noqa: E731
    specs = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64),
             (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64)]
    blocks = [Inception(*(c(n) for n in spec)) for spec in specs]
    return nn.Sequential(nn.Conv2d(3, c(64), 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                         nn.Conv2d(c(64), c(192), 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                         blocks[0], blocks[1], nn.MaxPool2d(3, 2, 1), blocks[2], blocks[3],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c(512), 1000))


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.e1 = nn.Conv2d(squeeze, expand, 1)
        self.e3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


def squeezenet(width: float) -> nn.Module:
    c = lambda n: _c(width, n)  # noqa: E731
    return nn.Sequential(nn.Conv2d(3, c(64), 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
                         Fire(c(64), c(16), c(64)), Fire(2 * c(64), c(16), c(64)),
                         nn.MaxPool2d(3, 2, ceil_mode=True), Fire(2 * c(64), c(32), c(128)),
                         Fire(2 * c(128), c(32), c(128)), nn.Conv2d(2 * c(128), 1000, 1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, expand: int, cout: int, stride: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(cin, expand, 1)
        self.depthwise = nn.Conv2d(expand, expand, 3, stride, 1, groups=expand)
        self.se1 = nn.Conv2d(expand, max(2, expand // 4), 1)
        self.se2 = nn.Conv2d(max(2, expand // 4), expand, 1)
        self.project = nn.Conv2d(expand, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.hardswish(self.depthwise(F.hardswish(self.expand(x))))
        scale = F.hardsigmoid(self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(h, 1)))))
        out = self.project(scale * h)
        return out + x if self.residual else out


def mobilenet_v3_small(width: float) -> nn.Module:
    c = lambda n: _c(width, n)  # noqa: E731
    return nn.Sequential(nn.Conv2d(3, c(16), 3, 2, 1), nn.Hardswish(),
                         InvertedResidual(c(16), c(64), c(24), 2), InvertedResidual(c(24), c(88), c(24), 1),
                         InvertedResidual(c(24), c(96), c(40), 2), InvertedResidual(c(40), c(240), c(40), 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c(40), 1000))


MODELS = {"resnet18": resnet18, "googlenet": googlenet, "squeezenet1_1": squeezenet,
          "mobilenet_v3_small": mobilenet_v3_small}


def _time(name: str, model: nn.Module, x: torch.Tensor, n_steps: int, repeat: int) -> dict:
    """Median over `repeat` fresh Explainers of: graph build, first `snapshot()` and `explain()`
    (which reuses that snapshot), in seconds; the ratio is the median of the per-run ratios."""
    runs, cpu = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        ex = Explainer(model, x, n_steps=n_steps)
        build = time.perf_counter() - start
        start, start_cpu = time.perf_counter(), time.process_time()
        ex.snapshot()
        snapshot, snapshot_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        start, start_cpu = time.perf_counter(), time.process_time()
        ex.explain()
        runs.append((build, snapshot, time.perf_counter() - start))
        cpu.append((snapshot_cpu, time.process_time() - start_cpu))
    build, snapshot, explain = (statistics.median(column) for column in zip(*runs))
    return {"model": name, "n_steps": n_steps, "input": list(x.shape[1:]), "layers": len(ex.graph.layers),
            "repeat": repeat, "build_s": round(build, 3), "snapshot_s": round(snapshot, 3),
            "explain_s": round(explain, 3),
            "explain_over_snapshot": round(statistics.median(e / s for _, s, e in runs), 2),
            # CPU seconds of this process: far less sensitive than wall time to other jobs
            "snapshot_cpu_s": round(statistics.median(s for s, _ in cpu), 3),
            "explain_cpu_s": round(statistics.median(e for _, e in cpu), 3),
            "explain_over_snapshot_cpu": round(statistics.median(e / s for s, e in cpu), 2),
            # the first run of the process: what a user's first explain() costs (imports included)
            "first_explain_over_snapshot_cpu": round(cpu[0][1] / cpu[0][0], 2)}


def measure(name: str, width: float, n_steps: int, size: int = 64, repeat: int = 1) -> dict:
    """`_time` of one of MODELS at `width` on a (1, 3, size, size) input (random weights)."""
    torch.manual_seed(0)
    model = MODELS[name](width).eval()
    return {**_time(name, model, torch.rand(1, 3, size, size), n_steps, repeat), "width": width}


def measure_digits(kind: str, n_steps: int, repeat: int = 1) -> dict:
    """`_time` of the bundled (trained) digits MLP or CNN on one test digit."""
    from netviz_widget import datasets

    data = datasets.load_digits_split()
    if kind == "mlp":
        return _time("digits_mlp", datasets.digits_mlp(), data.x_test[:1], n_steps, repeat)
    return _time("digits_cnn", datasets.digits_cnn(), data.images(data.x_test[:1]), n_steps, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--n-steps", type=int, default=32)
    parser.add_argument("--size", type=int, default=64, help="input height and width")
    parser.add_argument("--repeat", type=int, default=3, help="fresh Explainers per model (medians)")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--digits", action="store_true", help="also the bundled digits MLP and CNN")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = [measure(name, args.width, args.n_steps, args.size, args.repeat) for name in args.models]
    if args.digits:
        rows += [measure_digits(kind, args.n_steps, args.repeat) for kind in ("mlp", "cnn")]
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
