"""Wording of written explanations that a reader could take the wrong way."""

from __future__ import annotations

import torch
from torch import nn

from netviz_widget import Explainer


def test_a_one_output_model_is_not_said_to_give_zero_probability():
    # the output's name is its index, 0: "The model gives 0 probability 0.565" read as "zero"
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    ex = Explainer(model, torch.rand(3, 4), n_steps=4)
    p = float(ex.snapshot().probabilities[0, 0])
    logit = float(ex.snapshot().logits[0, 0])
    text = str(ex.explain(0))
    assert (f"The model's one output, 0, has probability {p:.3f} "
            f"(the sigmoid of its logit {logit:+.3f})") in text
    assert "gives 0 probability" not in text
    assert "one output, spam, has probability" in str(ex.explain(0, labels=["spam"]))


def test_counts_and_signed_changes_read_as_english() -> None:
    from netviz_widget.analysis.explanation import _moves, _units

    assert _units(1) == "1 unit" and _units(3, "hidden unit") == "3 hidden units"
    assert _moves(0.42, "the 3 logit") == "lowers the 3 logit by 0.42"
    assert _moves(-0.03, "the 3 logit") == "raises the 3 logit by 0.03"  # never "lowers … by -0.03"
    assert _moves(-0.5, "it", plural=True) == "raise it by 0.50"


def test_a_one_output_model_predicts_by_its_sigmoid_everywhere():
    # p > 0.5 is the output's class (1), else 0: argmax over one output was always 0
    from netviz_widget import NetViz
    from netviz_widget.engine.snapshot import prediction_text

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    x = torch.randn(16, 4)
    with torch.no_grad():
        model[2].bias -= model(x).median()  # half the inputs on each side of p = 0.5
        p = torch.sigmoid(model(x))[:, 0].numpy()
    assert (p > 0.5).any() and (p <= 0.5).any()  # both verdicts are exercised
    ex = Explainer(model, x, n_steps=4)
    snap = ex.snapshot()
    assert snap.prediction.tolist() == (p > 0.5).astype(int).tolist()
    assert (snap.target == 0).all()  # the only output stays the one explained
    yes, no = int((p > 0.5).argmax()), int((p <= 0.5).argmax())
    assert "so it predicts spam (" in str(ex.explain(yes, labels=["spam"]))
    assert "so it predicts not spam (" in str(ex.explain(no, labels=["spam"]))
    assert prediction_text(snap.probabilities[no], ["spam"]) == f"predicted not spam (p = {1 - p[no]:.3f})"
    viz = NetViz(model, x, n_steps=4, class_labels=["spam"])
    for example in (yes, no):
        viz.example = example
        assert viz.view.state["predicted"] == int(p[example] > 0.5)
        assert viz.view.state["probabilities"] == [round(float(p[example]), 6)]
