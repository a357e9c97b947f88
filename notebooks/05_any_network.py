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
# # Any network: branches, gates, probability outputs, tokens and several inputs
#
# NetViz draws more than chains of layers. This notebook shows three families on scikit-learn's
# bundled 8×8 digits (each trained in a few seconds): an **Inception-style CNN** whose branches are
# concatenated, a **gated MLP** (GLU: `value * sigmoid(gate)`), and a model that **ends in a
# Softmax**; then a model reading **token ids** through an embedding and token-wise layers, and one
# with **two inputs**, a **tiny transformer** (each attention head a unit) and an **LSTM** reading each
# digit row by row. Each gets one intervention or check. What each layer kind means, and what NetViz refuses, is in `docs/architectures.md`.

# %%
import torch
import torch.nn.functional as F
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget.datasets import accuracy, load_digits_split, train_classifier

torch.set_num_threads(2)
data = load_digits_split()
images_train, images_test = data.images(data.x_train), data.images(data.x_test)


# %% [markdown]
# ## An Inception-style CNN
#
# After torchvision's GoogLeNet block: a stem, then three branches (a 1×1 conv; a 1×1 then a 3×3 conv;
# a max-pool then a 1×1 conv) concatenated along the channels, pooled to 2×2, and a linear head.

# %%
class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.branch1 = nn.Conv2d(8, 4, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
        self.branch3 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(8, 4, 1))
        self.head = nn.Linear(14 * 4, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = torch.cat([self.branch1(x), self.branch2(x), self.branch3(x)], 1)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(F.relu(x), 2), 1))

torch.manual_seed(0)
inception = train_classifier(Inception(), images_train, data.y_train, epochs=15)
print(f"test accuracy: {accuracy(inception, images_test, data.y_test):.3f}")

# %%
viz = NetViz(inception, images_test[:8], reference=images_train[:256], n_steps=16)
viz

# %% [markdown]
# The three branches are drawn side by side and merge in `head`: the head has one edge block **from
# each branch**, at that branch's channel offset in the concatenation (`ranges` = offset in the head's
# input, first unit of the branch, count).

# %%
graph = viz.explainer.graph
print(graph.to_text())
for block in graph.blocks_into("head"):
    print(block.src, "→", block.dst, block.kind, block.ranges)

# %% [markdown]
# One intervention: switch off the branch unit that carries most of the decision for the first digit,
# and watch the prediction (the view updates; the intervention stays in force).

# %%
snap = viz.snapshot
branches = [la.name for la in graph.layers if la.name.startswith("branch")]
layer, unit = max(((name, int(snap.node_scores[name][0].argmax())) for name in branches),
                  key=lambda lu: snap.node_scores[lu[0]][0, lu[1]])
before = float(viz.explainer.clean_probabilities()[0, viz.target[0]])
viz.select(layer, unit)
after = viz.intervene(mode="zero")
print(f"zero {layer}[{unit}]: probability of {int(viz.target[0])} {before:.3f} → "
      f"{float(after.probabilities[0, viz.target[0]]):.3f}")


# %% [markdown]
# ## A gate
#
# A gated linear unit multiplies a value layer by `sigmoid(gate)`. The product is its own layer
# (`gated`); the value path reaches it by a `gated` edge block and the gate by a **`modulates`**
# block. Their edge scores split each product unit's conductance exactly.

# %%
class GatedMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.value = nn.Linear(64, 16)
        self.gate = nn.Linear(64, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.value(x) * torch.sigmoid(self.gate(x)))

torch.manual_seed(0)
gated = train_classifier(GatedMLP(), data.x_train, data.y_train, epochs=30)
gviz = NetViz(gated, data.x_test[:8], reference=data.x_train[:256], n_steps=16)
gviz

# %%
g = gviz.explainer.graph
print([(b.src, b.dst, b.kind) for b in g.blocks])
gsnap = gviz.snapshot
into = sum(gsnap.edge_scores[(b.src, b.dst)][0].sum(1) for b in g.blocks_into("mul"))
print("gated + modulates edges add up to the product's conductance:",
      bool(abs(into - gsnap.node_scores["mul"][0]).max() < 1e-4))
gate_unit = int(gsnap.node_scores["gate"][0].argmax())
gviz.select("gate", gate_unit)
closed = gviz.intervene(mode="zero")  # a closed gate: sigmoid output 0
print(f"close gate {gate_unit}: logit of {int(gviz.target[0])} "
      f"{gsnap.logits[0, gviz.target[0]]:.2f} → {closed.logits[0, gviz.target[0]]:.2f}")

# %% [markdown]
# ## A model that ends in a Softmax
#
# The final Softmax is detected and left out of the graph: the logits before it are explained, and the
# probabilities are applied once (not a softmax of probabilities).

