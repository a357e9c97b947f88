"""Two spot checks from the review of the optimisation study (3 seeds, no intervals; not a study).

- ``wide-sweep``: weight decay and dropout on the swatch shortcut beyond the study's 3-point sweeps
  (weight decay 1e-2, 3e-2, 1e-1; dropout 0.75, 0.85, 0.9), test accuracy and validation accuracy
  with the input-gradient finder's region resampled;
- ``roar8``: the pruning study's retrain check (Fashion MLP, 75% masks) at 2 and 8 epochs for
  conductance, Taylor (logit), weight magnitude and random masks;
- ``taylor-loss-ref``: the pruning study's Fashion MLP pruned one-shot at 75% / 90% by Taylor (loss)
  and conductance scored on the 300-image reference set vs on all 5,000 validation images (was the
  Taylor (loss) baseline weakened by its small reference set? It was; the study now scores Taylor
  (loss) on the whole validation split).

    PYTHONPATH=$PWD python tools/review_opt_checks.py wide-sweep   # ≈ 4 min on 1 thread
    PYTHONPATH=$PWD python tools/review_opt_checks.py roar8        # ≈ 1.5 min
    PYTHONPATH=$PWD python tools/review_opt_checks.py taylor-loss-ref
"""

from __future__ import annotations

import argparse
import json

import torch

from studies import fashion, pruning, shortcut
from studies.attribution_prior import find_region, resample_region
from studies.unit_criteria import prune_masks, unit_scores

SEEDS = (0, 1, 2)


def wide_sweep() -> list[dict]:
    """Weight decay / dropout on the swatch shortcut over wider strengths."""
    rows = []
    for seed in SEEDS:
        data = shortcut.decoy_split(seed, "swatch", 5000)
        plain = shortcut.train_arm("plain", 0.0, data, shortcut.true_region("swatch"), seed, 5)
        region = find_region(plain, data["x_val"][:500], method="gradient")
        x_val = resample_region(data["x_val"], region, seed)
        for arm, values in (("weight decay", (1e-2, 3e-2, 1e-1)), ("dropout", (0.75, 0.85, 0.9))):
            for strength in values:
                model = shortcut.train_arm(arm, strength, data, region, seed, 5)
                rows.append({"seed": seed, "arm": arm, "strength": strength,
                             "test": fashion.accuracy(model, data["x_test"], data["y_test"]),
                             "val_found_region_resampled": fashion.accuracy(model, x_val, data["y_val"])})
                print(rows[-1], flush=True)
    return rows


def roar8() -> list[dict]:
    """Retrain from scratch with the 75% masks for 2 and 8 epochs."""
    rows = []
    for seed in SEEDS:
        data = fashion.split(seed, 5000)
        model = pruning.train_model("fashion-mlp", seed, data)
        x_ref, y_ref = pruning.reference_set(data.x_val, data.y_val, 30, seed)
        scores = unit_scores(model, x_ref, y_ref, seed)
        for criterion in ("conductance", "Taylor (logit)", "weight magnitude", "random"):
            masks = prune_masks(model, scores[criterion], 0.75)
            for epochs in (2, 8):
                fresh = fashion.mlp(seed + 1000)
                fashion.apply_masks(fresh, masks)
                fashion.train(fresh, data.x_train, data.y_train, epochs=epochs, seed=seed, masks=masks)
                rows.append({"seed": seed, "criterion": criterion, "epochs": epochs,
                             "test": fashion.accuracy(fresh, data.x_test[:2000], data.y_test[:2000])})
                print(rows[-1], flush=True)
    return rows


def taylor_loss_ref() -> list[dict]:
    """One-shot test accuracy of Taylor (loss) and conductance masks from 300 vs 5,000 reference images."""
    rows = []
    for seed in SEEDS:
        data = fashion.split(seed, 5000)
        model = pruning.train_model("fashion-mlp", seed, data)
        references = {"300 (study)": pruning.reference_set(data.x_val, data.y_val, 30, seed),
                      "5000 (all validation)": (data.x_val, data.y_val)}
        for label, (x_ref, y_ref) in references.items():
            scores = unit_scores(model, x_ref, y_ref, seed)
            for criterion in ("Taylor (loss)", "conductance", "random"):
                for sparsity in (0.75, 0.9):
                    cut = pruning.pruned(model, prune_masks(model, scores[criterion], sparsity))
                    rows.append({"seed": seed, "reference": label, "criterion": criterion,
                                 "sparsity": sparsity,
                                 "test": fashion.accuracy(cut, data.x_test[:2000], data.y_test[:2000])})
                    print(rows[-1], flush=True)
    return rows


CHECKS = {"wide-sweep": wide_sweep, "roar8": roar8, "taylor-loss-ref": taylor_loss_ref}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=list(CHECKS))
    torch.set_num_threads(1)
    result = CHECKS[parser.parse_args().check]()
    print(json.dumps(result))
