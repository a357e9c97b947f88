"""Bias experiment code: the generated task, the fairness metrics on hand-checkable cases, and the
tool's unit selection on a model built by hand to route the group through one unit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget.datasets import mlp
from netviz_widget.experiments import bias


def test_demographic_parity_gap_by_hand():
    approved = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert bias.demographic_parity_gap(approved, group) == pytest.approx(0.5 - 0.25)
    assert bias.demographic_parity_gap(np.ones(8), group) == 0.0


def test_equalised_odds_gap_takes_the_larger_of_tpr_and_fpr_gaps():
    # group 0: positives (1,1) approved 2/2, negatives (0,0) approved 1/2  -> TPR 1.0, FPR 0.5
    # group 1: positives (1,1) approved 1/2, negatives (0,0) approved 0/2  -> TPR 0.5, FPR 0.0
    truth = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    approved = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert bias.equalised_odds_gap(approved, truth, group) == pytest.approx(0.5)
    approved_fair = np.array([1, 0, 1, 0, 1, 0, 1, 0])  # TPR 0.5 and FPR 0.5 in both groups
    assert bias.equalised_odds_gap(approved_fair, truth, group) == 0.0


def test_attribution_share_by_hand():
    scores = np.array([[1.0, -1.0, 2.0], [0.0, 0.0, -4.0]])
    assert bias.attribution_share(scores, (2,)) == pytest.approx(6 / 8)
    assert bias.attribution_share(scores, (0, 1)) == pytest.approx(2 / 8)
    assert bias.attribution_share(np.zeros((2, 3)), (0,)) == 0.0


def test_generated_loans_have_a_biased_history_and_proxies():
    loans = bias.make_loans(20_000, seed=0)
    assert loans.x.shape == (20_000, len(bias.FEATURES))
    assert torch.allclose(loans.x.mean(0), torch.zeros(7), atol=1e-4)
    fair, history = loans.y_fair.numpy(), loans.y_history.numpy()
    assert bias.demographic_parity_gap(fair, loans.group) < 0.03  # fair labels ignore the group
    assert bias.demographic_parity_gap(history, loans.group) > 0.3  # history penalises group 1
    assert history[loans.group == 1].mean() < history[loans.group == 0].mean()
    for proxy in bias.PROXIES:
        assert np.corrcoef(loans.x[:, proxy].numpy(), loans.group)[0, 1] > 0.4
    assert loans.without_group().shape == (20_000, 6)
    assert torch.equal(bias.make_loans(100, seed=3).x, bias.make_loans(100, seed=3).x)


def group_routed_model() -> torch.nn.Sequential:
    """fc1 unit 0 copies the group column, unit 1 the income; fc2 unit 0 relays the group,
    unit 1 the income; the approve logit is income − 2·group."""
    model = mlp((7, 2, 2, 2), seed=0)
    with torch.no_grad():
        for layer in (model.fc1, model.fc2, model.fc3):
            layer.weight.zero_()
            layer.bias.zero_()
        model.fc1.weight[0, bias.GROUP] = 1.0
        model.fc1.weight[1, 0] = 1.0
        model.fc1.bias[:] = 3.0  # keeps the ReLUs linear on standardised inputs
        model.fc2.weight[0, 0] = model.fc2.weight[1, 1] = 1.0
        model.fc3.weight[1, 0], model.fc3.weight[1, 1] = -2.0, 1.0
        model.fc3.bias[1] = 6.0 - 3.0
    return model.eval()


def test_the_tool_ranks_the_group_units_first_and_ablating_them_closes_the_gap():
    loans = bias.make_loans(2000, seed=1)
    model = group_routed_model()
    ranking = bias.group_gap_ranking(model, loans.x, loans.group)
    assert {(layer, unit) for layer, unit, _ in ranking[:2]} == {("fc1", 0), ("fc2", 0)}
    assert all(abs(gap) < 0.1 for _, _, gap in ranking[2:])
    explainer = bias.Explainer(model, loans.x, target=bias.APPROVE, reference=loans.x)
    before = bias.demographic_parity_gap(bias.approvals(explainer, []), loans.group)
    after = bias.demographic_parity_gap(bias.approvals(explainer, [("fc2", 0)]), loans.group)
    assert before > 0.5 and after < 0.05
    chosen = bias.choose_units(model, loans, loans.x, limit=1.0)
    assert chosen and set(chosen) <= {("fc1", 0), ("fc2", 0)}
    assert model.fc1.weight[0, bias.GROUP] == 1.0  # the model is untouched


def test_one_seed_end_to_end_small():
    runs = bias.run_one(seed=0, n_train=600, n_audit=300, n_test=400, epochs=10)
    by_variant = {r["variant"]: r for r in runs}
    assert set(by_variant) == set(bias.VARIANTS)
    assert np.isnan(by_variant["drop column"]["IG share: group"])
    assert by_variant["none"]["IG share: group"] > 0
    assert by_variant["random"]["units removed"] == by_variant["tool"]["units removed"]
    assert "| tool |" in bias.summarise(runs)