# %%
probabilistic = nn.Sequential(gated, nn.Softmax(dim=1))
ex = Explainer(probabilistic, data.x_test[:4])
print("output function left out:", ex.graph.output_activation)
with torch.no_grad():
    print("same probabilities as the model:", bool(torch.allclose(
        torch.from_numpy(ex.snapshot().probabilities), probabilistic(data.x_test[:4]))))


# %% [markdown]
# ## Token ids into an embedding
#
# Integer token ids that go straight into an `nn.Embedding` are explained from the embedding's output
# on (as Captum's `LayerIntegratedGradients` does): the input layer's units are the embedding
# dimensions, and `Linear` layers applied to every token (on `(batch, positions, features)`) are
# **token-wise** layers whose units are features, scored summed over positions. Here each digit is
# read as 64 tokens, one per pixel, whose id is the pixel's intensity (0 to 16; 0, a blank pixel, is
# the padding token, whose embedding is zero: the integration baseline is the blank image).

# %%
class PixelTokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(17, 8, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(64, 8))
        self.mix = nn.Linear(8, 16)                  # token-wise: applied to every pixel token
        self.rows = nn.Conv1d(16, 16, 8, stride=8)   # one output per image row
        self.head = nn.Linear(16 * 8, 10)

    def forward(self, ids):
        h = F.relu(self.mix(self.embedding(ids) + self.position))
        h = F.relu(self.rows(h.transpose(1, 2)))
        return self.head(torch.flatten(h, 1))

ids_train = data.x_train.mul(16).round().long()  # the digits' 0…16 intensities
ids_test = data.x_test.mul(16).round().long()
torch.manual_seed(0)
tokens = train_classifier(PixelTokens(), ids_train, data.y_train, epochs=15)
print(f"test accuracy: {accuracy(tokens, ids_test, data.y_test):.3f}")

# %%
tviz = NetViz(tokens, ids_test[:8], reference=ids_train[:256], n_steps=16)
tviz

# %%
tex = tviz.explainer
print(tex.graph.to_text())
print("ids kept as", tuple(tex.tokens.shape), "; embedded input", tuple(tex.inputs.shape))
tsnap = tviz.snapshot
mix_unit = int(tsnap.node_scores["mix"][0].argmax())
tviz.select("mix", mix_unit)
after = tviz.intervene(mode="zero")  # that feature switched off at every pixel
print(f"zero mix[{mix_unit}]: logit of {int(tviz.target[0])} "
      f"{tsnap.logits[0, tviz.target[0]]:.2f} → {after.logits[0, tviz.target[0]]:.2f}")


# %% [markdown]
# ## Several inputs
#
# A `forward(a, b)` takes its inputs as a tuple: they are packed along axis 1, each consumer reads its
# own input's units, and `split_inputs` gives the integrated gradients of each input. Here the top and
# bottom halves of each digit go in separately.

# %%
class TwoHalves(nn.Module):
    def __init__(self):
        super().__init__()
        self.top, self.bottom = nn.Linear(32, 12), nn.Linear(32, 12)
        self.head = nn.Linear(24, 10)

    def forward(self, top, bottom):
        return self.head(torch.cat([F.relu(self.top(top)), F.relu(self.bottom(bottom))], 1))

class Halves(nn.Module):  # for training: one tensor in
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x[:, :32], x[:, 32:])

torch.manual_seed(0)
halves = TwoHalves()
train_classifier(Halves(halves), data.x_train, data.y_train, epochs=30)
hex_ = Explainer(halves, (data.x_test[:4, :32], data.x_test[:4, 32:]), n_steps=16)
top_ig, bottom_ig = hex_.split_inputs(hex_.snapshot().input_scores)
print("evidence from the top half:", top_ig.sum(1).round(2), "bottom half:",
bottom_ig.sum(1).round(2))


# %% [markdown]
# ## A tiny transformer
#
# Each digit is read as a sequence of 8 tokens, one per image row of 8 pixels: a token-wise `Linear`
# (8 → 16) plus learned positions, one `nn.TransformerEncoderLayer` with 2 heads, the mean over the
# rows and a linear head. NetViz unrolls the attention from the module's own weights: **each head is
# a unit** of layer `encoder.self_attn` (its output before the out-projection, every row and head
# dimension), its attention pattern a unit of `encoder.self_attn.pattern`, the feed-forward neurons
# are token-wise units and the residual sums stay visible. Edges into a head: `value` from the
# stream's features and `pattern` from its attention pattern, which add up to the head's score.

# %%
class RowTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 16)                # token-wise: one token per image row
        self.position = nn.Parameter(torch.zeros(8, 16))
        self.encoder = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, rows):                         # rows: (batch, 8 pixels, 8 rows)
        h = self.embed(rows.transpose(1, 2)) + self.position
        return self.head(self.encoder(h).mean(1))

rows_train = data.x_train.reshape(-1, 8, 8).transpose(1, 2)
rows_test = data.x_test.reshape(-1, 8, 8).transpose(1, 2)
torch.set_num_threads(1)  # a model this small trains faster on one thread
torch.manual_seed(0)
transformer = train_classifier(RowTransformer(), rows_train, data.y_train, epochs=15, batch_size=64)
torch.set_num_threads(2)
print(f"test accuracy: {accuracy(transformer, rows_test, data.y_test):.3f}")

