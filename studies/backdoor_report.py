"""Tables and curves of the blind backdoor study (`backdoor.py`), written from its runs.

    python -m studies.backdoor_report results/a/backdoor.json ... --out docs/results/

merges the JSON of several runs (e.g. one process per task) into one report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from studies.backdoor_arms import merge_arms
from studies.common import markdown_table, write_outputs
from studies.protocol import bootstrap_ci, compare_arms, format_ci, holm, paired_p


def _cells(runs: list[dict]) -> list[tuple[str, str, float]]:
    return sorted({(r["task"], r["trigger"], r["rate"]) for r in runs})


def _ci(values: list[float]) -> str:
    kept = [v for v in values if not np.isnan(v)]
    return format_ci(*bootstrap_ci(kept)) if kept else "—"


def defence_table(runs: list[dict]) -> str:
    """Per task, trigger and poisoning rate: each defence's test clean accuracy and ASR (mean
    [95% bootstrap CI] over seeds), its ASR difference to the tool (paired by seed, Holm-corrected
    over the defences of the cell) and the units it switched off."""
    rows = []
    for task, trigger, rate in _cells(runs):
        group = [r for r in runs if (r["task"], r["trigger"], r["rate"]) == (task, trigger, rate)]
        names = list(group[0]["defences"])
        asr = {name: [r["defences"][name]["ASR"] for r in group] for name in names}
        versus = {row.arm: row for row in compare_arms(asr, "tool")}
        for name in names:
            accuracy = [r["defences"][name]["clean accuracy"] for r in group]
            units = np.mean([r["defences"][name]["units"] for r in group])
            row = versus.get(name)
            rows.append([task, trigger, f"{100 * rate:g}%", name, _ci(accuracy), _ci(asr[name]),
                         "reference" if row is None else format_ci(row.difference, row.difference_low,
                                                                   row.difference_high),
                         "—" if row is None else f"{row.p_holm:.3g}", f"{units:.1f}"])
    seeds = len({r["seed"] for r in runs})
    return (f"{seeds} seeds per cell; test set; budget: at most 2 points of validation accuracy lost.\n\n"
            + markdown_table(["model", "trigger", "poisoned", "defence", "clean accuracy", "ASR",
                              "ASR − tool's [95% CI]", "p (Holm)", "units off"], rows))


def added_arms_table(runs: list[dict]) -> str:
    """Per poisoned cell whose runs carry ``"added arms"`` (`backdoor_arms`): each added arm's test
    clean accuracy and ASR, and its ASR difference to the tool's and to the *fine-pruning* arm's,
    paired by seed and Holm-corrected over these two comparisons only (the main table's families
    are left as they were)."""
    rows = []
    for task, trigger, rate in _cells(runs):
        group = [r for r in runs if (r["task"], r["trigger"], r["rate"]) == (task, trigger, rate)]
        if not all("added arms" in r for r in group):
            continue
        for name in group[0]["added arms"]:
            arm = [r["added arms"][name] for r in group]
            asr = [a["ASR"] for a in arm]
            cells = []
            references = ("tool", "fine-pruning")
            raw = [paired_p(asr, [r["defences"][ref]["ASR"] for r in group]) for ref in references]
            for ref, p in zip(references, holm(raw)):
                difference = np.asarray(asr) - [r["defences"][ref]["ASR"] for r in group]
                cells += [format_ci(*bootstrap_ci(difference)), f"{p:.3g}"]
            rows.append([task, trigger, f"{100 * rate:g}%", name, _ci([a["clean accuracy"] for a in arm]),
                         _ci(asr), *cells, f"{np.mean([a['units'] for a in arm]):.1f}"])
    if not rows:
        return ""
    return ("Added later (`studies/backdoor_arms.py`), on the same models (each retrained and checked to "
            "reproduce its *none* and *fine-pruning* rows exactly); test set; p: paired by seed, Holm over "
            "the two comparisons of the row.\n\n"
            + markdown_table(["model", "trigger", "poisoned", "defence", "clean accuracy", "ASR",
                              "ASR − tool's [95% CI]", "p (Holm)", "ASR − fine-pruning's [95% CI]",
                              "p (Holm)", "units off"], rows))


def detection_table(runs: list[dict]) -> str:
    """Per cell: how often each detector names the target class (Neural Cleanse also: how often
    it flags the model at all), and AC / SS AUROC at finding the poisoned training inputs."""
    rows = []
    for task, trigger, rate in _cells(runs):
        group = [r for r in runs if (r["task"], r["trigger"], r["rate"]) == (task, trigger, rate)]
        rows.append([task, trigger, f"{100 * rate:g}%",
                     *(_ci([r[key] for r in group]) for key in
                       ("NC flags", "NC finds target", "AC flags target", "SS flags target", "AC AUROC",
                        "SS AUROC"))])
    return markdown_table(["model", "trigger", "poisoned", "NC flags model (index > 2)",
                           "NC names target", "AC names target", "SS names target", "AC AUROC",
                           "SS AUROC"], rows)


def curve_table(runs: list[dict]) -> str:
    """Mean test accuracy and ASR after switching off the first share of each order's units."""
    rows = []
    for task, trigger, rate in _cells(runs):
        if rate == 0:
            continue
        group = [r for r in runs if (r["task"], r["trigger"], r["rate"]) == (task, trigger, rate)]
        for order in group[0]["curves"]:
            points = [r["curves"][order] for r in group]
            cells = [f"{np.mean([p[i]['accuracy'] for p in points]):.2f} / "
                     f"{np.mean([p[i]['ASR'] for p in points]):.2f}" for i in range(len(points[0]))]
            rows.append([task, trigger, f"{100 * rate:g}%", order, *cells])
    fractions = [f"{100 * p['fraction']:g}%" for p in runs[0]["curves"]["tool"]]
    return ("Clean accuracy / ASR on test after zeroing the first share of the hidden units in each "
            "order (mean over seeds; tool: conductance rise toward the suspect class; dormant: lowest "
            "mean clean activation first).\n\n"
            + markdown_table(["model", "trigger", "poisoned", "order", *fractions], rows))


