"""The optimisation / regularisation studies: pruning criteria checked on hand-built networks and
against Captum, real pruning and masked fine-tuning, the shortcut finder and penalties, the sanity
metrics, and reduced runs of each study (tiny settings, real properties)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer
from netviz_widget.datasets import FASHION_DEBIAN_ROOT, mlp
from studies import attribution_prior as prior
from studies import fashion, pruning, sanity, shortcut
from studies import unit_criteria as criteria

needs_fashion = pytest.mark.skipif(not Path(FASHION_DEBIAN_ROOT).is_dir(),
                                   reason="dataset-fashion-mnist not installed")


def hand_built() -> nn.Sequential:
    """fc1 unit 0 carries the signal, unit 1 is dead (never active), unit 2 is weak."""
    model = mlp((4, 3, 3, 2), seed=0)
    with torch.no_grad():
        model.fc1.weight.copy_(torch.tensor([[3.0, 3.0, 0, 0], [0.01, 0, 0, 0], [0.1, 0, 0, 0.1]]))
        model.fc1.bias.copy_(torch.tensor([0.0, -100.0, 0.0]))
        model.fc2.weight.copy_(torch.tensor([[2.0, 1.0, 0.1], [0.5, 1.0, 0.1], [0.0, 1.0, 0.2]]))
        model.fc2.bias.zero_()
        model.fc3.weight.copy_(torch.tensor([[2.0, 0.5, 0.1], [-2.0, -0.5, 0.0]]))
        model.fc3.bias.zero_()
    return model.eval()


def test_criteria_rank_a_hand_built_network():
    model = hand_built()
    x = torch.rand(40, 4, generator=torch.Generator().manual_seed(0))
    y = model(x).argmax(1).detach()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scores = criteria.unit_scores(model, x, y, seed=0)
    assert set(scores) == set(criteria.CRITERIA)
    for criterion in criteria.CRITERIA[1:]:
        assert np.argmin(scores[criterion]["fc1"]) == 1, criterion  # the dead unit matters least
    for criterion in ("mean activation", "Taylor (logit)", "Taylor (loss)", "LRP", "conductance"):
        assert np.argmax(scores[criterion]["fc1"]) == 0, criterion  # the carrier matters most
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model._forward_hooks and not model.fc1._forward_hooks


def test_taylor_logit_is_activation_times_outgoing_weight():
    model = mlp((5, 4, 3), seed=1).eval()  # one hidden layer: ∂z_y/∂a_j = W2[y, j]
    x = torch.rand(16, 5, generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 3, (16,), generator=torch.Generator().manual_seed(3))
    scores = criteria.taylor_scores(model, x, y)
    a = torch.relu(model.fc1(x))
    expected = (a * model.fc2.weight[y]).abs().mean(0)
    np.testing.assert_allclose(scores["Taylor (logit)"]["fc1"], expected.detach().numpy(), rtol=1e-5)


def test_taylor_loss_is_squared_batch_sum_of_activation_times_loss_gradient():
    model = mlp((5, 4, 3), seed=1).eval()  # one hidden layer: ∂L/∂a_j = Σ_k ∂L/∂z_k · W2[k, j]
    x = torch.rand(20, 5, generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 3, (20,), generator=torch.Generator().manual_seed(3))
    a = torch.relu(model.fc1(x)).detach()
    expected = []
    for rows in (slice(0, 8), slice(8, 16), slice(16, 20)):  # mini-batches of 8
        p = torch.softmax(model.fc2(a[rows]), 1).detach()
        dl_dz = (p - nn.functional.one_hot(y[rows], 3)) / a[rows].shape[0]  # mean cross-entropy
        expected.append(((a[rows] * (dl_dz @ model.fc2.weight.detach())).sum(0) ** 2).numpy())
    scores = criteria.taylor_loss_scores(model, x, y, batch_size=8)
    np.testing.assert_allclose(scores["fc1"], np.mean(expected, axis=0), rtol=1e-4)
    # unit_scores takes Taylor (loss) from the separate reference when one is given
    small = criteria.unit_scores(model, x[:4], y[:4], seed=0, loss_reference=(x, y))
    np.testing.assert_allclose(small["Taylor (loss)"]["fc1"], criteria.taylor_loss_scores(model, x, y)["fc1"])
    alone = criteria.unit_scores(model, x[:4], y[:4], seed=0)
    assert not np.allclose(alone["Taylor (loss)"]["fc1"], small["Taylor (loss)"]["fc1"])
    np.testing.assert_allclose(alone["conductance"]["fc1"], small["conductance"]["fc1"])


def test_lrp_matches_captum_on_a_model_without_flatten():
    from captum.attr import LayerLRP
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule

    model = mlp((6, 5, 4, 3), seed=4).eval()
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(5))
    y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(6))
    ours = criteria.lrp_scores(model, x, y)
    reference = mlp((6, 5, 4, 3), seed=4).eval()
    for module in reference.modules():
        if isinstance(module, nn.Linear):
            module.rule = Alpha1_Beta0_Rule()
    for layer in ("fc1", "fc2"):
        relevance = LayerLRP(reference, getattr(reference, layer)).attribute(x, target=y)
        np.testing.assert_allclose(ours[layer], relevance.abs().mean(0).detach().numpy(), rtol=1e-5)
    assert not hasattr(model.fc1, "rule")  # LRP ran on a copy


def test_conductance_criterion_is_the_tools_layer_conductance():
    model = fashion.cnn(0).eval()
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 3, 5, 9])
    ours = criteria.layer_conductance(model, x, y, n_steps=8)
    theirs = Explainer(model, x, target=y.tolist(), n_steps=8).snapshot().node_scores
    for layer, _ in criteria.hidden_layers(model):
        np.testing.assert_allclose(ours[layer], theirs[layer], rtol=1e-5, atol=1e-7)
    assert [name for name, _ in criteria.hidden_layers(model)] == ["conv1", "conv2", "fc1"]


def test_pruned_units_stay_dead_through_masked_fine_tuning():
    model = fashion.cnn(0).eval()
    scores = {"conv1": np.arange(16.0), "fc1": np.arange(64.0)[::-1].copy()}
    masks = criteria.prune_masks(model, scores, 0.5)
    cut = pruning.pruned(model, masks)
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (6,), generator=torch.Generator().manual_seed(2))
    fashion.train(cut, x, y, epochs=2, batch_size=3, masks=masks)
    with torch.no_grad():
        assert torch.all(torch.relu(cut.conv1(x))[:, :8] == 0)  # the 8 lowest channels
        assert torch.any(torch.relu(cut.conv1(x))[:, 8:] != 0)
        features = cut.pool1(torch.relu(cut.conv1(x)))
        hidden = torch.relu(cut.fc1(cut.flatten(cut.pool2(torch.relu(cut.conv2(features))))))
        assert torch.all(hidden[:, 32:] == 0)  # fc1's scores were reversed: the last 32 go
    assert torch.any(model.conv1.weight[:8] != 0)  # the original is intact


def _synthetic_runs(n_seeds: int = 12) -> list[dict]:
    runs = []
    for seed in range(n_seeds):
        for criterion in criteria.CRITERIA:
            bonus = {"conductance": 0.05, "weight magnitude": 0.10}.get(criterion, 0.0)
            noise = 0.001 * ((seed * 7 + len(criterion)) % 5)
            runs.append({"seed": seed, "model": "digits-mlp", "criterion": criterion, "sparsity": 0.5,
                         "dense_accuracy": 0.97, "test_accuracy": 0.6 + bonus + noise,
                         "finetuned_test_accuracy": 0.9 + noise})
    return runs


def test_pruning_verdicts_are_holm_corrected():
    cells = pruning.comparisons(_synthetic_runs())
    one_shot = {c["other"]: c for c in cells if c["setting"] == "one-shot"}
    assert one_shot["weight magnitude"]["verdict"] == "loses" and one_shot["random"]["verdict"] == "wins"
    assert all(c["p_holm"] >= c["p"] for c in cells)
    assert {c["verdict"] for c in cells if c["setting"] == "fine-tuned"} == {"tie"}
    table = pruning.summarise(_synthetic_runs())
    assert "| digits-mlp | one-shot | 5 / 0 / 1 | 5 / 0 / 1 |" in table  # wins / ties / loses of conductance
    few = pruning.comparisons(_synthetic_runs(3))  # 3 seeds: p ≥ 0.25, nothing can be called
    assert {c["verdict"] for c in few} == {"tie"}


def test_whole_table_holm_is_at_least_the_family_holm_and_lists_survivors():
    runs = _synthetic_runs()
    other_model = [{**r, "model": "fashion-mlp"} for r in runs]
    cells = pruning.comparisons(runs + other_model)  # 2 models × 2 settings: families of 6, table of 24
    assert all(c["p_holm_all"] >= c["p_holm"] for c in cells)
    assert any(c["p_holm_all"] > c["p_holm"] for c in cells)
    lines = pruning.whole_table_summary(cells, 12)
    survivors = [c for c in cells if c["p_holm_all"] < 0.05]
    assert f"{len(survivors)} of 24 cells survive" in lines[0] and len(lines) == 2 + len(survivors)
    # 10 seeds: the exact test's smallest p is 2/1024, so over 72 tests nothing can survive
    assert pruning.smallest_p(10) == 2 / 1024
    nothing = [{**c, "p_holm_all": 72 * pruning.smallest_p(10)} for c in cells]
    assert pruning.whole_table_summary(nothing, 10)[0].endswith("no cell survives at α = 0.05.")


def test_reduced_pruning_run_is_reproducible():
    first = pruning.run_seed(3, models=("digits-mlp",), sparsities=(0.5,), epochs=3, per_class=5)
    second = pruning.run_seed(3, models=("digits-mlp",), sparsities=(0.5,), epochs=3, per_class=5)
    assert first == second and {r["criterion"] for r in first} == set(criteria.CRITERIA)
    assert all(r["finetuned_test_accuracy"] >= 0.1 for r in first)


def test_reference_set_has_k_per_class_from_the_given_split():
    x = torch.arange(40.0).reshape(20, 2)
    y = torch.tensor([0, 1] * 10)
    x_ref, y_ref = pruning.reference_set(x, y, 3, seed=0)
    assert sorted(y_ref.tolist()) == [0, 0, 0, 1, 1, 1]
    assert set(x_ref[:, 0].tolist()) <= set(x[:, 0].tolist())


def test_decoy_swatch_encodes_the_label_only_where_asked():
    x = torch.zeros(200, 1, 28, 28)
    y = torch.arange(200) % 10
    g = torch.Generator().manual_seed(0)
    coded = shortcut.decoy(x, y, "swatch", g)
    corners = shortcut.corner_masks()
    lit = [int(torch.nonzero(corners[:, 0][:, coded[i, 0] > 0].all(1)).flatten()[0]) for i in range(5)]
    assert all(0 <= c < 4 for c in lit)
    shades = coded.flatten(1).max(1).values
    torch.testing.assert_close(shades, (255 - 25 * y).float() / 255)
    assert int((coded > 0).flatten(1).sum(1).unique().item()) == 16  # one 4×4 swatch each
    bright = shortcut.decoy(x, y, "brightness", g)
    torch.testing.assert_close(bright.mean((1, 2, 3)), 0.04 * y.float())


def test_finder_recovers_a_region_the_model_leans_on():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        model[1].weight.mul_(0.01)
        model[1].weight[:, 3 * 28 + 20: 3 * 28 + 23] = torch.randn(10, 3) * 5  # row 3, columns 20–22
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    found = prior.find_region(model, x)
    truth = torch.zeros(1, 28, 28, dtype=torch.bool)
    truth[0, 3, 20:23] = True
    quality = prior.region_quality(found, truth)
    assert quality == {"found_pixels": 3, "precision": 1.0, "recall": 1.0, "iou": 1.0}
    assert prior.find_region(model, x, method="gradient").equal(found)


def test_penalties_vanish_when_the_model_ignores_the_region():
    model = fashion.mlp(0, (784, 16, 10)).eval()
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([1, 2, 3, 4])
    mask = shortcut.corner_masks()[0].float()
    assert prior.ig_penalty(model, x, y, mask).item() > 0
    assert prior.input_gradient_penalty(model, x, mask).item() > 0
    assert prior.eg_penalty(model, x, y, mask).item() > 0
    with torch.no_grad():
        model.fc1.weight.view(16, 1, 28, 28)[:, mask.bool()] = 0.0
    assert prior.ig_penalty(model, x, y, mask).item() == pytest.approx(0.0, abs=1e-12)
    assert prior.input_gradient_penalty(model, x, mask).item() == pytest.approx(0.0, abs=1e-12)
    assert prior.eg_penalty(model, x, y, mask).item() == pytest.approx(0.0, abs=1e-12)


def test_eg_penalty_is_exact_on_a_linear_model():
    # f linear: the gradient is W[y] at every point, so EG = (x − x') · W[y] whatever α is
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    mask = shortcut.corner_masks()[1].float()
    torch.manual_seed(7)
    penalty = prior.eg_penalty(model, x, y, mask)
    torch.manual_seed(7)
    baseline = x[torch.randperm(6)]
    eg = (x - baseline) * model[1].weight[y].detach().reshape(6, 1, 28, 28)
    torch.testing.assert_close(penalty, (eg.pow(2) * mask).flatten(1).sum(1).mean(), rtol=1e-5, atol=1e-8)
    penalty.backward()  # differentiable in the weights
    assert model[1].weight.grad is not None and model[1].weight.grad.abs().sum() > 0


def test_resample_region_moves_only_the_region():
    x = torch.arange(4.0).reshape(4, 1, 1, 1).expand(4, 1, 2, 2).clone()
    mask = torch.tensor([[[True, False], [False, False]]])
    out = prior.resample_region(x, mask, seed=0)
    assert torch.equal(out[:, :, 0, 1:], x[:, :, 0, 1:]) and torch.equal(out[:, :, 1], x[:, :, 1])
    assert sorted(out[:, 0, 0, 0].tolist()) == [0.0, 1.0, 2.0, 3.0]


def test_selection_uses_validation_not_test():
    runs = [{"seed": 0, "kind": "swatch", "arm": "weight decay", "strength": s, "test_accuracy": t,
             "val_resampled_accuracy": v} for s, t, v in ((1e-4, 0.9, 0.5), (1e-3, 0.5, 0.8))]
    assert shortcut.selected(runs, "swatch")["weight decay"][0]["strength"] == 1e-3


def test_found_region_strength_is_swept_and_selected_on_its_own_validation():
    runs = [{"seed": seed, "kind": "swatch", "arm": arm, "strength": s, "test_accuracy": t,
             "val_resampled_accuracy": v, "true_region_share": 0.1, "found_pixels": 30, "precision": 1.0,
             "recall": 0.5, "iou": 0.5, "finder": "gradient"}
            for seed in range(3)
            for arm, s, t, v in (("plain", 0.0, 0.70, 0.80), ("IG prior (found region)", 10.0, 0.75, 0.81),
                                 ("IG prior (found region)", 1000.0, 0.78, 0.84),
                                 ("IG prior (true region)", 100.0, 0.80, 0.85))]
    assert shortcut.swept(runs)["IG prior (found region)"] == [10.0, 1000.0]  # 1000 is not in STRENGTHS
    assert {r["strength"] for r in shortcut.selected(runs, "swatch")["IG prior (found region)"]} == {1000.0}
    assert "| IG prior (found region) | 1000 |" in shortcut.summarise(runs)


def test_from_json_merges_runs_of_other_arms_keeping_shared_rows_once(tmp_path):
    import json
    row = {"seed": 0, "kind": "swatch", "strength": 0.0, "test_accuracy": 0.7, "val_resampled_accuracy": 0.8,
           "true_region_share": 0.1, "found_pixels": 30, "precision": 1.0, "recall": 0.5, "iou": 0.5}
    plain = [{**row, "seed": seed, "arm": "plain"} for seed in range(2)]
    ig = [{**row, "seed": seed, "arm": "IG prior (found region)", "strength": 10.0, "test_accuracy": 0.75}
          for seed in range(2)]
    eg = [{**row, "seed": seed, "arm": "EG prior (found region)", "strength": 100.0, "test_accuracy": 0.76}
          for seed in range(2)]
    for name, runs in (("a", plain + ig), ("b", plain + eg)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"config": {"run": name}, "runs": runs}))
    shortcut.main(["--from-json", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out",
                   str(tmp_path), "--name", "merged"])
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert len(merged["runs"]) == 6 and merged["config"] == {"merged": [{"run": "a"}, {"run": "b"}]}
    table = (tmp_path / "merged.md").read_text()
    assert "| EG prior (found region) | 0.760" in table and "| IG prior (found region) | 0.750" in table


def test_ssim_and_the_zero_pixel_artefact():
    rng = np.random.default_rng(0)
    a = rng.random((28, 28))
    assert sanity.ssim(a, a) == pytest.approx(1.0)
    assert sanity.ssim(a, rng.random((28, 28))) < 0.2
    image = np.zeros((1, 1, 28, 28))
    image[0, 0, 10:18, 10:18] = 1.0  # 64 ink pixels, the rest exactly zero in both maps
    first, second = image * rng.normal(size=image.shape), image * rng.normal(size=image.shape)
    scores = sanity.compare_input_maps(first, second, image)
    assert scores["ρ |·|, all pixels"] > 0.5  # zeros tie in both maps: a high ρ that means nothing
    assert abs(scores["ρ |·|, ink"]) < 0.3 and abs(scores["ρ signed, ink"]) < 0.3
    same = sanity.compare_input_maps(first, first, image)
    assert all(v == pytest.approx(1.0) for v in same.values())


def test_cascade_randomises_from_the_top_cumulatively():
    model = fashion.mlp(0, (784, 8, 6, 10))
    steps = sanity.cascade(model, seed=0)
    assert [name for name, _ in steps] == ["down to fc3", "down to fc2", "down to fc1"]
    first, last = steps[0][1], steps[-1][1]
    assert torch.equal(first.fc1.weight, model.fc1.weight)
    assert not torch.equal(first.fc3.weight, model.fc3.weight)
    assert torch.equal(last.fc3.weight, first.fc3.weight)
    assert not torch.equal(last.fc1.weight, model.fc1.weight)


@needs_fashion
def test_fashion_split_sizes_and_masked_training():
    data = fashion.split(0, n_train=1000)
    assert data.x_train.shape == (1000, 1, 28, 28) and data.x_val.shape[0] == 5000
    assert torch.bincount(data.y_train).tolist() == [100] * 10
    full = fashion.split(0)
    assert full.x_train.shape[0] + full.x_val.shape[0] == 60000


@needs_fashion
def test_reduced_shortcut_and_sanity_runs():
    runs = shortcut.run_seed(0, "swatch", n_train=600, epochs=1, n_find=100,
                             strengths={"weight decay": (1e-4,), "IG prior (true region)": (10.0,)})
    arms = {r["arm"] for r in runs}
    assert arms == {"plain", "weight decay", "IG prior (true region)", "oracle"}
    penalised = next(r for r in runs if r["arm"] == "IG prior (true region)")
    plain = next(r for r in runs if r["arm"] == "plain")
    assert penalised["true_region_share"] < plain["true_region_share"]  # the penalty moves attribution away
    assert "Shortcut: swatch" in shortcut.summarise(runs)
    checks = sanity.run_seed(0, kinds=("mlp",), n_train=500, n_images=8, epochs=1)
    final = next(r for r in checks if r["step"] == "down to fc1" and r["method"] == "integrated gradients")
    assert final["ρ signed, ink"] < 0.5 and "MLP — integrated gradients" in sanity.summarise(checks)


def test_include_results_splices_the_current_file(tmp_path):
    from tests.files import load

    splice = load("tools/include_results.py").splice

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "a.md").write_text("| new |\n")
    doc = tmp_path / "doc.md"
    doc.write_text("intro\n<!-- include: tables/a.md -->\n| old |\n| stale |\n<!-- end include -->\nafter\n")
    assert splice(doc) == "intro\n<!-- include: tables/a.md -->\n| new |\n<!-- end include -->\nafter\n"
