"""The experiment code: criteria on a hand-built network, real pruning, reproducible seeds,
decoy data and attribution penalties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget import LayeredGraph, intervened, make_intervention
from netviz_widget.datasets import mlp
from netviz_widget.experiments import attribution_prior as prior
from netviz_widget.experiments import pruning


def hand_built() -> torch.nn.Sequential:
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
    scores = pruning.unit_scores(model, x, y, seed=0, n_steps=16)
    for criterion in ("weight norm", "mean activation", "Taylor", "conductance", "oracle"):
        fc1 = scores[criterion]["fc1"]
        assert np.argmin(fc1) == 1, (criterion, fc1)  # the dead unit matters least
    for criterion in ("mean activation", "Taylor", "conductance", "oracle"):
        assert np.argmax(scores[criterion]["fc1"]) == 0, criterion  # the carrier matters most


def test_pruning_really_removes_units():
    model = hand_built()
    x = torch.rand(10, 4, generator=torch.Generator().manual_seed(1))
    pruned = pruning.prune(model, "fc1", [0, 2])
    with torch.no_grad():
        assert torch.all(torch.relu(pruned.fc1(x))[:, [0, 2]] == 0)
        graph = LayeredGraph.from_module(model, x)
        with intervened(graph, [make_intervention(graph, "fc1", [0, 2], "zero")]):
            expected = graph.forward(x)
        torch.testing.assert_close(pruned(x), expected)
    assert torch.equal(model.fc1.weight[0], torch.tensor([3.0, 3.0, 0, 0]))  # the original is intact


def test_prune_by_removes_the_lowest_scores_per_layer():
    model = hand_built()
    scores = {"fc1": np.array([3.0, 1.0, 2.0]), "fc2": np.array([0.5, 2.0, 1.0])}
    pruned = pruning.prune_by(model, scores, 1 / 3)
    assert torch.all(pruned.fc1.weight[1] == 0) and torch.all(pruned.fc2.weight[0] == 0)
    assert torch.any(pruned.fc1.weight[0] != 0) and torch.any(pruned.fc2.weight[1] != 0)


def test_seeds_make_runs_reproducible():
    first = pruning.run_seed(3, (1,), (0.5,), epochs=3)
    second = pruning.run_seed(3, (1,), (0.5,), epochs=3)
    assert first == second
    assert {r["criterion"] for r in first} == set(pruning.CRITERIA)
    other = pruning.run_seed(4, (1,), (0.5,), epochs=3)
    assert [r["accuracy"] for r in other] != [r["accuracy"] for r in first]


def test_reference_set_has_k_per_class():
    x = torch.arange(40.0).reshape(20, 2)
    y = torch.tensor([0, 1] * 10)
    _, y_ref = pruning.reference_set(x, y, 3, seed=0)
    assert sorted(y_ref.tolist()) == [0, 0, 0, 1, 1, 1]


def test_decoy_patch_encodes_the_label_in_training_only():
    data = prior.decoy_data(seed=0)
    patch = data["x_train"][:, prior.PATCH_MASK]
    assert torch.allclose(patch, (data["y_train"].float() / 9).unsqueeze(1).expand_as(patch))
    test_patch = data["x_test"][:, prior.PATCH_MASK]
    assert abs(float(np.corrcoef(test_patch[:, 0], data["y_test"].float())[0, 1])) < 0.2
    assert torch.equal(data["x_train"][:, ~prior.PATCH_MASK], data["x_train_clean"][:, ~prior.PATCH_MASK])


@pytest.mark.parametrize("penalty", ["input", "ig"])
def test_penalties_vanish_when_the_model_ignores_the_patch(penalty):
    model = prior.model_for("plain", seed=0).eval()
    x = torch.rand(8, 64, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(1))

    def value():
        return (prior.input_gradient_penalty(model, x) if penalty == "input"
                else prior.ig_penalty(model, x, y)).item()
    assert value() > 0
    with torch.no_grad():
        model.fc1.weight[:, prior.PATCH_MASK] = 0.0
    assert value() == pytest.approx(0.0, abs=1e-12)
    assert 0.0 <= prior.patch_share(model, x) <= 1e-6


def test_experiment_command_line_and_report(tmp_path, capsys):
    import json

    from netviz_widget.experiments.common import experiment_parser, report
    args = experiment_parser("demo", "doc", seeds=7).parse_args(["--out", str(tmp_path)])
    assert args.seeds == 7 and args.out == tmp_path
    runs = [{"seed": np.int64(0), "units": np.array([1, 2]), "score": np.float32(0.5)}]
    assert report(args.out, "demo", runs, "| a |", {"seeds": args.seeds}) == 0
    written = json.loads((tmp_path / "demo.json").read_text())
    assert written["runs"] == [{"seed": 0, "units": [1, 2], "score": 0.5}]
    assert (tmp_path / "demo.md").read_text() == "| a |\n"
    assert "| a |" in capsys.readouterr().out
