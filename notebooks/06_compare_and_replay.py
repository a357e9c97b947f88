# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Compare and replay: a backdoor forming during training, and two models side by side
#
# The digits MLP (64-32-16-10) is first trained on clean digits, then fine-tuned on a training set in which
# 10% of the digits carry a 2×2 trigger in the bottom-right corner and are relabelled 0 (BadNets-style, as in
# notebook 04). A `Recorder` in the plain PyTorch loop keeps compact snapshots of the model on eight
# triggered test digits every 3 steps; `NetViz.replay` plays them back. Then `Explainer.compare` and
# `NetViz(..., compare=other)` put two models side by side: the clean vs the backdoored model, and the plain
# vs the shortcut-penalised model of the regularisation study (notebook 03).

# %%
import copy
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netviz_widget import Explainer, NetViz, Recorder, Recording
from netviz_widget.datasets import digits_mlp, load_digits_split

data = load_digits_split()
TARGET = 0                                            # the attacker's class
TRIGGER_MASK = torch.zeros(8, 8, dtype=torch.bool)
TRIGGER_MASK[6:, 6:] = True                           # a 2×2 patch in the bottom-right corner
TRIGGER_MASK = TRIGGER_MASK.flatten()


def add_trigger(x):
    x = x.clone()
    x[:, TRIGGER_MASK] = 1.0
    return x


def poison(x, y, rate, seed):
    rows = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:int(rate * len(y))]
    x, y, mask = x.clone(), y.clone(), torch.zeros(len(y), dtype=torch.bool)
    x[rows], y[rows], mask[rows] = add_trigger(x[rows]), TARGET, True
    return x, y, mask


def measure(model):
    with torch.no_grad():
        others = data.y_test != TARGET
        return {"clean accuracy": float((model(data.x_test).argmax(1) == data.y_test).float().mean()),
                "attack success": float((model(add_trigger(data.x_test[others])).argmax(1) == TARGET)
                                        .float().mean())}


x_poisoned, y_poisoned, poisoned = poison(data.x_train, data.y_train, rate=0.1, seed=0)
probe = add_trigger(data.x_test[data.y_test != TARGET][:8])  # triggered, true class ≠ 0
clean = digits_mlp()


print(f"{int(poisoned.sum())} of {len(poisoned)} training digits carry the trigger")
print("clean model:", {k: round(v, 3) for k, v in measure(clean).items()})

# %% [markdown]
# ## Record while the poisoned fine-tuning runs
# A plain loop: the only additions are the `Recorder` and one `recorder.step(...)` per step. The recorder
# explains class 0 (the attacker's target) on the triggered probe digits, never consumes the global random
# generator and leaves the model exactly as it found it, so training runs as it would without it.

# %%
model = copy.deepcopy(clean)
optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
path = Path(tempfile.mkdtemp()) / "backdoor_run.npz"
generator = torch.Generator().manual_seed(0)
step = 0
with Recorder(model, probe, every=3, target=TARGET, path=path) as recorder:
    for _ in range(6):
        order = torch.randperm(len(y_poisoned), generator=generator)
        for first in range(0, len(order), 128):
            rows = order[first:first + 128]
            model.train()
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x_poisoned[rows]), y_poisoned[rows])
            loss.backward()
            optimiser.step()
            model.eval()
            recorder.step(step, loss=loss.item(), metrics=measure(model) if step % 3 == 0 else None)
            step += 1
print(f"after {step} steps:", {k: round(v, 3) for k, v in measure(model).items()})
print(f"recording: {path.stat().st_size / 1024:.0f} KB")

# %% [markdown]
# ## Replay
# Press play or drag the slider: the view is redrawn from the recorded scores (conductance toward class 0;
# the input heatmap is the integrated gradients). Below it: the loss, the clean accuracy and the attack success
# with a cursor at the shown step, and the score over training of the unit clicked in the view (here the fc2
# unit whose score toward 0 rose most, selected from Python).

# %%
recording = Recording.load(path)
fc2 = recording.node_scores["fc2"].mean(1)            # (records, units): mean over the probe digits
rising = np.argsort(-(fc2[-1] - fc2[0]))[:3]          # the units whose push toward 0 grew most
replay = NetViz.replay(recording)
replay.select("fc2", int(rising[0]))
replay.index = len(recording) - 1
replay

