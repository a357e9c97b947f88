"""Attribution sanity checks: cascading weight randomisation (Adebayo et al. 2018).

Per seed, the Fashion-MNIST MLP and CNN (`fashion.py`, trained on a 5k training subset) are
randomised layer by layer from the logits down (each layer re-initialised with its default
initialiser, cumulatively). After each step three maps are recomputed on 50 test images and
compared with the trained model's maps on test images, toward the true class:

- integrated gradients on the input (the tool's input scores);
- neuron conductance on the input through one fixed unit of the last hidden layer (the unit
  with the largest mean |conductance| in the trained model on validation images; Captum's
  `NeuronConductance`);
- layer conductance of the first hidden layer's units (the tool's node scores).

Input maps are compared by Spearman's ρ, signed and absolute, over all pixels and over *ink*
pixels only (pixels > 0 in the image: on background pixels IG is exactly 0 in both maps, which
inflates ρ over all pixels), and by SSIM of the |map| (each scaled to [0, 1]). Unit maps are
compared by Spearman's ρ over units. A method passes the check when the similarity falls as
layers are randomised.

    python -m studies.sanity --seeds 10 --out results/
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import uniform_filter
from scipy.stats import spearmanr
from torch import nn

from netviz_widget.engine._calls import small_work_threads
from netviz_widget.engine.attribution import path_scores
from netviz_widget.engine.graph.layered import LayeredGraph
from studies import fashion
from studies.common import experiment_parser, markdown_table, report, report_from_json
from studies.protocol import bootstrap_ci, format_ci, seed_list
from studies.unit_criteria import hidden_layers

METRICS = ("ρ signed, all pixels", "ρ |·|, all pixels", "ρ signed, ink", "ρ |·|, ink", "SSIM |·|")


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7) -> float:
    """Structural similarity of two 2-D maps with values in [0, 1] (uniform window, as
    scikit-image's default; data range 1)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b = uniform_filter(a, window), uniform_filter(b, window)
    var_a = uniform_filter(a * a, window) - mu_a ** 2
    var_b = uniform_filter(b * b, window) - mu_b ** 2
    cov = uniform_filter(a * b, window) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    pad = window // 2
    return float(index[pad:-pad, pad:-pad].mean())


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def compare_input_maps(before: np.ndarray, after: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Mean over images of each metric in `METRICS` (maps and images shaped (n, 1, h, w))."""
    values = {m: [] for m in METRICS}
    for first, second, image in zip(before, after, x):
        f, s, ink = first.ravel(), second.ravel(), image.ravel() > 0
        values["ρ signed, all pixels"].append(_rho(f, s))
        values["ρ |·|, all pixels"].append(_rho(np.abs(f), np.abs(s)))
        values["ρ signed, ink"].append(_rho(f[ink], s[ink]))
        values["ρ |·|, ink"].append(_rho(np.abs(f[ink]), np.abs(s[ink])))
        scaled = [np.abs(m[0]) / max(np.abs(m).max(), 1e-12) for m in (first, second)]
        values["SSIM |·|"].append(ssim(*scaled))
    return {m: float(np.mean(v)) for m, v in values.items()}


def compare_unit_maps(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """Mean over examples of Spearman's ρ over units, signed and absolute."""
    return {"ρ signed, units": float(np.mean([_rho(a, b) for a, b in zip(before, after)])),
            "ρ |·|, units": float(np.mean([_rho(np.abs(a), np.abs(b)) for a, b in zip(before, after)]))}


def maps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, unit: tuple[str, int],
         n_steps: int = 16) -> dict[str, np.ndarray]:
    """IG, neuron conductance through `unit` (layer, index) and the first hidden layer's conductance."""
    from captum.attr import NeuronConductance

    model.eval()
    graph = LayeredGraph.from_module(model, x[:1])
    scores = path_scores(graph, x, torch.zeros_like(x), y, n_steps, edges=False)
    first = hidden_layers(model)[0][0]
    layer, index = unit
    neuron = NeuronConductance(model, getattr(model, layer)).attribute(
        x, neuron_selector=index, target=y, n_steps=n_steps)
    return {"integrated gradients": scores.input_scores, "neuron conductance": neuron.detach().numpy(),
            "layer conductance": scores.node_scores[first]}


def cascade(model: nn.Module, seed: int) -> list[tuple[str, nn.Module]]:
    """The model with its weighted layers re-initialised cumulatively from the output down."""
    layers = [name for name, m in model.named_children() if isinstance(m, (nn.Linear, nn.Conv2d))]
    steps, current = [], copy.deepcopy(model)
    with torch.random.fork_rng():
        torch.manual_seed(10_000 + seed)
        for name in reversed(layers):
            current = copy.deepcopy(current)
            getattr(current, name).reset_parameters()
            steps.append((f"down to {name}", current.eval()))
    return steps


def run_seed(seed: int, kinds: tuple[str, ...] = ("mlp", "cnn"), n_train: int = 5000,
             n_images: int = 50, epochs: int | None = None) -> list[dict]:
    """One seed: train each model, randomise it cumulatively, compare the maps at each step."""
    data = fashion.split(seed, n_train)
    x, y = data.x_test[:n_images], data.y_test[:n_images]
    runs = []
    for kind in kinds:
        model = fashion.trained(kind, seed, data, epochs)
        last_hidden = hidden_layers(model)[-1][0]
        x_val, y_val = data.x_val[:n_images], data.y_val[:n_images]  # the unit is chosen on validation
        conductance = path_scores(LayeredGraph.from_module(model, x_val[:1]), x_val, torch.zeros_like(x_val),
                                  y_val, 16, edges=False).node_scores[last_hidden]
        unit = (last_hidden, int(np.abs(conductance).mean(0).argmax()))
        original = maps(model, x, y, unit)
        for step, randomised in cascade(model, seed):
            after = maps(randomised, x, y, unit)
            for method in ("integrated gradients", "neuron conductance"):
                runs.append({"seed": seed, "model": kind, "step": step, "method": method,
                             **compare_input_maps(original[method], after[method], x.numpy())})
            runs.append({"seed": seed, "model": kind, "step": step, "method": "layer conductance",
                         **compare_unit_maps(original["layer conductance"], after["layer conductance"])})
    return runs


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, **kwargs: object) -> list[dict]:
    """Every seed (see `run_seed`)."""
    runs = []
    for seed in seed_list(seeds):
        start = time.perf_counter()
        runs += run_seed(seed, **kwargs)
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    return runs


