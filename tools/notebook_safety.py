"""Cell sources of notebooks/04_safety_find_and_switch_off.ipynb."""

SAFETY = [
    ("md", """
# Find an undesirable pattern inside the model — and switch it off

Two planted problems, found with the tool and switched off with its interventions, measured on
held-out data:

1. **a trigger (backdoor)**: 5% of the training digits carry a 2×2 corner patch and are relabelled
   0; the model learns "patch ⇒ 0";
2. **a proxy for a protected attribute**: a generated loan task whose historical labels penalise
   one group, with two features that are proxies of the group.

This notebook runs a *reduced* configuration (few seeds) so that it executes as a test; the full
runs, with 10 seeds and every table, are in `docs/safety.md` with the commands that reproduce
them."""),
    ("code", """
import numpy as np
import torch
from bokeh.io import output_notebook, show
from bokeh.layouts import row
from bokeh.resources import INLINE
from IPython.display import Markdown, display

from netviz_widget import NetViz, figures
from netviz_widget.datasets import load_digits_split, train_classifier
from netviz_widget.experiments import backdoor as bd
from netviz_widget.experiments import bias

torch.set_num_threads(1)  # leaves a core for the browser when run all at once
data = load_digits_split()
x_poisoned, y_poisoned, poisoned = bd.poison(data.x_train, data.y_train, rate=0.05, seed=0)
model = train_classifier(bd.build("mlp", 0), x_poisoned, y_poisoned, epochs=30, seed=0)
print(f"poisoned training digits: {poisoned.sum()} of {len(poisoned)}")
print(f"clean test accuracy: {bd.accuracy(model, 'mlp', data.x_test, data.y_test):.3f}")
print(f"attack success rate: {bd.attack_success_rate(model, 'mlp', data.x_test, data.y_test):.3f}")"""),
    ("md", """
## Case 1 — the trigger's circuit, in the view

A test digit (not a 0) shown clean and with the patch. The view explains the triggered copy's
prediction; *show circuit* keeps the units and edges that carry 80% of each layer's attribution
and dims the rest: the patch pixels (bottom-right of the input image) light up."""),
    ("code", """
digit = int(torch.nonzero(data.y_test == 4)[0])
pair = torch.cat([data.x_test[[digit]], bd.add_trigger(data.x_test[[digit]])])
viz = NetViz(model, pair, reference=data.x_train[:200])
viz.example = 1  # the triggered copy
circuit = viz.show_circuit(True)
viz"""),
    ("md", """
## Switching it off, live — without the trigger

The tool's rule needs only clean digits (a 5% reference): rank the last hidden layer's units by how
hard they push the output toward 0 per unit of clean activation, and remove the longest prefix that
costs at most 2 points of clean accuracy on the reference. The ablation is applied *in the view*
above (zero, on `fc2`): its header updates, and `viz.undo()` restores it. Whatever it does to this
one digit, the test-set numbers below are what counts."""),
    ("code", """
rng = np.random.default_rng(0)
ref = rng.choice(len(data.y_train), int(0.05 * len(data.y_train)), replace=False)
x_ref, y_ref = data.x_train[ref], data.y_train[ref]
units = bd.within_budget(model, "mlp", bd.tool_ranking(model, "mlp", x_ref), x_ref, y_ref)
before = viz.snapshot.probabilities[1]
viz.intervene("fc2", units, "zero")
after = viz.snapshot.probabilities[1]
repaired = bd.remove_units(model, "mlp", units)
print(f"flagged fc2 units: {units}")
print(f"triggered copy: p(0) {before[0]:.3f} → {after[0]:.3f}, "
      f"prediction {before.argmax()} → {after.argmax()}")
print(f"test set: ASR {bd.attack_success_rate(model, 'mlp', data.x_test, data.y_test):.3f} → "
      f"{bd.attack_success_rate(repaired, 'mlp', data.x_test, data.y_test):.3f}, "
      f"clean accuracy {bd.accuracy(model, 'mlp', data.x_test, data.y_test):.3f} → "
      f"{bd.accuracy(repaired, 'mlp', data.x_test, data.y_test):.3f}")"""),
    ("md", """
## … and with the trigger in hand

An analyst who has found the trigger can measure it directly: the rise of each `fc2` unit's
conductance toward 0 when the patch is added to held-out digits. The fewest units carrying 80% of
that rise are switched off in the view, replacing the clean-data rule. This removes the backdoor
far more thoroughly, and shows its price: the same units do clean work too."""),
    ("code", """
from netviz_widget.experiments import concentration

viz.undo()
carriers = concentration.units_carrying(
    concentration.trigger_conductance(model, "mlp", data.x_test, data.y_test))
viz.intervene("fc2", carriers, "zero")
after = viz.snapshot.probabilities[1]
without = bd.remove_units(model, "mlp", carriers)
print(f"units carrying 80% of the trigger's conductance: {carriers} (of 32)")
print(f"triggered copy: p(0) {before[0]:.3f} → {after[0]:.3f}, prediction {after.argmax()} "
      f"(label {int(data.y_test[digit])})")
print(f"test set: ASR → {bd.attack_success_rate(without, 'mlp', data.x_test, data.y_test):.3f}, "
      f"clean accuracy → {bd.accuracy(without, 'mlp', data.x_test, data.y_test):.3f}")"""),
    ("md", """
## Case 1 — every defence, reduced run

Two seeds of the MLP at 5% poisoning (the full run: 10 seeds, MLP and CNN, 1/5/10%)."""),
    ("code", """
output_notebook(resources=INLINE, hide_banner=True)  # after the view: one heavy front-end load at a time
runs = bd.run(seeds=2, kinds=("mlp",), rates=(0.05,), progress=False)
display(Markdown(bd.summarise(runs)))
names = list(bd.DEFENCES)
asr = [[r["attack_success_rate"] for r in runs if r["defence"] == d] for d in names]
show(figures.bars(names, [np.mean(a) for a in asr], "attack success rate after each defence",
                  "ASR (held-out)", errors=[np.std(a) for a in asr]))"""),
    ("md", """
## Case 2 — a proxy for a protected attribute

Historical loan decisions penalised group 1; the model learns it, from the group column *and*
from two proxies (postcode, spending). The tool ranks hidden units by the difference of their mean
conductance toward "approve" between the groups, on an audit set with group labels."""),
    ("code", """
loans = bias.make_loans(6000, seed=0)
train, audit, test = loans.rows(slice(0, 3000)), loans.rows(slice(3000, 4000)), loans.rows(slice(4000, None))
loan_model = train_classifier(bias.build(7, 0), train.x, train.y_history, epochs=30, seed=0)
ranking = bias.group_gap_ranking(loan_model, audit.x, audit.group)
top = ranking[:12]
show(figures.bars([f"{layer}[{unit}]" for layer, unit, _ in top], [gap for _, _, gap in top],
                  "conductance gap toward 'approve' (group 0 − group 1)", "gap (logit units)"))
chosen = bias.choose_units(loan_model, audit, audit.x)
print("units the tool switches off:", chosen)"""),
    ("code", """
runs2 = bias.run(seeds=2, progress=False, n_train=2000, n_audit=1000, n_test=1000)
display(Markdown(bias.summarise(runs2)))
variants = list(bias.VARIANTS)
gaps = [np.mean([r["demographic parity gap"] for r in runs2 if r["variant"] == v]) for v in variants]
accuracy = [np.mean([r["accuracy (fair labels)"] for r in runs2 if r["variant"] == v]) for v in variants]
show(row(figures.bars(variants, gaps, "demographic-parity gap (held-out)", "gap"),
         figures.bars(variants, accuracy, "accuracy against the fair labels", "accuracy")))"""),
    ("md", """
## What to take away

- Both patterns are *visible* to the tool: the trigger's circuit in the view, the group's units in
  the conductance gap. Switching them off with interventions is cheap and reversible, and its
  effect is measured, not assumed.
- Neither is switched off completely by removing a few units: the full runs in `docs/safety.md`
  quantify how much remains (ASR, parity gaps, attribution left on the group and its proxies), and
  compare with dropping the column, random ablation, fine-pruning and the detection baselines.
- `docs/safety.md` also reports the two other parts of the study: units that signal the model's
  own errors (case 3), and whether sparse (L1) or dropout training concentrates the trigger in
  fewer units."""),
]
