"""One rule for "the predicted class" everywhere: the argmax over outputs, or for a one-output
(binary) model the sigmoid above 0.5 (its logit above 0), whatever the model's last function."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import datasets
from netviz_widget.engine.snapshot import predicted_classes
from netviz_widget.errors import InputError
from tests.model_state import assert_unchanged, fingerprint


class _Branchy(nn.Module):
    """A one-output model fx cannot trace (data-dependent branch) that ends in nn.Sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.out = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 1e9:  # never taken; fx cannot trace the test
            x = x * 0
        return self.out(self.fc(x))


class _FunctionalSigmoid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(x))


def _logit(name: str, model: nn.Module, fc: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """The model's logit (before its own sigmoid, if it has one)."""
    return model(x) if name == "logit" else fc(x)


def _one_output_models() -> dict[str, tuple[nn.Module, nn.Linear]]:
    torch.manual_seed(0)
    logit = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    ends_in_sigmoid = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())
    functional, branchy = _FunctionalSigmoid(), _Branchy()
    return {"logit": (logit, logit[2]), "nn.Sigmoid": (ends_in_sigmoid, ends_in_sigmoid[0]),
            "torch.sigmoid": (functional, functional.fc), "untraceable": (branchy, branchy.fc)}


@pytest.mark.parametrize("name", ["logit", "nn.Sigmoid", "torch.sigmoid", "untraceable"])
def test_one_output_accuracy_is_the_sigmoid_rule(name):
    model, fc = _one_output_models()[name]
    x = torch.randn(40, 4)
    with torch.no_grad():
        fc.bias -= _logit(name, model, fc, x).median()  # half of x on each side of the decision
        p = torch.sigmoid(_logit(name, model, fc, x))[:, 0]
    hand = (p > 0.5).long()
    assert 0 < int(hand.sum()) < 40  # both classes are predicted
    y = hand.clone()
    y[:10] = 1 - y[:10]  # the first 10 are wrong
    before = fingerprint(model)
    assert datasets.predict(model, x).tolist() == hand.tolist()
    assert datasets.accuracy(model, x, y) == pytest.approx(30 / 40)
    assert_unchanged(model, before)


def test_many_outputs_predict_their_argmax():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    x = torch.randn(20, 4)
    with torch.no_grad():
        best = model(x).argmax(1)
    assert datasets.predict(model, x).tolist() == best.tolist()
    assert datasets.accuracy(model, x, best) == 1.0


def test_predicted_classes_reads_numpy_and_torch_probabilities_and_logits():
    probabilities = np.array([[0.7], [0.5], [0.2]])
    assert predicted_classes(probabilities).tolist() == [1, 0, 0]
    assert predicted_classes(torch.tensor([[0.3], [-0.1]]), logits=True).tolist() == [1, 0]
    assert predicted_classes(np.array([[0.1, 0.6, 0.3]])).tolist() == [1]
    with pytest.raises(InputError, match="outputs"):
        predicted_classes(np.zeros(3))


def test_dataset_scores_of_a_one_output_model_are_grouped_by_its_sigmoid():
    from netviz_widget import Explainer

    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    reference = torch.randn(30, 4)
    with torch.no_grad():
        model[2].bias -= model(reference).median()
        yes = (model(reference)[:, 0] > 0).numpy()
    ex = Explainer(model, reference[:2], reference=reference, n_steps=4)
    scores = ex.dataset_scores()
    assert scores.classes.tolist() == [0, 1]
    assert scores.counts.tolist() == [int((~yes).sum()), int(yes.sum())]
    for group, rows in ((0, ~yes), (1, yes)):  # each group scored toward the one output
        alone = Explainer(model, reference[torch.from_numpy(rows)], n_steps=4).snapshot()
        np.testing.assert_allclose(scores.mean["2"][group], alone.node_scores["2"].mean(0),
                                   rtol=1e-4, atol=1e-6)
