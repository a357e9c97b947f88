"""Arms added to the blind backdoor study (`backdoor.py`) after its cells were run, computed
without recomputing the cells and merged into their JSON by `backdoor_report --arms`.

- ``fine-pruning (Liu budget)``: Liu et al. 2018's stopping rule instead of the shared 2-point
  budget. Their pruning defence removes the last convolutional layer's units in increasing order
  of mean activation on clean validation inputs and stops when validation accuracy drops below a
  pre-set threshold; here: more than `LIU_DROP` (4 points) below the unpruned model's. The
  survivors are fine-tuned exactly as in the study's *fine-pruning* arm (same layer, 200 Adam steps
  at lr 1e-3 on validation, pruned units kept off), so the two arms differ only in the threshold.

Each seed's model is retrained from its cell's settings (the training is deterministic); the
retrained model must reproduce the committed run's *none* row — test clean accuracy, ASR and
validation accuracy, as floats, exactly — or the run is refused. Nothing else in the cell's JSON
is touched: the rows go under the run's ``"added arms"`` key.

    python -m studies.backdoor_arms docs/results/backdoor.json --tasks digits-mlp --out runs/liu-digits.json
    python -m studies.backdoor_arms docs/results/backdoor.json --tasks fashion-cnn --n-train 4000 \\
        --n-test 1000 --out runs/liu-cnn.json
    python -m studies.backdoor_report runs/.../backdoor.json ... --arms runs/liu-*.json --out docs/results

``--nc-schedule`` instead compares Neural Cleanse's detection with its fixed mask weight (the
study's) and with Wang et al.'s dynamic weight (`backdoor_defences.CostSchedule`) on a few seeds:

    python -m studies.backdoor_arms --nc-schedule --tasks digits-mlp --rates 0.01 --seeds 0 1 2 3 4 \
        --out docs/results/backdoor_nc_schedule.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from netviz_widget.engine._calls import small_work_threads
from studies import backdoor as bd
from studies import backdoor_defences as bdf
from studies.common import markdown_table

LIU_DROP = 0.04
LIU_ARM = "fine-pruning (Liu budget)"
CHECKED = ("clean accuracy", "ASR", "validation accuracy")


class NotReproduced(RuntimeError):
    """A retrained model does not reproduce its committed run."""


def retrain(run: dict, **task_options) -> bd.Poisoned:
    """The committed `run`'s model, retrained; raises `NotReproduced` unless it reproduces the
    run's *none* row exactly."""
    trained = bd.train_poisoned(run["task"], run["trigger"], run["rate"], run["seed"], **task_options)
    if trained.target != run["target"]:
        raise NotReproduced(f"seed {run['seed']}: target {trained.target}, committed {run['target']}")
    row = bd.measure(trained.task, trained.model, trained.target, trained.trigger, 0)
    for key in CHECKED:
        if row[key] != run["defences"]["none"][key]:
            raise NotReproduced(f"{run['task']} {run['trigger']} {run['rate']} seed {run['seed']}: {key} "
                                f"{row[key]!r}, committed {run['defences']['none'][key]!r}")
    return trained


def liu_arm(run: dict, **task_options) -> dict:
    """The ``fine-pruning (Liu budget)`` row of one committed run (keys as the run's defences).
    The run's own *fine-pruning* row (2-point budget) is recomputed first and must match too."""
    trained = retrain(run, **task_options)
    task = trained.task

    def fine_prune(drop: float) -> dict:
        defended, n_units = bdf.fine_prune(trained.model, task.shape, task.last_hidden, task.x_val,
                                           task.y_val, drop, task.tune_steps, run["seed"])
        return bd.measure(task, defended, trained.target, trained.trigger, n_units)
    if fine_prune(bd.BUDGET) != run["defences"]["fine-pruning"]:
        raise NotReproduced(f"{run['task']} {run['trigger']} {run['rate']} seed {run['seed']}: fine-pruning")
    return {"task": run["task"], "trigger": run["trigger"], "rate": run["rate"], "seed": run["seed"],
            "arm": LIU_ARM, **fine_prune(LIU_DROP)}


def merge_arms(runs: list[dict], rows: list[dict]) -> list[dict]:
    """`runs` with each row under its run's ``"added arms"`` (matched by task, trigger, rate and
    seed); the runs' other keys are left as they are. A row without its run raises ValueError."""
    index = {(r["task"], r["trigger"], r["rate"], r["seed"]): r for r in runs}
    for row in rows:
        key = (row["task"], row["trigger"], row["rate"], row["seed"])
        if key not in index:
            raise ValueError(f"added arm {row['arm']!r} for {key}: no such run")
        values = {k: v for k, v in row.items() if k not in ("task", "trigger", "rate", "seed", "arm")}
        index[key].setdefault("added arms", {})[row["arm"]] = values
    return runs


