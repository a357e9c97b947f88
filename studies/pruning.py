"""Pruning hidden units by attribution vs standard criteria, without and with fine-tuning.

Models (one of each per seed): the Fashion-MNIST MLP and CNN (`fashion.py`, trained on a
stratified training subset, `--n-train`, 5,000 by default) and the digits MLP 64-128-128-10.
Each hidden layer loses the same fraction of its units (neurons / conv channels), ranked on a
reference set drawn from the *validation* split by the criteria of `unit_criteria` (random, weight
magnitude, mean activation, Taylor on the logit, Taylor on a mini-batch loss, LRP, and the tool's
layer conductance; 30 images per class, except Taylor on the loss, scored on mini-batches of the
whole validation split as Molchanov et al. 2019 score it on data). Test accuracy is reported
after one-shot pruning and after a short masked fine-tuning; conductance is compared with every
other criterion, paired by seed, with Holm's correction within each (model, setting) family
and, as a second column, over every test of the table at once (the surviving cells are listed).
A retrain check (ROAR-style) retrains the Fashion MLP from a fresh initialisation with the masks
of conductance and of the best other criterion (chosen on validation) at 75% sparsity.

    python -m studies.pruning --seeds 10 --out results/
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netviz_widget import datasets
from netviz_widget.engine._calls import small_work_threads
from studies import fashion
from studies.common import experiment_parser, markdown_table, pyplot, report, report_from_json, save_grid
from studies.protocol import Split, bootstrap_ci, format_ci, holm, paired_p, seed_list, train_val_split
from studies.unit_criteria import CRITERIA, prune_masks, unit_scores

MODELS = ("fashion-mlp", "fashion-cnn", "digits-mlp")
SPARSITIES = (0.5, 0.75, 0.9)
TOOL = "conductance"


def reference_set(x: torch.Tensor, y: torch.Tensor, per_class: int,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`per_class` examples of every class (fewer if a class has fewer), drawn with `seed`."""
    rng = np.random.default_rng(seed)
    labels = y.numpy()
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), min(per_class, int((labels == c).sum())),
                                        replace=False) for c in np.unique(labels)])
    return x[chosen], y[chosen]


def digits_split(seed: int) -> Split:
    """The digits' fixed train/test split with a stratified 10% validation drawn from train."""
    data = datasets.load_digits_split()
    return train_val_split(data.x_train, data.y_train, data.x_test, data.y_test, 0.1, seed)


def train_model(name: str, seed: int, data: Split, epochs: int | None = None) -> nn.Module:
    """One trained model of study `name`."""
    if name == "digits-mlp":
        return datasets.train_classifier(datasets.mlp((64, 128, 128, 10), seed=seed), data.x_train,
                                         data.y_train, epochs=epochs or 40, seed=seed)
    return fashion.trained(name.split("-")[1], seed, data, epochs)