def summarise(runs: list[dict]) -> str:
    """Markdown per model: each method's similarity to the trained model's map after each step."""
    parts = [f"{len({r['seed'] for r in runs})} seeds; similarity to the trained model's map, mean over the "
             "test images, then mean [bootstrap 95% CI] over seeds. 1 = unchanged, 0 = unrelated.", ""]
    for kind in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == kind]
        steps = list(dict.fromkeys(r["step"] for r in mine))
        for method in dict.fromkeys(r["method"] for r in mine):
            rows_in = [r for r in mine if r["method"] == method]
            metrics = [k for k in rows_in[0] if k not in ("seed", "model", "step", "method")]
            rows = [[step, *[format_ci(*bootstrap_ci([r[m] for r in rows_in if r["step"] == step]), digits=2)
                             for m in metrics]] for step in steps]
            parts += [f"**{kind.upper()} — {method}**", "",
                      markdown_table(["layers randomised", *metrics], rows), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """CLI: run the checks; write sanity.json and sanity.md."""
    parser = experiment_parser("sanity", __doc__, seeds=10)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--images", type=int, default=50, help="test images compared (50)")
    parser.add_argument("--kinds", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    parser.add_argument("--name", default="sanity", help="output file stem (sanity)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="rewrite the tables (and figure) from an earlier run's JSON instead of running")
    args = parser.parse_args(argv)
    if args.from_json is not None:
        return report_from_json(args.from_json, args.out, args.name, summarise)
    start = time.perf_counter()
    runs = run(args.seeds, n_train=args.n_train, n_images=args.images, kinds=tuple(args.kinds))
    config = {"seeds": args.seeds, "n_train": args.n_train, "images": args.images, "kinds": args.kinds,
              "n_steps": 16,
              "seconds": round(time.perf_counter() - start)}
    return report(Path(args.out), args.name, runs, summarise(runs), config)


if __name__ == "__main__":
    raise SystemExit(main())