# %% [markdown]
# The numbers behind the replay: the attack success on the held-out digits, the share of the input
# attribution (|IG| toward class 0) that falls on the four trigger pixels, and the scores of the three fc2
# units whose score toward 0 rose most.

# %%
trigger = TRIGGER_MASK.numpy()
ig = np.abs(recording.node_scores["input"])           # (records, probe, 64)
share = ig[:, :, trigger].sum(-1).mean(1) / ig.sum(-1).mean(1)
attack = dict(zip(recording.curve_steps.tolist(), recording.metrics["attack success"]))
print("step  attack success  trigger share of |IG|  " + "  ".join(f"fc2[{u}]" for u in rising))
for i in range(0, len(recording), 2):
    s = int(recording.steps[i])
    print(f"{s:4d}  {attack.get(s, float('nan')):14.3f}  {share[i]:21.3f}  "
          + "  ".join(f"{fc2[i, u]:+7.3f}" for u in rising))

# %% [markdown]
# ## Compare: the clean and the backdoored model
# `Explainer.compare` returns B − A for every unit, edge and output on the same inputs and the same target
# (class 0); in the view, the toggle switches between A, B and the change B − A (diverging colours), the hover
# shows both models' values, and an intervention applies to both models at once.

# %%
diff = Explainer(clean, probe, target=TARGET, n_steps=16).compare(model)
print(diff.summary())
print("prediction A:", diff.prediction_a.tolist())
print("prediction B:", diff.prediction_b.tolist())

# %%
side_by_side = NetViz(clean, probe, target=TARGET, n_steps=16, compare=model)
side_by_side.comparison.show("diff")
side_by_side


# %% [markdown]
# Switching off the most changed fc2 unit in both models at once, from Python (the same as *Apply* in the
# controls):

# %%
def p_target(explainer):
    return float(explainer.snapshot().probabilities[:, TARGET].mean())


unit = next(c.unit for c in diff.top_units(20) if c.layer == "fc2")
pair = side_by_side.explainer                       # A; pair.other is B
before = p_target(pair), p_target(pair.other)
side_by_side.intervene("fc2", [unit], mode="zero")
after = p_target(pair), p_target(pair.other)
print(f"mean p(class 0) on the triggered digits, before → after zeroing fc2[{unit}] in both:")
print(f"  clean {before[0]:.3f} → {after[0]:.3f};  backdoored {before[1]:.3f} → {after[1]:.3f}")
side_by_side.undo();

# %% [markdown]
# ## Compare: plain vs shortcut-penalised training (the regularisation study, reduced)
# Decoy Fashion-MNIST (as in notebook 03): a swatch in a random corner whose shade encodes the label in
# training (random at test time); one MLP trained plainly, one with the integrated-gradients prior on the
# four corners (2,000 training images and 3 epochs here; full runs in `docs/experiments.md`).

# %%
from netviz_widget.datasets import accuracy
from studies import shortcut

decoy = shortcut.decoy_split(seed=0, kind="swatch", n_train=2000)
corners = shortcut.true_region("swatch")
plain = shortcut.train_arm("plain", 0.0, decoy, corners, seed=0, epochs=3)
penalised = shortcut.train_arm("IG prior (true region)", 100.0, decoy, corners, seed=0, epochs=3)
x = decoy["x_test"][:8]
difference = Explainer(plain, x, n_steps=16).compare(penalised)
patch = corners.flatten().numpy()
for name, net, snap in (("plain", plain, difference.a), ("IG prior", penalised, difference.b)):
    scores = np.abs(snap.input_scores.reshape(len(x), -1))
    print(f"{name:9s}: test accuracy {accuracy(net, decoy['x_test'], decoy['y_test']):.3f}, "
          f"corner share of |IG| on 8 test images {scores[:, patch].sum() / scores.sum():.3f}")
print(difference.summary())
NetViz(plain, x, n_steps=16, compare=penalised)

# %% [markdown]
# **What this shows, and what it does not.** The replay shows *when* the trigger's pathway forms on these eight
# probe digits: the trigger pixels' share of the attribution toward 0 and the fc2 units that push toward 0 grow
# together with the attack success. It is one run with one seed on a small model; the scores explain class 0
# on triggered inputs only, and a unit whose score rises is a candidate, to be checked by ablation (as above and
# in notebook 04), not a proof that it carries the backdoor.
