"""Cell sources of the project's notebooks (see make_notebooks.py)."""

QUICKSTART = [
    ("md", """
# netviz_widget quickstart

The digits MLP (64-32-16-10, trained on scikit-learn's bundled 8×8 digits in a few seconds): first
the live view, then the layered graph and the headless engine behind it."""),
    ("code", """
import torch

from netviz_widget import NetViz
from netviz_widget.datasets import digits_mlp, load_digits_split

torch.set_num_threads(2)
data = load_digits_split()
viz = NetViz(digits_mlp(), data.x_test[:8], reference=data.x_train)
viz"""),
    ("md", """
**In the view**: hover a unit or an edge for its numbers; click a unit to select it (shift-click adds,
Escape clears) and see what drives it on the right; wheel to zoom, drag to pan, *fit* to reset.
Colours are layer conductance toward the target class (blue: against, orange: for); the ring is the
activation. **In the controls**: choose an intervention mode and press *Apply* to re-run the model on
the selected units; *Undo*, *Redo*, *Reset*. The plots below the view compare the class probabilities
with and without the interventions, and the predicted vs measured effect of each one.

The same from Python:"""),
    ("code", """
top_unit = int(viz.snapshot.node_scores["fc2"][0].argmax())
viz.select("fc2", top_unit)
after = viz.intervene(mode="zero")
print("probability of the target, before → after:",
      round(float(viz.explainer.clean_probabilities()[0, viz.target[0]]), 3), "→",
      round(float(after.probabilities[0, viz.target[0]]), 3))
viz.undo()
print("interventions in force:", len(viz.explainer.history))"""),
    ("md", """
## Behind the view
The layered graph, and interventions on its units checked by their effect on the output."""),
    ("code", """
from netviz_widget import LayeredGraph, intervened, make_intervention
from netviz_widget.datasets import accuracy

model = digits_mlp()
print(f"test accuracy: {accuracy(model, data.x_test, data.y_test):.3f}")"""),
    ("md", "## The layered graph: unit layers and edge blocks"),
    ("code", """
graph = LayeredGraph.from_module(model, data.x_test[:1])
print(graph.to_text())"""),
    ("md", """
## Interventions
Zero the fc2 units and watch the prediction for the first test digit; a mean ablation uses the
training set as the reference. Outside the `with` block nothing stays applied, and the model object
itself never gets a hook."""),
    ("code", """
x = data.x_test[:1]
def prediction(interventions=()):
    with torch.no_grad(), intervened(graph, interventions):
        probs = graph.forward(x).softmax(-1)[0]
    return int(probs.argmax()), round(float(probs.max()), 3)

print("label        ", int(data.y_test[0]))
print("clean        ", prediction())
print("zero fc2[all]", prediction([make_intervention(graph, "fc2", range(16), "zero")]))
print("mean fc2[all]", prediction([make_intervention(graph, "fc2", range(16), "mean",
                                                     reference=data.x_train)]))
print("clean again  ", prediction())"""),
    ("md", """
Patching every unit of a layer with the activations of another input reproduces that input's
output exactly: the layer is a complete cut of the network."""),
    ("code", """
other = data.x_test[1:2]
patch = make_intervention(graph, "fc1", range(32), "patch", patch_input=other)
with torch.no_grad(), intervened(graph, [patch]):
    patched = graph.forward(x)
assert torch.allclose(patched, graph.forward(other))  # patching every fc1 unit = running the other input
print("patching all of fc1 gives the other digit's output: True")"""),
]

QUICKSTART += [
    ("md", """
## The headless engine: `Explainer`
One batched pass over the integration path gives integrated gradients on the inputs, the layer
conductance of every unit and the edge conductance of every weight. The scores are exact
Captum values and they add up: every layer's conductance sums to F(x) − F(baseline) up to the
completeness gap `delta`."""),
    ("code", """
import numpy as np

from netviz_widget import Explainer

ex = Explainer(model, data.x_test[:8], n_steps=32, reference=data.x_train)
snap = ex.snapshot()
print("prediction", snap.prediction, "target", snap.target)
print("F(x) - F(baseline), first digit:", round(float(snap.output_change[0]), 3))
for layer in ex.graph.layers[1:]:
    print(f"  sum of {layer.name} conductance: {snap.node_scores[layer.name][0].sum():.3f}")
print("relative completeness gap:", np.round(snap.relative_delta, 4))"""),
    ("md", "The units of fc2 that carry most of the first digit's decision, and an ablation of them:"),
    ("code", """
top = np.argsort(-snap.node_scores["fc2"][0])[:3]
print("top fc2 units:", top.tolist(), np.round(snap.node_scores["fc2"][0][top], 3))
after = ex.intervene("fc2", top.tolist(), mode="mean")
print("target probability before → after:",
      round(float(snap.probabilities[0, snap.target[0]]), 3), "→",
      round(float(after.probabilities[0, snap.target[0]]), 3))
print(ex.history[-1])"""),
    ("code", """
restored = ex.undo()
assert restored.equals(snap)
print("undo restores the earlier snapshot exactly:", restored.equals(snap))"""),
    ("md", "Drill into one unit (NeuronConductance of the 64 pixels) and see its top reference digits:"),
    ("code", """
view = ex.neuron("fc2", int(top[0]), k=5)
print("top pixels (row, col):", [divmod(int(i), 8) for i in view.top_inputs[0]])
print("top-activating training digits:", data.y_train[view.top_examples].tolist())
table = ex.to_frame()
print(type(table).__name__, len(table), "rows")"""),
]

from notebook_any_network import ANY_NETWORK  # noqa: E402
from notebook_explain import EXPLAIN  # noqa: E402
from notebook_regularization import REGULARIZATION  # noqa: E402
from notebook_safety import SAFETY  # noqa: E402

NOTEBOOKS = {"01_quickstart": QUICKSTART, "02_explain_a_decision": EXPLAIN,
             "03_regularization_experiment": REGULARIZATION, "04_safety_find_and_switch_off": SAFETY,
             "05_any_network": ANY_NETWORK}
