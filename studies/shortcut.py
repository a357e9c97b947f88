"""Shortcut removal on decoy Fashion-MNIST: find the shortcut with the tool, then penalise it.

Two shortcuts, each present in training and validation and absent (random) at test:

- ``swatch`` (local, after Ross et al. 2017's Decoy MNIST): a 4×4 swatch in a random corner,
  shade (255 − 25·label)/255;
- ``brightness`` (non-local): every pixel raised by 0.04·label (clipped to 1).

Per seed: a plain MLP is trained; the tool *finds* the region it leans on from validation
attributions (`attribution_prior.find_region`, no location given); then arms are trained over a
sweep of strengths — the IG prior on the found region (the tool's path), the expected-gradients
prior (Erion et al. 2021) and the input-gradient penalty (RRR) on the same region, weight decay,
dropout — each arm's strength selected on
validation images whose found region is resampled from other images (the tool's resample
intervention); and an oracle trained with random swatches / random brightness. Reported: test
accuracy (shortcut random) per arm, paired tests with Holm's correction, accuracy vs strength,
the finder's precision / recall / IoU against the true swatch, the swatch's |IG| share.

    python -m studies.shortcut --seeds 10 --out results/
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from netviz_widget.engine._calls import small_work_threads
from studies import fashion
from studies.attribution_prior import (
    attribution_map,
    eg_penalty,
    find_region,
    ig_penalty,
    input_gradient_penalty,
    region_quality,
    resample_region,
)
from studies.common import experiment_parser, markdown_table, pyplot, report, report_from_json, save_grid
from studies.protocol import bootstrap_ci, comparison_table, format_ci, seed_list

KINDS = ("swatch", "brightness")
STRENGTHS = {"IG prior (found region)": (1.0, 10.0, 100.0),
             "input-gradient penalty (found region)": (1.0, 10.0, 100.0),
             "weight decay": (1e-4, 1e-3, 1e-2), "dropout": (0.25, 0.5, 0.75),
             "IG prior (true region)": (1.0, 10.0, 100.0),
             "EG prior (found region)": (10.0, 100.0, 1000.0)}
GIVEN = "IG prior (true region)"  # the region given, not found: the swatch only
WIDTHS = (784, 128, 10)
SWATCH = 4


def corner_masks() -> torch.Tensor:
    """(4, 1, 28, 28) boolean masks of the four 4×4 corners."""
    masks = torch.zeros(4, 1, 28, 28, dtype=torch.bool)
    for i, (r, c) in enumerate(((0, 0), (0, 28 - SWATCH), (28 - SWATCH, 0), (28 - SWATCH, 28 - SWATCH))):
        masks[i, 0, r:r + SWATCH, c:c + SWATCH] = True
    return masks


def true_region(kind: str) -> torch.Tensor:
    """Where the shortcut lives: the four corners for the swatch, every pixel for brightness."""
    return corner_masks().any(0) if kind == "swatch" else torch.ones(1, 28, 28, dtype=torch.bool)


def decoy(x: torch.Tensor, code: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Images `x` carrying shortcut `kind` for label codes `code` (0–9; a random code gives the
    shortcut without information)."""
    if kind == "brightness":
        return (x + 0.04 * code.float().reshape(-1, 1, 1, 1)).clamp(0, 1)
    corner = torch.randint(0, 4, (x.shape[0],), generator=generator)
    shade = ((255 - 25 * code).float() / 255).reshape(-1, 1, 1, 1)
    return torch.where(corner_masks()[corner], shade, x)


