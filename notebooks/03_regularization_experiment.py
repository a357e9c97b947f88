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
# # Can what the tool measures improve optimisation and regularisation? (Fashion-MNIST, reduced)
#
# Three studies, each run live here in a **reduced configuration** (one or two seeds, small training
# subsets) so that the notebook stays quick. Reduced runs show how each study works; they support no
# conclusion. The full runs (10–12 seeds, paired tests with Holm's correction, bootstrap intervals) and
# what they do and do not show are in `docs/experiments.md`, with the exact commands.
#
# 1. **Pruning**: remove hidden units ranked by the tool's layer conductance vs six other criteria,
#    without and with fine-tuning.
# 2. **Shortcut removal**: decoy Fashion-MNIST with a label-shaded swatch in a random corner; the
#    region is looked for in validation attributions (no location given), then an IG prior penalises it.
# 3. **Sanity check**: randomise the weights from the top and watch whether the maps change.

# %%
import numpy as np
import torch
from bokeh.io import show
from IPython.display import Markdown, display

from netviz_widget import NetViz
from netviz_widget.datasets import FASHION_CLASSES
from netviz_widget.ui import figures
from netviz_widget.ui.plots import ensure_bokeh_loaded
from studies import attribution_prior as prior
from studies import pruning, sanity, shortcut

ensure_bokeh_loaded()  # BokehJS inline, once per kernel (the view's plots reuse it)
torch.set_num_threads(2)

# %% [markdown]
# ## 1. Pruning the Fashion-MNIST MLP (2 seeds, 2,000 training images, 1 epoch)

# %%
runs = []
for seed in (0, 1):
    runs += pruning.run_seed(seed, models=("fashion-mlp",), sparsities=(0.5, 0.75, 0.9), n_train=2000,
                             epochs=1, per_class=10, finetune_images=500, roar_epochs=0, test_images=1000)
sparsities = sorted({r["sparsity"] for r in runs})
curves = {c: [np.mean([r["test_accuracy"] for r in runs if r["criterion"] == c and r["sparsity"] == s])
              for s in sparsities] for c in pruning.CRITERIA}
show(figures.curves(curves, "Test accuracy after one-shot pruning (2 seeds)",
                    "fraction of hidden units removed", "test accuracy", x=sparsities, width=620, height=340))
display(Markdown(pruning.summarise(runs).split("**Conductance − other")[0]))

# %% [markdown]
# ## 2. A shortcut: found by the tool? removed by an attribution prior?
# Training and validation images carry a 4×4 swatch in a random corner whose shade encodes the label;
# at test the shade is random. One seed, 2,000 training images, 3 epochs, one strength per arm; the
# finder runs on the input-gradient map (the full study shows why: on integrated gradients it finds
# nothing).

# %%
strengths = {"IG prior (found region)": (10.0,), "weight decay": (1e-3,)}
short_runs = shortcut.run_seed(0, "swatch", n_train=2000, epochs=3, n_find=200, strengths=strengths,
                               finder="gradient")
plain = short_runs[0]
found = torch.from_numpy(np.asarray(plain["found_mask"])).bool()
print(f"finder on the input gradient (no location given): {plain['found_pixels']} pixels flagged, "
      f"precision {plain['precision']:.2f}, recall {plain['recall']:.2f} against the true corners; "
      f"the same finder on IG flags {plain['ig_finder_found_pixels']} pixels")
for r in short_runs:
    print(f"{r['arm']:26s} test {r['test_accuracy']:.3f}  validation {r['val_accuracy']:.3f}  "
          f"|IG| share on the corners {r['true_region_share']:.3f}")

# %% [markdown]
# ### The shortcut in the view
# The plain model and the model trained with the IG prior on the region the finder flagged, on the
# same validation images (where the swatch still encodes the label). The input heatmap is integrated
# gradients: look at the corners. If the finder flagged nothing, the two models are the same.

# %%
data = shortcut.decoy_split(0, "swatch", 2000)
truth = shortcut.true_region("swatch")
plain_model = shortcut.train_arm("plain", 0.0, data, found, seed=0, epochs=3)
prior_model = shortcut.train_arm("IG prior (found region)", 10.0, data, found, seed=0, epochs=3)
x = data["x_val"][:6]
for name, model in (("plain", plain_model), ("IG prior", prior_model)):
    share = prior.attribution_map(model, data["x_val"][:200])[truth].sum()
    print(f"{name:8s}: share of |IG| on the four corners {share:.3f}")
viz = NetViz(plain_model, x, class_labels=list(FASHION_CLASSES))
viz

# %%
viz_prior = NetViz(prior_model, x, class_labels=list(FASHION_CLASSES))
viz_prior

# %% [markdown]
# ## 3. Cascading randomisation (1 seed, MLP, 20 test images)

# %%
checks = sanity.run_seed(0, kinds=("mlp",), n_train=1000, n_images=20, epochs=2)
display(Markdown(sanity.summarise(checks)))

# %% [markdown]
# ## What this reduced run can and cannot say
# Everything above comes from one or two seeds on small training subsets: no comparison here is tested,
# and the numbers move from seed to seed. `docs/experiments.md` has the 10–12-seed runs, paired tests with
# Holm's correction and the threats to validity of each study.