def plot_curves(runs: list[dict], path: Path) -> None:
    """ASR against clean accuracy: the three unit orders as curves, retraining defences as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in _cells(runs) if c[2] > 0]
    if not cells:  # only clean (0%) runs: there is no attack success to plot
        print(f"no poisoned cells: {path} not drawn")
        return
    columns = sorted({(c[0], c[1]) for c in cells})
    rates = sorted({c[2] for c in cells})
    figure, axes = plt.subplots(len(rates), len(columns), figsize=(3.2 * len(columns), 2.8 * len(rates)),
                                squeeze=False)
    for i, rate in enumerate(rates):
        for j, (task, trigger) in enumerate(columns):
            axis = axes[i][j]
            group = [r for r in runs if (r["task"], r["trigger"], r["rate"]) == (task, trigger, rate)]
            if not group:  # a cell that was not run
                axis.set_axis_off()
                continue
            for order in group[0]["curves"]:
                points = [r["curves"][order] for r in group]
                axis.plot([np.mean([p[k]["accuracy"] for p in points]) for k in range(len(points[0]))],
                          [np.mean([p[k]["ASR"] for p in points]) for k in range(len(points[0]))],
                          marker=".", label=f"{order} order")
            points_of = ("neural cleanse", "fine-pruning", "fine-tuning", "tool", "tool + fine-tuning")
            for colour, name in enumerate(points_of, start=3):
                axis.scatter(np.mean([r["defences"][name]["clean accuracy"] for r in group]),
                             np.mean([r["defences"][name]["ASR"] for r in group]), marker="x", label=name,
                             color=f"C{colour}")
            axis.set_title(f"{task}, {trigger}, {100 * rate:g}%", fontsize=8)
            axis.set_xlabel("clean accuracy (test)", fontsize=7)
            axis.set_ylabel("ASR (test)", fontsize=7)
            axis.tick_params(labelsize=6)
    axes[0][0].legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(out: Path, runs: list[dict], config: dict) -> int:
    """backdoor.json, backdoor.md (three tables) and backdoor_curves.png under `out`."""
    added = added_arms_table(runs)
    table = ("### Defences\n\n" + defence_table(runs)
             + (f"\n\n### Fine-pruning at Liu et al.'s stopping rule\n\n{added}" if added else "")
             + "\n\n### Detection\n\n" + detection_table(runs)
             + "\n\n### ASR against clean accuracy\n\n" + curve_table(runs))
    paths = write_outputs(out, "backdoor", runs, table, config)
    plot_curves(runs, out / "backdoor_curves.png")
    print(table)
    print("wrote", *paths, *[p for p in [out / "backdoor_curves.png"] if p.exists()])
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI: merge backdoor.json files into one report."""
    parser = argparse.ArgumentParser(prog="python -m studies.backdoor_report")
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--arms", nargs="*", type=Path, default=[],
                        help="rows of added arms (python -m studies.backdoor_arms) merged into the runs")
    args = parser.parse_args(argv)
    runs, configs = [], []
    for path in args.inputs:
        data = json.loads(path.read_text())
        runs += data["runs"]
        configs.append(data["config"])
    added = [row for path in args.arms for row in json.loads(path.read_text())["rows"]]
    merge_arms(runs, added)
    return write_report(args.out, runs, {"merged": configs})


if __name__ == "__main__":
    raise SystemExit(main())
