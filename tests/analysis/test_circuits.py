"""Circuits, paths, the written explanation and the faithfulness checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netviz_widget import Explainer
from netviz_widget.analysis.circuits import smallest_cover
from netviz_widget.analysis.faithfulness import (
    RANKINGS,
    area_under,
    cascading_randomization,
    causal_check,
    deletion_curve,
    insertion_curve,
    rank_units,
    single_unit_effects,
)
from netviz_widget.datasets import digits_mlp, load_digits_split
from tests.zoo import ZOO, example_input


@pytest.fixture(scope="module")
def digits_explainer():
    data = load_digits_split()
    return Explainer(digits_mlp(), data.x_test[:4], reference=data.x_train[:300])


def test_smallest_cover_by_hand():
    kept, share = smallest_cover(np.array([5.0, -2.0, 3.0, 1.0, 0.5]), 0.8)
    assert kept.tolist() == [0, 2]
    assert share == pytest.approx(8.0 / 7.5)
    kept, share = smallest_cover(np.array([-4.0, 1.0, -1.0]), 0.5)  # a negative total
    assert kept.tolist() == [0] and share == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=40),
       st.floats(0.05, 1.0))
def test_smallest_cover_reaches_the_threshold_with_the_fewest_items(values, coverage):
    values = np.array(values)
    total = values.sum()
    kept, share = smallest_cover(values, coverage)
    if abs(total) < 1e-12:
        return
    sign = np.sign(total)
    assert sign * values[kept].sum() >= coverage * abs(total) - 1e-6
    assert share == pytest.approx(sign * values[kept].sum() / abs(total))
    best_smaller = np.sort(sign * values)[::-1][:len(kept) - 1].sum()  # the best set one smaller
    assert len(kept) == 1 or best_smaller < coverage * abs(total) + 1e-6


def test_circuit_shares_follow_the_scores(digits_explainer):
    ex = digits_explainer
    circuit = ex.circuit(example=1, coverage=0.7)
    snap = ex.snapshot()
    for layer in ex.graph.layers[:-1]:
        scores = snap.node_scores[layer.name][1]
        kept = circuit.units[layer.name]
        assert circuit.unit_share[layer.name] == pytest.approx(scores[kept].sum() / scores.sum(), rel=1e-5)
        assert circuit.unit_share[layer.name] >= 0.7 - 1e-6
    assert circuit.units["fc3"] == [int(snap.target[1])]
    for src, dst, i, j, flow in circuit.edges:
        assert i in circuit.units[src] and j in circuit.units[dst]
        assert flow == pytest.approx(float(snap.edge_scores[(src, dst)][1][j, i]))
    assert {r["layer"] for r in circuit.to_table()} == {"input", "fc1", "fc2", "fc3"}


def test_causal_check_equals_direct_interventions(digits_explainer):
    ex = digits_explainer
    circuit = ex.circuit(example=0)
    check = causal_check(ex, circuit, mode="mean", n_random=5)
    target = int(ex.target[0])
    before = ex.snapshot().logits[0, target]
    by_layer = {}
    for layer, unit in circuit.hidden_units(ex.graph):
        by_layer.setdefault(layer, []).append(unit)
    for layer, units in by_layer.items():
        after = ex.intervene(layer, units, mode="mean")
    ex.reset()
    assert check.circuit_drop == pytest.approx(before - after.logits[0, target], rel=1e-5)
    assert check.logit == pytest.approx(before)
    assert len(check.random_drops) == 5


def test_deletion_and_insertion_curves_meet_at_the_fully_ablated_output(digits_explainer):
    ex = digits_explainer
    rankings = rank_units(ex, "fc1")
    assert set(rankings) == set(RANKINGS)
    ends = set()
    for order in rankings.values():
        assert sorted(order.tolist()) == list(range(32))
        deletion = deletion_curve(ex, "fc1", order)
        insertion = insertion_curve(ex, "fc1", order)
        assert deletion[0] == pytest.approx(insertion[-1])  # the clean output
        assert deletion[-1] == pytest.approx(insertion[0])  # the fully ablated output
        ends.add(round(float(deletion[-1]), 6))
        assert 0 <= area_under(deletion) <= 1
    assert len(ends) == 1


def test_deletion_along_exact_contributions_of_a_linear_readout_is_monotone(digits_explainer):
    ex = digits_explainer
    contributions = ex.gradient_times_activation("fc2")[0]  # exact: fc2 feeds the logits linearly
    order = np.argsort(-contributions)
    curve = deletion_curve(ex, "fc2", order, mode="zero", probability=False)
    np.testing.assert_allclose(curve, curve[0] - np.concatenate([[0], np.cumsum(contributions[order])]),
                               rtol=1e-4, atol=1e-4)
    positive = int((contributions > 0).sum())
    assert np.all(np.diff(curve[:positive + 1]) <= 1e-5)


def test_single_unit_effects_of_a_linear_readout_are_predicted_exactly(digits_explainer):
    effects = single_unit_effects(digits_explainer, "fc2", mode="zero")
    np.testing.assert_allclose(effects["first_order"], effects["actual"], rtol=1e-4, atol=1e-5)
    assert effects["spearman_first_order"] == pytest.approx(1.0)


def test_randomising_the_weights_changes_the_scores(digits_explainer):
    rows = cascading_randomization(digits_explainer)
    assert [r["randomized"] for r in rows] == ["none", "fc3 and above", "fc2 and above", "fc1 and above"]
    assert rows[-1]["unit_spearman"] < 0.5
    assert all(r["unit_spearman"] < 1.0 for r in rows[1:])


def test_paths_decompose_the_flow_of_a_small_network():
    model = ZOO["sequential_mlp"]().eval()
    ex = Explainer(model, example_input(model, batch=1), n_steps=16)
    paths = ex.paths(k=10_000)
    assert 0 < len(paths) <= 4 * 8 * 6  # every path of a 4-8-6-3 MLP; dead units carry none
    assert sum(p.share for p in paths) == pytest.approx(1.0, abs=1e-4)
    assert all(p.units[0][0] == "input" and p.units[-1] == ("4", int(ex.target[0])) for p in paths)
    shares = [p.share for p in paths]
    assert shares == sorted(shares, reverse=True)


def test_explanation_numbers_come_from_the_computation(digits_explainer):
    explanation = digits_explainer.explain(0)
    text = str(explanation)
    facts = explanation.facts
    assert f"{facts['circuit_drop']:.2f}" in text
    assert f"{facts['random_drop_mean']:.2f} ± {facts['random_drop_sd']:.2f}" in text
    assert f"{facts['complement_drop']:.2f}" in text
    probability = digits_explainer.snapshot().probabilities[0].max()
    assert f"{probability:.3f}" in text
    assert "region" in text and "**" in explanation.markdown and "**" not in text
    with pytest.raises(Exception, match="coverage"):
        digits_explainer.circuit(coverage=1.5)


def test_ablations_resolved_once_per_layer_equal_fresh_ones(digits_explainer):
    # the causal check resolves each layer's ablation source once and reuses it for every draw
    from netviz_widget.analysis.faithfulness import _ablate

    ex = digits_explainer
    hidden = [la.name for la in ex.graph.layers if la.role == "hidden"]
    resolved: dict = {}
    for mode in ("mean", "resample", "zero"):
        resolved.clear()
        for units in ([(hidden[0], 1), (hidden[-1], 0)], [(hidden[0], 3), (hidden[0], 2)], [(hidden[-1], 4)]):
            reused, fresh = _ablate(ex, units, mode, resolved=resolved), _ablate(ex, units, mode)
            assert [(i.layer, i.units, i.mode) for i in reused] == [(i.layer, i.units, i.mode) for i in fresh]
            np.testing.assert_array_equal(ex.evaluate(reused), ex.evaluate(fresh))