def pruned(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of `model` with the masked weights and biases set to zero."""
    copied = copy.deepcopy(model)
    fashion.apply_masks(copied, masks)
    return copied.eval()


def run_seed(seed: int, models: Sequence[str] = MODELS, sparsities: Sequence[float] = SPARSITIES,
             n_train: int | None = None, epochs: int | None = None, per_class: int = 30,
             finetune_images: int = 1000, roar_epochs: int = 2,
             test_images: int | None = None) -> list[dict]:
    """Train each model, score units on validation, prune, fine-tune, evaluate on test (the first
    `test_images` Fashion test images if given)."""
    runs = []
    for name in models:
        start = time.perf_counter()
        data = digits_split(seed) if name == "digits-mlp" else fashion.split(seed, n_train)
        if test_images and name != "digits-mlp":
            data = Split(data.x_train, data.y_train, data.x_val, data.y_val, data.x_test[:test_images],
                         data.y_test[:test_images])
        model = train_model(name, seed, data, epochs)
        dense = fashion.accuracy(model, data.x_test, data.y_test)
        x_ref, y_ref = reference_set(data.x_val, data.y_val, per_class, seed)
        scores = unit_scores(model, x_ref, y_ref, seed, loss_reference=(data.x_val, data.y_val))
        generator = torch.Generator().manual_seed(seed)
        ft_rows = torch.randperm(data.x_train.shape[0], generator=generator)[:finetune_images]
        ft_epochs = 5 if name == "digits-mlp" else 1
        for criterion in CRITERIA:
            for sparsity in sparsities:
                masks = prune_masks(model, scores[criterion], sparsity)
                cut = pruned(model, masks)
                row = {"seed": seed, "model": name, "criterion": criterion, "sparsity": sparsity,
                       "dense_accuracy": dense,
                       "val_accuracy": (fashion.accuracy(cut, data.x_val, data.y_val)
                                        if name == "fashion-mlp" and sparsity == 0.75 else None),
                       "test_accuracy": fashion.accuracy(cut, data.x_test, data.y_test)}
                if finetune_images > 0:
                    fashion.train(cut, data.x_train[ft_rows], data.y_train[ft_rows], epochs=ft_epochs,
                                  lr=1e-3, seed=seed, masks=masks)
                    row["finetuned_test_accuracy"] = fashion.accuracy(cut, data.x_test, data.y_test)
                runs.append(row)
        if name == "fashion-mlp" and roar_epochs > 0 and 0.75 in sparsities:
            runs += _roar(model, scores, runs, seed, data, roar_epochs)
        print(f"seed {seed} {name}: dense {dense:.3f}, {time.perf_counter() - start:.0f} s", flush=True)
    return runs


def _roar(model: nn.Module, scores: dict, runs: list[dict], seed: int, data: Split,
          epochs: int) -> list[dict]:
    """Retrain from a fresh initialisation with the 75% masks of conductance and of the other
    criterion with the best validation accuracy after pruning (this seed)."""
    mine = [r for r in runs if r["seed"] == seed and r["model"] == "fashion-mlp" and r["sparsity"] == 0.75
            and r["criterion"] not in (TOOL, "random")]
    rival = max(mine, key=lambda r: r["val_accuracy"])["criterion"]
    out = []
    for criterion in (TOOL, rival):
        masks = prune_masks(model, scores[criterion], 0.75)
        fresh = fashion.mlp(seed + 1000)
        fashion.apply_masks(fresh, masks)
        fashion.train(fresh, data.x_train, data.y_train, epochs=epochs, seed=seed, masks=masks)
        out.append({"seed": seed, "model": "fashion-mlp", "roar": True, "criterion": criterion,
                    "role": "tool" if criterion == TOOL else "best other (validation)", "sparsity": 0.75,
                    "test_accuracy": fashion.accuracy(fresh, data.x_test, data.y_test)})
    return out


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, **kwargs: object) -> list[dict]:
    """Every seed (see `run_seed` for the keyword arguments)."""
    runs = []
    for seed in seed_list(seeds):
        runs += run_seed(seed, **kwargs)
    return runs


def _values(runs: list[dict], model: str, criterion: str, sparsity: float, key: str) -> list[float]:
    items = sorted((r for r in runs if not r.get("roar") and r["model"] == model
                    and r["criterion"] == criterion and r["sparsity"] == sparsity), key=lambda r: r["seed"])
    return [r[key] for r in items]


KEYS = (("test_accuracy", "one-shot"), ("finetuned_test_accuracy", "fine-tuned"))


def _keys(runs: list[dict]) -> list[tuple[str, str]]:
    """The settings present in `runs` (fine-tuning is optional)."""
    return [(key, label) for key, label in KEYS if any(key in r for r in runs)]


def comparisons(runs: list[dict]) -> list[dict]:
    """Conductance vs every other criterion in every (model, fine-tuning, sparsity) cell, paired by
    seed; Holm's correction within each (model, setting) family (6 rivals × the sparsities), and,
    for reference, over all cells at once (`p_holm_all`)."""
    cells = []
    models = [m for m in MODELS if any(r["model"] == m and not r.get("roar") for r in runs)]
    sparsities = sorted({r["sparsity"] for r in runs if not r.get("roar")})
    for model in models:
        for key, label in _keys(runs):
            for sparsity in sparsities:
                tool = np.asarray(_values(runs, model, TOOL, sparsity, key))
                for other in CRITERIA:
                    if other == TOOL:
                        continue
                    theirs = np.asarray(_values(runs, model, other, sparsity, key))
                    cells.append({"model": model, "setting": label, "sparsity": sparsity, "other": other,
                                  "difference": bootstrap_ci(tool - theirs), "p": paired_p(tool, theirs)})
    families = {(c["model"], c["setting"]) for c in cells}
    for family in families:
        members = [c for c in cells if (c["model"], c["setting"]) == family]
        for cell, adjusted in zip(members, holm([c["p"] for c in members])):
            cell["p_holm"] = adjusted
            better = cell["difference"][0] > 0
            cell["verdict"] = "tie" if adjusted >= 0.05 else ("wins" if better else "loses")
    for cell, adjusted in zip(cells, holm([c["p"] for c in cells])):
        cell["p_holm_all"] = adjusted
        cell["verdict_all"] = ("tie" if adjusted >= 0.05 else
                               ("wins" if cell["difference"][0] > 0 else "loses"))
    return cells


def smallest_p(n_seeds: int) -> float:
    """The smallest two-sided p the exact sign-flip test can give with `n_seeds` pairs (2 / 2^n)."""
    return 2.0 / 2 ** n_seeds if n_seeds <= 16 else 0.0


def whole_table_summary(cells: list[dict], seeds: int) -> list[str]:
    """Markdown lines: which cells survive Holm over every test of the table at once."""
    survivors = [c for c in cells if c["p_holm_all"] < 0.05]
    floor = smallest_p(seeds) * len(cells)
    lines = [f"**Holm over the whole table** ({len(cells)} tests at once; with {seeds} seeds the exact "
             f"sign-flip test's smallest p is {smallest_p(seeds):.3g}, so no Holm-adjusted p can fall below "
             f"{min(1.0, floor):.3g}): "]
    if not survivors:
        lines[0] += "no cell survives at α = 0.05."
        return lines
    lines[0] += f"{len(survivors)} of {len(cells)} cells survive at α = 0.05:"
    lines += [""] + [f"- {c['model']}, {c['setting']}, {round(100 * c['sparsity'])}%: conductance "
                     f"{c['verdict_all']} against {c['other']} (Δ {100 * c['difference'][0]:+.1f} points, "
                     f"p (Holm, table) {c['p_holm_all']:.3g})" for c in survivors]
    return lines


def summarise(runs: list[dict]) -> str:
    """Markdown: dense accuracy, accuracy per criterion and sparsity (mean [95% CI]) with and without
    fine-tuning, conductance's paired differences with Holm-corrected p, a verdict count, ROAR."""
    seeds = len({r["seed"] for r in runs})
    models = [m for m in MODELS if any(r["model"] == m for r in runs)]
    sparsities = sorted({r["sparsity"] for r in runs if not r.get("roar")})
    cells = comparisons(runs)
    per_family = len(cells) // max(1, len({(c["model"], c["setting"]) for c in cells}))
    parts = [f"{seeds} seeds; test accuracy, mean [bootstrap 95% CI]. Holm's correction within each "
             f"(model, setting) family of {per_family} paired tests (conductance vs each other criterion × "
             f"sparsity), and over all {len(cells)} tests of the table at once (column 'p (Holm, table)'; "
             f"the smallest is {min(c['p_holm_all'] for c in cells):.3g}).", ""]
    dense_rows = [[m, format_ci(*bootstrap_ci(_values(runs, m, "random", sparsities[0], "dense_accuracy")))]
                  for m in models]
    parts += [markdown_table(["model", "dense test accuracy"], dense_rows), ""]
    for model in models:
        for key, label in _keys(runs):
            rows = [[c, *[format_ci(*bootstrap_ci(_values(runs, model, c, s, key))) for s in sparsities]]
                    for c in CRITERIA]
            parts += [f"**{model}, {label}**", "",
                      markdown_table(["criterion", *[f"{round(100 * s)}% pruned" for s in sparsities]], rows),
                      ""]
    parts += ["**Conductance − other criterion** (test accuracy points, mean [95% CI]; p: exact paired "
              "sign-flip test; Holm within each model × setting, and over the whole table)", ""]
    rows = [[c["model"], c["setting"], f"{round(100 * c['sparsity'])}%", c["other"],
             format_ci(*(100 * np.asarray(c["difference"])), digits=1), f"{c['p']:.3g}", f"{c['p_holm']:.3g}",
             c["verdict"], f"{c['p_holm_all']:.3g}", c["verdict_all"]] for c in cells]
    headers = ["model", "setting", "sparsity", "other", "Δ (points)", "p", "p (Holm, family)",
               "verdict (family)", "p (Holm, table)", "verdict (table)"]
    parts += [markdown_table(headers, rows), ""]
    parts += [*whole_table_summary(cells, seeds), ""]
    tally: dict[tuple[str, str], dict[str, int]] = {}
    plural = {"wins": "wins", "tie": "ties", "loses": "loses"}
    for c in cells:
        counts = tally.setdefault((c["model"], c["setting"]), dict.fromkeys(
            ("wins", "ties", "loses", "wins_all", "ties_all", "loses_all"), 0))
        counts[plural[c["verdict"]]] += 1
        counts[plural[c["verdict_all"]] + "_all"] += 1
    parts += ["**Verdicts of conductance** (cells: wins / ties / loses at α = 0.05, Holm within the family "
              "and Holm over the whole table)", "",
              markdown_table(["model", "setting", "family: wins / ties / loses",
                              "table: wins / ties / loses"],
                             [[m, s, f"{t['wins']} / {t['ties']} / {t['loses']}",
                               f"{t['wins_all']} / {t['ties_all']} / {t['loses_all']}"]
                              for (m, s), t in tally.items()]), ""]
    roar = [r for r in runs if r.get("roar")]
    if roar:
        tool = sorted((r for r in roar if r["role"] == "tool"), key=lambda r: r["seed"])
        rival = sorted((r for r in roar if r["role"] != "tool"), key=lambda r: r["seed"])
        a, b = [r["test_accuracy"] for r in tool], [r["test_accuracy"] for r in rival]
        names = sorted({r["criterion"] for r in rival})
        parts += ["**Retrain from scratch with the 75% masks** (fashion-mlp; ROAR-style)", "",
                  markdown_table(["masks of", "test accuracy", "Δ conductance − other", "p"],
                                 [["conductance", format_ci(*bootstrap_ci(a)), "—", "—"],
                                  [f"best other on validation ({', '.join(names)})",
                                   format_ci(*bootstrap_ci(b)), format_ci(*bootstrap_ci(np.subtract(a, b))),
                                   f"{paired_p(a, b):.3g}"]]), ""]
    return "\n".join(parts)


def plot(runs: list[dict], path: Path) -> Path | None:
    """Accuracy vs sparsity per model (one-shot and fine-tuned), mean over seeds; PNG."""
    plt = pyplot()
    if plt is None:
        return None
    models = [m for m in MODELS if any(r["model"] == m for r in runs)]
    sparsities = sorted({r["sparsity"] for r in runs if not r.get("roar")})
    keys = _keys(runs)
    figure, axes = plt.subplots(len(keys), len(models), figsize=(3.3 * len(models), 2.7 * len(keys)),
                                squeeze=False, sharey="row")
    for j, model in enumerate(models):
        for i, (key, label) in enumerate(keys):
            ax = axes[i][j]
            for criterion in CRITERIA:
                means = [np.mean(_values(runs, model, criterion, s, key)) for s in sparsities]
                ax.plot(sparsities, means, marker="o", ms=3, lw=2.2 if criterion == TOOL else 1,
                        color="black" if criterion == TOOL else None, label=criterion)
            ax.set_title(f"{model}, {label}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("fraction of hidden units removed", fontsize=7)
    return save_grid(figure, axes, path, "test accuracy")


def main(argv: list[str] | None = None) -> int:
    """CLI: run the study; write pruning.json, pruning.md and pruning.png."""
    parser = experiment_parser("pruning", __doc__, seeds=10)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--n-train", type=int, default=5000, help="Fashion training subset (5000)")
    parser.add_argument("--test-images", type=int, default=2000, help="Fashion test images used (2000)")
    parser.add_argument("--finetune-images", type=int, default=1000, help="0 skips fine-tuning (1000)")
    parser.add_argument("--sparsities", type=float, nargs="+", default=list(SPARSITIES))
    parser.add_argument("--name", default="pruning", help="output file stem (pruning)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="rewrite the tables (and figure) from an earlier run's JSON instead of running")
    args = parser.parse_args(argv)
    if args.from_json is not None:
        return report_from_json(args.from_json, args.out, args.name, summarise, plot)
    start = time.perf_counter()
    runs = run(args.seeds, models=tuple(args.models), n_train=args.n_train, test_images=args.test_images,
               finetune_images=args.finetune_images, sparsities=tuple(args.sparsities))
    config = {"seeds": args.seeds, "models": args.models, "n_train": args.n_train,
              "test_images": args.test_images, "sparsities": args.sparsities, "criteria": CRITERIA,
              "reference": "30 validation images per class; Taylor (loss): the whole validation split, "
                           "mini-batches of 32",
              "finetune": f"{args.finetune_images} training images (digits too), 1 epoch (digits: 5 epochs), "
                          "Adam 1e-3 cosine, masks kept",
              "roar_epochs": 2,
              "seconds": round(time.perf_counter() - start)}
    args.out.mkdir(parents=True, exist_ok=True)
    plot(runs, args.out / f"{args.name}.png")
    return report(args.out, args.name, runs, summarise(runs), config)


if __name__ == "__main__":
    raise SystemExit(main())
