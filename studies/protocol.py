"""The studies' shared protocol: splits, seeds, intervals, paired tests and Holm correction.

Every study follows the same rules, so they live here once:

- data are split into train / validation / test (`train_val_split`); every choice (units,
  thresholds, budgets, strengths) is made on validation, every reported number on test;
- each configuration runs over several seeds (`seed_list`, at least 10 for a full run);
- a mean over seeds is reported with a percentile bootstrap 95% interval (`bootstrap_ci`);
- two arms are compared *paired by seed* with an exact sign-flip permutation test on the
  mean difference (`paired_p`), and a family of comparisons is corrected with Holm's
  step-down method (`holm`);
- tables are written by code (`compare_arms` → `markdown_table`), never pasted.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from netviz_widget.errors import InputError

__all__ = [
    "ArmComparison",
    "Split",
    "bootstrap_ci",
    "compare_arms",
    "comparison_table",
    "format_ci",
    "holm",
    "paired_p",
    "seed_list",
    "train_val_split",
]


@dataclass(frozen=True)
class Split:
    """Train / validation / test tensors of one dataset."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def train_val_split(x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                    val_fraction: float = 0.1, seed: int = 0) -> Split:
    """Hold out a stratified `val_fraction` of the training data as validation (test untouched)."""
    if not 0.0 < val_fraction < 1.0:
        raise InputError("val_fraction", "a fraction strictly between 0 and 1", val_fraction)
    if x.shape[0] != y.shape[0]:
        raise InputError("y", f"{x.shape[0]} labels (one per row of x)", y)
    generator = np.random.default_rng(seed)
    labels = y.cpu().numpy()
    val_rows: list[np.ndarray] = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        generator.shuffle(rows)
        val_rows.append(rows[: max(1, round(val_fraction * rows.size))])
    val = np.sort(np.concatenate(val_rows))
    train = np.setdiff1d(np.arange(labels.size), val)
    val_index, train_index = torch.from_numpy(val), torch.from_numpy(train)
    return Split(x[train_index], y[train_index], x[val_index], y[val_index], x_test, y_test)


def seed_list(n_seeds: int, start: int = 0) -> list[int]:
    """The seeds of a run: `start, start + 1, …` (`n_seeds` ≥ 1)."""
    if n_seeds < 1:
        raise InputError("seeds", "at least 1 seed", n_seeds)
    return list(range(start, start + n_seeds))


def bootstrap_ci(values: Sequence[float], level: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean of `values` and its percentile bootstrap interval at `level` (mean, low, high).

    With one value the interval is that value (no spread can be estimated)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise InputError("values", "at least one number", values)
    mean = float(array.mean())
    if array.size == 1:
        return mean, mean, mean
    generator = np.random.default_rng(seed)
    resampled = generator.choice(array, size=(n_resamples, array.size), replace=True).mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail])
    return mean, float(low), float(high)


def paired_p(a: Sequence[float], b: Sequence[float], n_resamples: int = 20_000, seed: int = 0) -> float:
    """Two-sided p-value that the mean of the paired differences `a - b` is zero.

    A sign-flip permutation test: exact (all 2^n sign patterns) up to 16 pairs, Monte Carlo
    beyond. Ties (all differences zero) give 1.0."""
    difference = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if difference.ndim != 1 or difference.size != len(b):
        raise InputError("b", f"{difference.size} values paired with a", b)
    if np.allclose(difference, 0.0):
        return 1.0
    observed = abs(difference.mean())
    if difference.size <= 16:
        signs = np.array(list(itertools.product((-1.0, 1.0), repeat=difference.size)))
    else:
        signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(n_resamples, difference.size))
    means = np.abs((signs * difference).mean(axis=1))
    return float(np.mean(means >= observed - 1e-12))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given), controlling the family-wise error."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def format_ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    """'0.912 [0.901, 0.920]'."""
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


@dataclass(frozen=True)
class ArmComparison:
    """One arm against the reference arm, paired by seed."""

    arm: str
    mean: float
    low: float
    high: float
    difference: float
    difference_low: float
    difference_high: float
    p: float
    p_holm: float

    def verdict(self, alpha: float = 0.05, higher_is_better: bool = True) -> str:
        """'better' / 'worse' than the reference at Holm-corrected `alpha`, else 'tie'."""
        if self.p_holm >= alpha:
            return "tie"
        return "better" if (self.difference > 0) == higher_is_better else "worse"


def compare_arms(results: Mapping[str, Sequence[float]], reference: str) -> list[ArmComparison]:
    """Compare every arm with `reference` (values paired by seed), Holm-corrected over the arms."""
    if reference not in results:
        raise InputError("reference", f"one of {sorted(results)}", reference)
    base = np.asarray(results[reference], dtype=float)
    arms = [arm for arm in results if arm != reference]
    raw = [paired_p(results[arm], base) for arm in arms]
    corrected = holm(raw) if raw else []
    rows = []
    for arm, p, p_adj in zip(arms, raw, corrected):
        values = np.asarray(results[arm], dtype=float)
        mean, low, high = bootstrap_ci(values)
        diff, diff_low, diff_high = bootstrap_ci(values - base)
        rows.append(ArmComparison(arm, mean, low, high, diff, diff_low, diff_high, p, p_adj))
    return rows


def comparison_table(results: Mapping[str, Sequence[float]], reference: str, metric: str = "accuracy",
                     higher_is_better: bool = True) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a markdown table: each arm's mean [95% CI], its paired difference to
    `reference` [95% CI], raw and Holm-corrected p, and the verdict."""
    mean, low, high = bootstrap_ci(results[reference])
    n = len(results[reference])
    headers = ["arm", f"{metric} (mean [95% CI], n={n})", f"Δ vs {reference} [95% CI]", "p", "p (Holm)",
               "verdict"]
    rows = [[reference, format_ci(mean, low, high), "—", "—", "—", "reference"]]
    for row in compare_arms(results, reference):
        rows.append([row.arm, format_ci(row.mean, row.low, row.high),
                     format_ci(row.difference, row.difference_low, row.difference_high),
                     f"{row.p:.3g}", f"{row.p_holm:.3g}", row.verdict(higher_is_better=higher_is_better)])
    return headers, rows