# %%
aviz = NetViz(transformer, rows_test[:8], reference=rows_train[:256], n_steps=16)
aviz

# %%
aex = aviz.explainer
print(aex.graph.to_text())
asnap = aviz.snapshot
into = sum(asnap.edge_scores[(b.src, b.dst)][0].sum(1) for b in aex.graph.blocks_into("encoder.self_attn"))
print("head scores:", asnap.node_scores["encoder.self_attn"][0].round(3),
      "= value + pattern edges:", into.round(3))
assert abs(into - asnap.node_scores["encoder.self_attn"][0]).max() < 1e-4

# %% [markdown]
# One intervention: zero the head with the largest score for the first digit (its output slice is
# replaced before the out-projection, at every row, also along the integration path). A score is the
# head's conductance on the path from the blank image, not the effect of removing the head: the two
# can differ in sign, as they do here.

# %%
scores = asnap.node_scores["encoder.self_attn"][0]
head = int(abs(scores).argmax())
label = int(aviz.target[0])
before = float(aex.clean_probabilities()[0, label])
aviz.select("encoder.self_attn", head)
after = aviz.intervene(mode="zero")
print(f"zero head {head} (score {scores[head]:.2f}): probability of {label} {before:.3f} → "
      f"{float(after.probabilities[0, label]):.3f}")
assert abs(float(after.probabilities[0, label]) - before) > 0.05  # the head matters for this digit
assert after.node_scores["encoder.self_attn"][:, head].max() == 0


# %% [markdown]
# ## An LSTM
#
# Each digit read as a sequence: its 8 rows, one per step, each row's 8 pixels the features, into an
# `nn.LSTM(8, 16)` whose last step goes to a linear head. NetViz reads a sequence as
# `(batch, features, steps)` (the features are the input units), so the forward moves the features
# last. The LSTM is one unit layer, `lstm`: a unit is a hidden unit, its score the conductance of its
# hidden state summed over the 8 steps, and the input reaches it by a `recurrent` edge block (per
# hidden unit and pixel, the norm of its four gates' input weights).

# %%
class DigitsLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):                        # x: (batch, 8 pixels, 8 rows)
        out, _ = self.lstm(x.transpose(1, 2))    # (batch, 8 steps, 16 hidden units)
        return self.head(out[:, -1])

def as_rows(x):
    return x.reshape(-1, 8, 8).transpose(1, 2)   # (batch, pixel in the row, row)

torch.manual_seed(0)
lstm = train_classifier(DigitsLSTM(), as_rows(data.x_train), data.y_train, epochs=12, lr=2e-2)
lstm_accuracy = accuracy(lstm, as_rows(data.x_test), data.y_test)
print(f"test accuracy: {lstm_accuracy:.3f}")
assert lstm_accuracy > 0.9

# %%
lviz = NetViz(lstm, as_rows(data.x_test[:8]), reference=as_rows(data.x_train[:256]), n_steps=16)
lviz

# %% [markdown]
# The engine runs the recurrence itself, step by step from the module's own weights, so an
# intervention on a hidden unit acts **at every step**: zeroing it sets its h_t to 0 each step, and the
# next step reads the zero. Zero the three hidden units that carry most of the decision for the first
# digit:

# %%
lex = lviz.explainer
print(lex.graph.to_text())
lsnap = lviz.snapshot
top = [int(u) for u in lsnap.node_scores["lstm"][0].argsort()[::-1][:3]]
label = int(lviz.target[0])
before = float(lex.clean_probabilities()[0, label])
after = lviz.intervene("lstm", top, mode="zero")
print(f"zero lstm{top}: probability of {label} {before:.3f} → "
      f"{float(after.probabilities[0, label]):.3f}; predicted {int(after.prediction[0])}")
assert float(after.probabilities[0, label]) < before


# %% [markdown]
# ## What is refused
#
# A model NetViz cannot draw exactly is refused with the operation, the line of your code, what is
# supported and a workaround, never drawn with parts missing. An LSTM cell stepped in a Python loop
# and a transformer decoder, for example:

# %%
class CellLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(8, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        h = c = x.new_zeros(x.shape[0], 16)
        for row in range(8):
            h, c = self.cell(x[:, :, row], (h, c))
        return self.head(h)

try:
    Explainer(CellLoop(), as_rows(data.x_test[:2]))
except Exception as error:
    print(type(error).__name__, "-", error)


# %%
class TinyDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(17, 16, padding_idx=0)
        self.decoder = nn.TransformerDecoderLayer(16, 2, 32, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, ids):
        h = self.embedding(ids)
        return self.head(self.decoder(h, h).mean(1))

try:
    Explainer(TinyDecoder(), ids_test[:2])
except Exception as error:
    print(type(error).__name__, "-", error)
