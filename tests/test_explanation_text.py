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
