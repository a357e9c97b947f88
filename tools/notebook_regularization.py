"""Cell sources of notebooks/03_regularization_experiment.ipynb (a reduced configuration)."""

REGULARIZATION = [
    ("md", """
# Can what the tool measures improve optimisation and regularisation?

Two experiments, run live here in a **reduced configuration** (few seeds) so that the notebook stays
quick; the full runs (20 and 10 seeds) and their conclusions are in `docs/experiments.md`, with the
exact commands. Nothing is loaded from disk: everything below is computed now.

1. **Attribution-guided pruning** (no fine-tuning): remove hidden units of an MLP 64-128-128-10 ranked by
   layer conductance vs six other criteria.
2. **An attribution prior against a shortcut**: decoy digits whose corner patch encodes the label in
   training; penalise the attribution the patch receives."""),
    ("code", """
import numpy as np
import torch
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE
from IPython.display import Markdown, display

from netviz_widget import Explainer, NetViz, figures
from netviz_widget.experiments import attribution_prior as prior
from netviz_widget.experiments import pruning

output_notebook(resources=INLINE, hide_banner=True)
torch.set_num_threads(2)
SEEDS = 3"""),
    ("md", "## 1. Pruning without fine-tuning (reference: 5 training digits per class)"),
    ("code", """
runs = pruning.run(seeds=SEEDS, per_class=(5,), progress=False)
display(Markdown(pruning.summarise(runs)))"""),
    ("code", """
sparsities = sorted({r["sparsity"] for r in runs})
def series(criterion):
    values = np.array([[r["accuracy"] for r in runs if r["criterion"] == criterion and r["sparsity"] == s]
                       for s in sparsities])
    return values.mean(1), values.std(1)
stats = {c: series(c) for c in pruning.CRITERIA}
show(figures.curves({c: m for c, (m, _) in stats.items()}, "Test accuracy after one-shot pruning",
                    "fraction of hidden units removed", "test accuracy",
                    bands={c: s for c, (_, s) in stats.items()}, x=sparsities, width=620, height=360))"""),
    ("md", """
## 2. An attribution prior against a shortcut
Training digits carry a 2×2 corner patch with intensity label/9; test digits carry a random patch."""),
    ("code", """
prior_runs = prior.run(seeds=SEEDS, epochs=20, progress=False)
display(Markdown(prior.summarise(prior_runs)))
accuracy = {m: [r["test_accuracy"] for r in prior_runs if r["method"] == m] for m in prior.METHODS}
show(figures.bars(list(accuracy), [np.mean(v) for v in accuracy.values()],
                  "Test accuracy with random patches", "accuracy",
                  errors=[np.std(v) for v in accuracy.values()], width=620))"""),
    ("md", """
### Where the shortcut lives, in the view
The circuit of the plain model's decision for a test digit vs the IG-penalised model's: how many of the
input pixels the circuit keeps are patch pixels, and the view with the circuit highlighted."""),
    ("code", """
data = prior.decoy_data(seed=0)
plain = prior.train("plain", data, seed=0, epochs=20)
penalised = prior.train("IG penalty", data, seed=0, epochs=20)
x = data["x_train"][:4]  # training digits: the patch still encodes the label
patch = set(np.nonzero(prior.PATCH_MASK.numpy())[0].tolist())
for name, model in (("plain", plain), ("IG penalty", penalised)):
    ex = Explainer(model, x)
    kept = [set(ex.circuit(i).units["input"]) for i in range(len(x))]
    share = np.mean([len(k & patch) / max(len(k), 1) for k in kept])
    ig = np.abs(ex.snapshot().input_scores)
    print(f"{name:11s}: patch pixels among the circuit's input pixels {100 * share:.0f}%; "
          f"patch share of |IG| {ig[:, prior.PATCH_MASK.numpy()].sum() / ig.sum():.3f}")"""),
    ("code", """
viz = NetViz(plain, x, class_labels=[str(d) for d in range(10)])
viz.show_circuit(True)
viz"""),
    ("code", """
viz_penalised = NetViz(penalised, x, class_labels=[str(d) for d in range(10)])
viz_penalised.show_circuit(True)
viz_penalised"""),
    ("md", """
## What this reduced run shows
(Computed from the runs above; with 3 seeds the paired tests cannot reach p < 0.01 — see
`docs/experiments.md` for 20 and 10 seeds.)"""),
    ("code", """
def mean_acc(criterion, s):
    return np.mean([r["accuracy"] for r in runs if r["criterion"] == criterion and r["sparsity"] == s])
for s in sparsities:
    best = max(pruning.CRITERIA, key=lambda c: mean_acc(c, s))
    print(f"{int(100 * s)}% pruned: best criterion {best} ({mean_acc(best, s):.3f}); conductance "
          f"{mean_acc('conductance', s):.3f}; weight norm {mean_acc('weight norm', s):.3f}")
means = {m: np.mean(v) for m, v in accuracy.items()}
print(f"IG penalty {means['IG penalty']:.3f} vs plain {means['plain']:.3f}, input-gradient penalty "
      f"{means['input-gradient penalty']:.3f}, oracle {means['oracle (no patch)']:.3f}.")
for method in ("weight decay", "dropout"):
    verdict = "does not remove" if means[method] < means["plain"] + 0.05 else "reduces"
    print(f"{method}: {means[method]:.3f}, {verdict} the shortcut (plain: {means['plain']:.3f}).")"""),
]
