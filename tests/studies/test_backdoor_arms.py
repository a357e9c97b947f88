"""Arms added to the backdoor study after its runs (`studies/backdoor_arms.py`): the Liu-budget
fine-pruning row computed on a committed run's retrained model, refused when the retrained model
does not reproduce the run, merged into the runs and tabled; Neural Cleanse's dynamic mask weight."""

from __future__ import annotations

import copy
import json
from functools import lru_cache

import pytest

from studies import backdoor as bd
from studies import backdoor_arms as arms
from studies import backdoor_defences as defences
from studies import backdoor_report
from tests.studies.test_backdoor import poisoned

REDUCED = {"epochs": 10, "tune_steps": 20}


@lru_cache(maxsize=1)
def committed_runs() -> tuple[dict, dict]:
    """Two reduced runs of the study (digits, patch 10%, seeds 0 and 1), as a committed JSON has them."""
    return tuple(bd.run_one("digits-mlp", "patch", 0.1, seed, nc_steps=10, **REDUCED) for seed in (0, 1))


def test_the_liu_arm_retrains_the_same_model_and_prunes_at_least_as_far():
    run = committed_runs()[0]
    row = arms.liu_arm(run, **REDUCED)
    assert (row["task"], row["rate"], row["seed"], row["arm"]) == ("digits-mlp", 0.1, 0, arms.LIU_ARM)
    assert row["units"] >= run["defences"]["fine-pruning"]["units"]  # a looser threshold, same order
    assert 0.0 <= row["ASR"] <= 1.0 and 0.0 <= row["clean accuracy"] <= 1.0


def test_a_run_that_is_not_reproduced_is_refused():
    changed = copy.deepcopy(committed_runs()[0])
    changed["defences"]["none"]["ASR"] += 1e-7
    with pytest.raises(arms.NotReproduced, match="ASR"):
        arms.liu_arm(changed, **REDUCED)
    with pytest.raises(arms.NotReproduced, match="fine-pruning"):  # the model matches, its tuning must too
        arms.liu_arm(committed_runs()[0], epochs=10, tune_steps=21)


def test_merged_rows_leave_the_runs_and_the_main_table_as_they_were(tmp_path):
    runs = copy.deepcopy(list(committed_runs()))
    before = copy.deepcopy(runs)
    rows = [arms.liu_arm(run, **REDUCED) for run in runs]
    arms.merge_arms(runs, rows)
    assert [{k: v for k, v in r.items() if k != "added arms"} for r in runs] == before
    assert runs[1]["added arms"][arms.LIU_ARM]["ASR"] == rows[1]["ASR"]
    with pytest.raises(ValueError, match="no such run"):
        arms.merge_arms(runs, [{**rows[0], "seed": 7}])
    table = backdoor_report.added_arms_table(runs)
    assert f"| digits-mlp | patch | 10% | {arms.LIU_ARM} |" in table
    assert backdoor_report.defence_table(runs) == backdoor_report.defence_table(before)
    assert backdoor_report.added_arms_table(before) == ""


def test_the_dynamic_mask_weight_reaches_the_success_a_fixed_heavy_weight_misses():
    """Wang et al.'s schedule lowers a weight too large for the trigger to succeed; the mask it keeps
    is one that sends at least the threshold's share of inputs to the class."""
    task, target, _, model, _ = poisoned()
    fixed = defences.reverse_trigger(model, task.shape, task.x_val, task.side, target, steps=60, weight=1.0)
    dynamic = defences.reverse_trigger(model, task.shape, task.x_val, task.side, target, steps=60, weight=1.0,
                                       schedule=defences.CostSchedule())
    assert fixed.success < 0.99 <= dynamic.success


def test_the_schedule_check_names_a_class_both_ways_and_tables_it(tmp_path):
    out = tmp_path / "check.json"
    assert arms.main(["--nc-schedule", "--tasks", "digits-mlp", "--triggers", "patch", "--rates", "0.1",
                      "--seeds", "0", "--nc-steps", "5", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["target"] == bd.target_of(0)
    for weight in ("fixed", "dynamic"):
        assert 0 <= row[weight]["suspect"] < 10 and row[weight]["flags"] == (row[weight]["index"] > 2)
    table = out.with_suffix(".md").read_text()
    assert "| digits-mlp | patch | 10% | 0 |" in table and "of 1 models." in table
