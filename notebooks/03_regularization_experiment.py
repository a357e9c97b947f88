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
# conclusion. The full runs (pruning 12 seeds, shortcut and sanity check 10 seeds, paired tests with
# Holm's correction, bootstrap intervals; the trained models' accuracy check in
# `docs/tables/fashion_models.md` has 2 seeds) and what they do and do not show are in
# `docs/experiments.md`, with the exact commands.
#
# 1. **Pruning**: remove hidden units ranked by the tool's layer conductance vs six other criteria,
#    without and with fine-tuning.
# 2. **Shortcut removal**: decoy Fashion-MNIST with a label-shaded swatch in a random corner; the
#    region is looked for in validation input gradients (no location given), switched off live in the
#    view, then an IG prior penalises it.
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
tables = pruning.summarise(runs).split("**Conductance − other")[0].split("\n\n", 1)[1]
display(Markdown(f"2 seeds; test accuracy, mean [bootstrap 95% CI over the 2 seeds]. Nothing is tested "
                 f"here: with 2 seeds the exact paired sign-flip test cannot give a p below "
                 f"{pruning.smallest_p(2):.2f}.\n\n" + tables))

# %% [markdown]
# ## 2. A shortcut: found by the tool? removed by an attribution prior?
# Training and validation images carry a 4×4 swatch in a random corner whose shade encodes the label;
# at test the shade is random. One seed, 5,000 training images, 5 epochs, one **fixed** strength per
# arm (IG prior 10, weight decay 0.001), not chosen on validation as in the full study, which selects
# the IG prior's strength on validation (100 on all 10 seeds, `docs/tables/shortcut_gradient_finder.md`).
# The finder runs on the input-gradient map: on integrated gradients the same finder flags nothing
# (0.0 pixels in all 10 seeds of the full study, same table; printed below for this seed). The
# accuracies are on 10,000 test images (shade random) and on the validation images (shade encodes
# the label); the |IG| share is on the first 200 **test** images.

# %%
strengths = {"IG prior (found region)": (10.0,), "weight decay": (1e-3,)}
short_runs = shortcut.run_seed(0, "swatch", n_train=5000, epochs=5, n_find=500, strengths=strengths,
                               finder="gradient")
plain = short_runs[0]
found = torch.from_numpy(np.asarray(plain["found_mask"])).bool()
print(f"finder on the input gradient (no location given): {plain['found_pixels']} pixels flagged, "
      f"precision {plain['precision']:.2f}, recall {plain['recall']:.2f} against the true corners; "
      f"the same finder on IG flags {plain['ig_finder_found_pixels']} pixels")
for r in short_runs:
    print(f"{r['arm']:26s} test {r['test_accuracy']:.3f}  validation {r['val_accuracy']:.3f}  "
          f"|IG| share on the corners (200 test images) {r['true_region_share']:.3f}")

# %% [markdown]
# ### The shortcut in the view: found, then switched off
# The plain model and the model trained with the IG prior on the region the finder flagged, each in a
# live view of the same 100 validation images (where the swatch still encodes the label). The view's
# input heatmap is integrated gradients, on which the swatch is not an outlier (above), so the found
# region is shown by acting on it instead: a *patch* intervention on the input feeds each image with
# the flagged pixels taken from another validation image (the study's resample of the found region),
# and the view's predictions are scored before and after, then the intervention is undone. A model
# that leans on the swatch should lose accuracy; one trained away from it should not. If the finder
# flagged nothing, the two models are the same.

# %%
data = shortcut.decoy_split(0, "swatch", 5000)
truth = shortcut.true_region("swatch")
plain_model = shortcut.train_arm("plain", 0.0, data, found, seed=0, epochs=5)
prior_model = shortcut.train_arm("IG prior (found region)", 10.0, data, found, seed=0, epochs=5)
x, y = data["x_val"][:100], data["y_val"][:100].numpy()
swapped = prior.resample_region(x, found, seed=0)  # flagged pixels from another validation image
print(f"flagged pixels inside the true corners: {int((found & truth).sum())} of {int(found.sum())}")
views = {}
for name, model in (("plain", plain_model), ("IG prior", prior_model)):
    view = NetViz(model, x, class_labels=list(FASHION_CLASSES), n_steps=16)
    before = (view.snapshot.prediction == y).mean()
    after = (view.intervene("input", [0], "patch", patch_input=swapped).prediction == y).mean()
    view.undo()
    print(f"{name:8s}: accuracy on the 100 validation images {before:.2f} -> {after:.2f} "
          f"with the found region resampled")
    views[name] = view
views["plain"]

# %%
views["IG prior"].intervene("input", [0], "patch", patch_input=swapped)  # left on: undo() restores it
views["IG prior"]

# %% [markdown]
# ## 3. Cascading randomisation (1 seed, MLP, 20 test images)

# %%
checks = sanity.run_seed(0, kinds=("mlp",), n_train=1000, n_images=20, epochs=2)
display(Markdown(sanity.summarise(checks)))

# %% [markdown]
# ## What this reduced run can and cannot say
# Everything above comes from one or two seeds on small training subsets: no comparison here is tested,
# and the numbers move from seed to seed. `docs/experiments.md` has the full runs (12 seeds for pruning,
# 10 for the shortcut and the sanity check; 2 for the models' accuracy check), paired tests with Holm's
# correction and the threats to validity of each study.