def decoy_split(seed: int, kind: str, n_train: int | None) -> dict[str, torch.Tensor]:
    """Train / validation with the shortcut (label-coded), test and the oracle's training images
    with random codes."""
    data = fashion.split(seed, n_train)
    g = torch.Generator().manual_seed(seed)

    def random_codes(n: int) -> torch.Tensor:
        return torch.randint(0, 10, (n,), generator=g)
    return {"x_train": decoy(data.x_train, data.y_train, kind, g), "y_train": data.y_train,
            "x_val": decoy(data.x_val, data.y_val, kind, g), "y_val": data.y_val,
            "x_test": decoy(data.x_test, random_codes(len(data.y_test)), kind, g), "y_test": data.y_test,
            "x_oracle": decoy(data.x_train, random_codes(len(data.y_train)), kind, g)}


def train_arm(arm: str, strength: float, data: dict, mask: torch.Tensor, seed: int, epochs: int):
    """Train the MLP of one arm at one strength (plain and oracle ignore `strength`)."""
    model = fashion.mlp(seed, WIDTHS, dropout=strength if arm == "dropout" else 0.0)
    weight = mask.float()
    penalty = None
    if arm.startswith("IG prior") and mask.any():
        def penalty(m, xb, yb):
            return strength * ig_penalty(m, xb, yb, weight)
    elif arm.startswith("EG prior") and mask.any():
        def penalty(m, xb, yb):
            return strength * eg_penalty(m, xb, yb, weight)
    elif arm.startswith("input-gradient") and mask.any():
        def penalty(m, xb, yb):
            return strength * input_gradient_penalty(m, xb, weight)
    x = data["x_oracle"] if arm == "oracle" else data["x_train"]
    return fashion.train(model, x, data["y_train"], epochs=epochs, lr=2e-3, seed=seed, penalty=penalty,
                         weight_decay=strength if arm == "weight decay" else 0.0)


