"""Families NetViz cannot draw are refused, naming the operation, the user's source line, what
is supported and a workaround (issue 13, item 8); nothing is dropped silently (item 2)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from netviz_widget import Explainer, LayeredGraph
from netviz_widget.errors import GraphError
from tests.model_state import assert_unchanged, fingerprint

SUPPORTED = r"expected operations NetViz can draw \(Linear and Conv1d/2d/3d layers"


class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class TinyTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(x).mean(1))


class TiedAutoencoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(torch.relu(self.encode(x)), self.encode.weight.t())


class TokenWise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.fc(x)).sum(1))


class Permuted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x).permute(0, 2, 1)
        return self.fc(h.reshape(-1, 4))


class Stacked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.a(x), self.b(x)], dim=2).sum(2)


class Difference(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) - self.b(x)


class ScalarGate(nn.Module):
    """A layer whose units are reduced to a scalar before they scale the main path."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Linear(3, 4)
        self.gate = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) * torch.sigmoid(self.gate(x)).mean()


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.fc(a + b)


def here(code: str) -> str:
    """Regex for 'test_refusals.py:<line> in forward: `<code>`'."""
    return rf"test_refusals\.py:\d+ in forward: `{code}`"


CASES = [
    (LSTMClassifier, (2, 5, 3), r"got \"LSTM 'lstm'\"",  # a (batch, steps, features) input
     here(r"out, _ = self\.lstm\(x\)") + r": a recurrent layer reads the features on the last "
     r"axis of \(\d+, 5, 3\), but its units are on axis 1"),
    (TinyTransformer, (2, 5, 4), r"got \"MultiheadAttention 'encoder\.self_attn'\"",  # units on axis 1
     here(r"return self\.fc\(self\.encoder\(x\)\.mean\(1\)\)") + r": attention reads the features "
     r"on the last axis of a \(batch, positions, 4\) tensor, but its input carries 5 units on axis 1"),
    (TiedAutoencoder, (2, 4), r"got 'F\.linear'",
     here(r"return F\.linear.*") + r": a functional call using the weight 'encode\.weight'"),
    (TokenWise, (2, 5, 3), r"got \"Linear 'fc'\"",
     r"a Linear over the last axis of a 3-d tensor \(\d+, 5, 3\) whose units are on axis 1.*"
     r"Workaround: for a token-wise Linear, pass \(batch, features, positions\)"),
    (Permuted, (2, 3, 5), r"got 'Tensor\.reshape'",  # the permute makes units token-wise
     here(r"return self\.fc\(h\.reshape\(-1, 4\)\)") + r": it reshapes token-wise units"),
    (Stacked, (2, 3), r"got 'torch\.stack'", "it combines the units of several layers"),
    (Difference, (2, 3), r"got 'operator\.sub'", "it combines the units of several layers"),
    (ScalarGate, (2, 3), r"got 'Tensor\.mean'", here(r"return self\.main.*") + ": it changes the unit axis"),
]


@pytest.mark.parametrize("build, shape, operation, detail", CASES, ids=[c[0].__name__ for c in CASES])
def test_refusal_names_the_operation_source_line_and_a_workaround(build, shape, operation, detail):
    torch.manual_seed(0)
    model = build().eval()
    before = fingerprint(model)
    with pytest.raises(GraphError) as info:
        LayeredGraph.from_module(model, torch.rand(*shape))
    message = str(info.value)
    assert message.startswith("model: ")
    for pattern in (SUPPORTED, operation, detail, "Workaround: "):
        assert __import__("re").search(pattern, message), (pattern, message)
    assert_unchanged(model, before)


def test_several_inputs_are_refused_with_a_workaround():
    with pytest.raises(GraphError, match=r"expected a forward that takes one input tensor, got "
                       r"'a forward with 2 inputs'\. Give Explainer / NetViz the inputs as a "
                       r"tuple \(a, b\)"):
        LayeredGraph.from_module(TwoInputs(), torch.rand(2, 3))


def test_flattened_token_embeddings_say_so():
    # token ids are explained from the embedding on; flattening (positions × dims) is refused
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(GraphError, match=r"Flatten '1'.*it reshapes token-wise units \(1, 3, 4\) "
                       r"to \(1, 12\)\. Workaround: reduce over the positions"):
        Explainer(model, torch.randint(0, 10, (2, 3)))


def test_token_ids_that_do_not_enter_an_embedding_first_say_so():
    class Offset(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding, self.head = nn.Embedding(10, 4), nn.Linear(4, 2)

        def forward(self, ids):
            return self.head(self.embedding(ids + 1).mean(1))

    with pytest.raises(GraphError, match=r"got 'operator\.add'\. operator\.add at test_refusals\.py:"
                       r"\d+ in forward: .*token ids that go straight into one nn\.Embedding"):
        Explainer(Offset(), torch.randint(0, 8, (2, 3)))


def test_untraceable_models_refuse_unknown_families_by_module_name():
    class Untraceable(LSTMClassifier):
        def forward(self, x):
            if x.sum() > -1e9:  # data-dependent control flow: forward hooks instead of fx
                x = x * 1.0
            return super().forward(x)

    with pytest.warns(UserWarning, match="torch.fx could not trace"), \
            pytest.raises(GraphError, match=r"LSTM 'lstm' \(torch\.fx could not trace the model, so "
                          r"no source line is known\): a recurrent layer is drawn only in a model "
                          r"torch\.fx can trace"):
        LayeredGraph.from_module(Untraceable(), torch.rand(2, 5, 3))


def test_a_refusal_after_an_embedding_names_the_users_source_line():
    class TinyDecoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(10, 8, padding_idx=0)
            self.decoder = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
            self.head = nn.Linear(8, 2)

        def forward(self, ids):
            h = self.embedding(ids)
            return self.head(self.decoder(h, h).mean(1))

    with pytest.raises(GraphError, match=r"TransformerDecoderLayer 'decoder' at test_refusals\.py:\d+ "
                       r"in forward: `return self\.head\(self\.decoder\(h, h\)\.mean\(1\)\)`: "
                       r"decoder layers and nn\.Transformer \(cross-attention\) are not drawn as units yet"):
        Explainer(TinyDecoder(), torch.randint(1, 10, (2, 5)))
