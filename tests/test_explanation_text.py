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
            f"(the sigmoid of its logit {logit:+.3f}).") in text
    assert "gives 0 probability" not in text
    assert "one output, spam, has probability" in str(ex.explain(0, labels=["spam"]))


def test_counts_and_signed_changes_read_as_english() -> None:
    from netviz_widget.explanation import _moves, _units

    assert _units(1) == "1 unit" and _units(3, "hidden unit") == "3 hidden units"
    assert _moves(0.42, "the 3 logit") == "lowers the 3 logit by 0.42"
    assert _moves(-0.03, "the 3 logit") == "raises the 3 logit by 0.03"  # never "lowers … by -0.03"
    assert _moves(-0.5, "it", plural=True) == "raise it by 0.50"