@small_work_threads  # one intra-op thread, as the study's runs
def nc_schedule_check(task_name: str, trigger_kind: str, rate: float, seeds: list[int], steps: int,
                      **task_options) -> list[dict]:
    """Neural Cleanse's detection with the fixed and with the dynamic mask weight, per seed."""
    out = []
    for seed in tqdm(seeds, desc="seeds"):
        trained = bd.train_poisoned(task_name, trigger_kind, rate, seed, **task_options)
        task = trained.task
        row = {"task": task_name, "trigger": trigger_kind, "rate": rate, "seed": seed,
               "target": trained.target}
        for name, schedule in (("fixed", None), ("dynamic", bdf.CostSchedule())):
            reversed_ = bdf.reverse_triggers(trained.model, task.shape, task.x_val, task.side, 10, steps,
                                             seed=seed, schedule=schedule)
            norms = np.array([r.norm for r in reversed_])
            index = bdf.anomaly_index(norms)
            suspect = int(np.argmax(index))
            row[name] = {"suspect": suspect, "finds target": suspect == trained.target,
                         "index": float(index[suspect]), "flags": bool(index[suspect] > 2.0),
                         "target norm": float(norms[trained.target]), "median norm": float(np.median(norms)),
                         "target success": reversed_[trained.target].success}
        out.append(row)
    return out


def schedule_table(rows: list[dict]) -> str:
    """Markdown: per seed, the class Neural Cleanse names and its anomaly index, fixed vs dynamic."""
    def cell(found: dict) -> str:
        return f"{found['suspect']} ({found['index']:.2f}{', flagged' if found['flags'] else ''})"
    body = [[r["task"], r["trigger"], f"{100 * r['rate']:g}%", str(r["seed"]), str(r["target"]),
             cell(r["fixed"]), cell(r["dynamic"])] for r in rows]
    def counts(k: str) -> str:
        named = sum(r[k]["finds target"] for r in rows)
        right = sum(r[k]["finds target"] and r[k]["flags"] for r in rows)
        wrong = sum(not r[k]["finds target"] and r[k]["flags"] for r in rows)
        return f"{k} {named} / {right} / {wrong}"
    return ("Neural Cleanse's named class (anomaly index; flagged if > 2) with the study's fixed mask weight "
            "and with Wang et al.'s dynamic weight (same start, 0.01; threshold 0.99, patience 5, ×1.5 up, "
            "÷1.5^1.5 down). Target named / named and flagged / a wrong class flagged: "
            f"{counts('fixed')}, {counts('dynamic')}, of {len(rows)} models.\n\n"
            + markdown_table(["model", "trigger", "poisoned", "seed", "target", "fixed weight",
                              "dynamic weight"], body))


def _task_options(args: argparse.Namespace) -> dict:
    options = {}
    if args.n_train is not None:
        options["n_train"] = args.n_train
    if args.n_test is not None:
        options["n_test"] = args.n_test
    return options


@small_work_threads  # one intra-op thread, as the study's runs
def _liu_rows(runs: list[dict], **task_options) -> list[dict]:
    return [liu_arm(run, **task_options) for run in tqdm(runs, desc="models")]


def main(argv: list[str] | None = None) -> int:
    """CLI: the Liu-budget fine-pruning rows of a study JSON's poisoned runs (or, with
    ``--nc-schedule``, the fixed- vs dynamic-weight detection check), written to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m studies.backdoor_arms", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("studies", type=Path, nargs="*", help="backdoor.json files whose runs get the arm")
    parser.add_argument("--tasks", nargs="+", default=["digits-mlp"])
    parser.add_argument("--triggers", nargs="+", default=list(bd.TRIGGERS))
    parser.add_argument("--rates", nargs="+", type=float, default=None, help="poisoned rates (all > 0)")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--nc-schedule", action="store_true", help="run the Neural Cleanse weight check")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="--nc-schedule's seeds")
    parser.add_argument("--nc-steps", type=int, default=120)
    parser.add_argument("--out", type=Path, required=True,
                        help="JSON file to write (with --nc-schedule also its table, .md beside it)")
    args = parser.parse_args(argv)
    options = _task_options(args)
    if args.nc_schedule:
        rows = [row for task in args.tasks for trigger in args.triggers for rate in (args.rates or [0.1])
                for row in nc_schedule_check(task, trigger, rate, args.seeds, args.nc_steps, **options)]
        table = schedule_table(rows)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(table + "\n")
        print(table)
    else:
        if not args.studies:
            parser.error("a backdoor.json is needed unless --nc-schedule is given")
        runs = [r for path in args.studies for r in json.loads(path.read_text())["runs"]
                if r["task"] in args.tasks and r["trigger"] in args.triggers and r["rate"] > 0
                and (args.rates is None or r["rate"] in args.rates)]
        rows = _liu_rows(runs, **options)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"config": vars(args), "rows": rows}, indent=1, default=str))
    print("wrote", args.out, len(rows), "rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
