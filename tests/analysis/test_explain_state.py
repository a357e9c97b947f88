"""An explanation says which state it was made in: every active intervention is named, with the
clean probability beside the intervened one."""

from __future__ import annotations

from netviz_widget import Explainer
from netviz_widget.datasets import digits_mlp, load_digits_split


def test_explanation_names_every_active_intervention():
    data = load_digits_split()
    ex = Explainer(digits_mlp(), data.x_test[:4], n_steps=8, reference=data.x_train[:64])
    clean = ex.explain(0)
    assert "in force" not in clean.markdown and clean.facts["interventions"] == []
    ex.intervene("fc1", [3, 7], mode="zero")
    ex.intervene("fc2", [1], mode="scale", value=2.0)
    text = str(ex.explain(0))
    first = text.split("\n\n")[0]
    assert first.startswith("2 interventions in force (zero fc1[3, 7]; scale 2 fc2[1])")
    target = int(ex.target[0])
    clean_p = float(Explainer(digits_mlp(), data.x_test[:4]).clean_probabilities()[0, target])
    assert f"probability {clean_p:.3f}." in first
    intervened_p = float(ex.snapshot().probabilities[0, target])
    assert f"probability {intervened_p:.3f}" in text.split("\n\n")[1]
    ex.reset()
    assert "in force" not in ex.explain(0).markdown