def run_seed(seed: int, kind: str, n_train: int | None = 5000, epochs: int = 5, n_find: int = 500,
             strengths: dict[str, Sequence[float]] = STRENGTHS, finder: str = "ig",
             oracle: bool = True) -> list[dict]:
    """One seed of one shortcut: plain, find (with the `finder` map: 'ig' or 'gradient'), every
    arm × strength, oracle."""
    data = decoy_split(seed, kind, n_train)
    truth = true_region(kind)
    plain = train_arm("plain", 0.0, data, truth, seed, epochs)
    regions = {method: find_region(plain, data["x_val"][:n_find], method=method)
               for method in ("ig", "gradient")}
    found = regions[finder]
    x_val_resampled = resample_region(data["x_val"], found, seed)
    quality = {"finder": finder, **region_quality(found, truth)}
    for method, region in regions.items():
        scores = region_quality(region, truth)
        quality.update({f"{method}_finder_{key}": value for key, value in scores.items()})

    def evaluate(arm: str, strength: float, model) -> dict:
        share = attribution_map(model, data["x_test"][:200], n_steps=8)
        return {"seed": seed, "kind": kind, "arm": arm, "strength": strength,
                "test_accuracy": fashion.accuracy(model, data["x_test"], data["y_test"]),
                "val_accuracy": fashion.accuracy(model, data["x_val"], data["y_val"]),
                "val_resampled_accuracy": fashion.accuracy(model, x_val_resampled, data["y_val"]),
                "true_region_share": float(share[truth.numpy()].sum()), **quality}
    x_val_truth = resample_region(data["x_val"], truth, seed)
    runs = [evaluate("plain", 0.0, plain)]
    for arm, values in strengths.items():
        if arm == GIVEN and kind != "swatch":
            continue
        for s in values:
            model = train_arm(arm, s, data, truth if arm == GIVEN else found, seed, epochs)
            row = evaluate(arm, s, model)
            if arm == GIVEN:  # selected on validation with the given region resampled
                row["val_resampled_accuracy"] = fashion.accuracy(model, x_val_truth, data["y_val"])
            runs.append(row)
    if oracle:
        runs.append(evaluate("oracle", 0.0, train_arm("oracle", 0.0, data, found, seed, epochs)))
    runs[0]["found_mask"] = found.numpy().astype(np.uint8)
    return runs


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, kinds: Sequence[str] = KINDS, **kwargs: object) -> list[dict]:
    """Every seed of every shortcut."""
    runs = []
    for kind in kinds:
        for seed in seed_list(seeds):
            start = time.perf_counter()
            runs += run_seed(seed, kind, **kwargs)
            print(f"{kind} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    return runs


def selected(runs: list[dict], kind: str) -> dict[str, list[dict]]:
    """Per arm, per seed: the run whose strength has the best validation accuracy with the found
    region resampled (ties: the smaller strength)."""
    out: dict[str, list[dict]] = {}
    arms = ["plain", *STRENGTHS, "oracle"]
    for arm in arms:
        items = [r for r in runs if r["kind"] == kind and r["arm"] == arm]
        if not items:
            continue
        for seed in sorted({r["seed"] for r in items}):
            mine = sorted((r for r in items if r["seed"] == seed), key=lambda r: r["strength"])
            out.setdefault(arm, []).append(max(mine, key=lambda r: r["val_resampled_accuracy"]))
    return out


def swept(runs: list[dict], kind: str | None = None) -> dict[str, list[float]]:
    """Arm → the strengths present in `runs` (of shortcut `kind` if given), in `STRENGTHS` order."""
    return {arm: sorted({r["strength"] for r in runs if r["arm"] == arm and kind in (None, r["kind"])})
            for arm in STRENGTHS if any(r["arm"] == arm for r in runs)}


def summarise(runs: list[dict]) -> str:
    """Markdown per shortcut: the finder's quality, the selected arms against the IG prior (paired,
    Holm), and test accuracy vs strength."""
    parts = []
    for kind in [k for k in KINDS if any(r["kind"] == k for r in runs)]:
        chosen = selected(runs, kind)
        plain = chosen["plain"]
        seeds = len(plain)
        keys = ("found_pixels", "precision", "recall", "iou")
        finders = []
        finder = plain[0].get("finder", "ig")
        for label, prefix in (("integrated gradients (the tool's)", "ig_finder_"),
                              ("input gradient", "gradient_finder_")):
            if prefix + "iou" not in plain[0]:
                prefix = ""
            label += " — penalised region" if prefix.startswith(finder) or not prefix else ""
            q = {key: bootstrap_ci([r[prefix + key] for r in plain]) for key in keys}
            finders.append([label, f"{q['found_pixels'][0]:.1f}", format_ci(*q["precision"], digits=2),
                            format_ci(*q["recall"], digits=2), format_ci(*q["iou"], digits=2)])
        parts += [f"### Shortcut: {kind} ({seeds} seeds)", "",
                  f"Region found from validation attributions of the plain model (true region: "
                  f"{int(true_region(kind).sum())} pixels), mean [95% CI]:", "",
                  markdown_table(["finder map", "pixels found", "precision", "recall", "IoU"], finders), ""]
        accuracy = {arm: [r["test_accuracy"] for r in items] for arm, items in chosen.items()}
        headers, rows = comparison_table(accuracy, "plain", "test accuracy")
        share = {arm: format_ci(*bootstrap_ci([r["true_region_share"] for r in items]))
                 for arm, items in chosen.items()}
        picked = {arm: ", ".join(f"{s:g}×{n}" for s, n in zip(*np.unique([r["strength"] for r in items],
                                                                         return_counts=True)))
                  for arm, items in chosen.items()}
        rows = [[*row, picked[row[0]], share[row[0]]] for row in rows]
        parts += ["Test accuracy (shortcut random at test) of each arm at its validation-selected strength:",
                  "", markdown_table([*headers, "strength chosen (× seeds)", "|IG| share on the true region"],
                                     rows), ""]
        sweep_rows = []
        for arm, values in swept(runs, kind).items():
            for s in values:
                if arm not in chosen:
                    continue
                mine = [r for r in runs if r["kind"] == kind and r["arm"] == arm and r["strength"] == s]
                if not mine:
                    continue
                val = bootstrap_ci([r["val_resampled_accuracy"] for r in mine])
                sweep_rows.append([arm, f"{s:g}", format_ci(*val),
                                   format_ci(*bootstrap_ci([r["test_accuracy"] for r in mine]))])
        parts += ["Accuracy vs strength (every strength, mean [95% CI] over seeds; validation with the "
                  "penalised region resampled):", "",
                  markdown_table(["arm", "strength", "validation (selection)", "test"], sweep_rows), ""]
    return "\n".join(parts)


def plot(runs: list[dict], path: Path) -> Path | None:
    """Test accuracy vs strength per arm and shortcut (mean over seeds), with plain and oracle lines."""
    plt = pyplot()
    if plt is None:
        return None
    kinds = [k for k in KINDS if any(r["kind"] == k for r in runs)]
    arms = swept(runs)
    figure, axes = plt.subplots(len(kinds), len(arms), figsize=(2 * len(arms), 2.7 * len(kinds)),
                                squeeze=False)
    for i, kind in enumerate(kinds):
        reference = {arm: np.mean([r["test_accuracy"] for r in runs if r["kind"] == kind and r["arm"] == arm])
                     for arm in ("plain", "oracle")}
        for j, (arm, values) in enumerate(arms.items()):
            ax = axes[i][j]
            if not any(r["kind"] == kind and r["arm"] == arm for r in runs):
                ax.axis("off")
                continue
            means = [np.mean([r["test_accuracy"] for r in runs if r["kind"] == kind and r["arm"] == arm
                              and r["strength"] == s]) for s in values]
            ax.plot(range(len(values)), means, marker="o")
            ax.axhline(reference["plain"], color="grey", ls="--", lw=1, label="plain")
            ax.axhline(reference["oracle"], color="green", ls=":", lw=1, label="oracle")
            ax.set_xticks(range(len(values)), [f"{s:g}" for s in values], fontsize=7)
            ax.set_title(f"{kind}: {arm}".replace(" (", "\n("), fontsize=7)
            ax.tick_params(labelsize=7)
    return save_grid(figure, axes, path, "test accuracy")


def main(argv: list[str] | None = None) -> int:
    """CLI: run both shortcuts; write shortcut.json, shortcut.md and shortcut.png."""
    parser = experiment_parser("shortcut", __doc__, seeds=10)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--finder", choices=["ig", "gradient"], default="ig", help="map of the finder (ig)")
    parser.add_argument("--arms", nargs="+", default=list(STRENGTHS), choices=list(STRENGTHS))
    parser.add_argument("--strength", type=float, nargs="+", default=None,
                        help="the strengths swept for every arm named by --arms (default: each arm's own)")
    parser.add_argument("--no-oracle", action="store_true")
    parser.add_argument("--name", default="shortcut", help="output file stem (shortcut)")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None,
                        help="rewrite the tables (and figure) from earlier runs' JSON instead of running "
                             "(several: merged, shared rows once)")
    args = parser.parse_args(argv)
    if args.from_json is not None:
        return report_from_json(args.from_json, args.out, args.name, summarise, plot)
    start = time.perf_counter()
    strengths = {arm: STRENGTHS[arm] if args.strength is None else tuple(args.strength) for arm in args.arms}
    runs = run(args.seeds, tuple(args.kinds), n_train=args.n_train, epochs=args.epochs, strengths=strengths,
               finder=args.finder, oracle=not args.no_oracle)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(runs, args.out / f"{args.name}.png")
    config = {"seeds": args.seeds, "kinds": args.kinds, "n_train": args.n_train, "epochs": args.epochs,
              "widths": WIDTHS, "strengths": strengths,
              "finder": f"robust z > 3.5 on the mean |{args.finder}| share per pixel",
              "seconds": round(time.perf_counter() - start)}
    return report(args.out, args.name, runs, summarise(runs), config)


if __name__ == "__main__":
    raise SystemExit(main())
