"""Cell sources of the project's notebooks (see make_notebooks.py)."""

QUICKSTART = [
    ("md", """
# netviz_widget quickstart

The digits MLP (64-32-16-10, trained on scikit-learn's bundled 8×8 digits in about a second) as a
layered graph, and interventions on its units checked by their effect on the output."""),
    ("code", """
import torch
from netviz_widget import LayeredGraph, intervened, make_intervention
from netviz_widget.datasets import accuracy, digits_mlp, load_digits_split

torch.set_num_threads(2)
data = load_digits_split()
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
# NBVAL_CHECK_OUTPUT
other = data.x_test[1:2]
patch = make_intervention(graph, "fc1", range(32), "patch", patch_input=other)
with torch.no_grad(), intervened(graph, [patch]):
    patched = graph.forward(x)
print(torch.allclose(patched, graph.forward(other)))"""),
]

NOTEBOOKS = {"01_quickstart": QUICKSTART}
