"""Bad input gets a NetVizError naming the argument, what was expected and what was given."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, LayeredGraph, NetVizError
from netviz_widget.errors import GraphError, InputError, ModelError
from tests.zoo import ZOO, example_input


class Raises(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        raise RuntimeError("broken forward")


class ReturnsTuple(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x), x


class ReturnsDict(nn.Module):
    def __init__(self, keys=("logits", "features")):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.keys = keys

    def forward(self, x):
        return {self.keys[0]: self.fc(x), self.keys[1]: x}


CASES = {
    "not a module": (lambda: "model", torch.zeros(2, 4), ModelError, "model", "nn.Module"),
    "not a tensor": (ZOO["sequential_mlp"], [[0.0] * 4], InputError, "example_input", "torch.Tensor"),
    "integer dtype": (ZOO["sequential_mlp"], torch.zeros(2, 4, dtype=torch.long), InputError,
                      "example_input", "floating-point"),
    "no batch dim": (ZOO["sequential_mlp"], torch.zeros(4), InputError, "example_input", "batch"),
    "empty batch": (ZOO["sequential_mlp"], torch.zeros(0, 4), InputError, "example_input",
                    "non-empty"),
    "nan input": (ZOO["sequential_mlp"], torch.tensor([[0.0, float("nan"), 0.0, 0.0]]), InputError,
                  "example_input", "finite"),
    "inf input": (ZOO["sequential_mlp"], torch.tensor([[0.0, float("inf"), 0.0, 0.0]]), InputError,
                  "example_input", "finite"),
    "wrong width": (ZOO["sequential_mlp"], torch.zeros(2, 5), ModelError, "model", "forward"),
    "forward raises": (Raises, torch.zeros(2, 4), ModelError, "model", "broken forward"),
    "ambiguous dict output": (lambda: ReturnsDict(("a", "b")), torch.zeros(2, 4), ModelError, "model",
                              "'logits' key"),
    "no parametric layer": (lambda: nn.Sequential(nn.ReLU()), torch.zeros(2, 4), GraphError,
                            "model", "Linear or Conv"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_from_module_rejects_bad_input_clearly(case):
    build, x, error, argument, words = CASES[case]
    with pytest.raises(error) as info:
        LayeredGraph.from_module(build(), x)
    assert isinstance(info.value, NetVizError)
    message = str(info.value)
    assert message.startswith(f"{argument}: expected"), message
    assert words in message and "got" in message


@pytest.mark.parametrize("build", [ReturnsTuple, ReturnsDict])
def test_tuple_and_dict_outputs_explain_the_logits(build):
    model = build()
    graph = LayeredGraph.from_module(model, torch.rand(2, 4))
    torch.testing.assert_close(graph.forward(torch.ones(1, 4)), model.fc(torch.ones(1, 4)))


def test_unknown_layer_lists_the_known_ones():
    model = ZOO["custom_mlp"]()
    graph = LayeredGraph.from_module(model, example_input(model))
    with pytest.raises(GraphError, match=r"layer: expected one of \['input', 'fc1', 'fc2', 'head'\]"):
        graph.layer("fc9")


def test_error_descriptions_stay_short():
    error = InputError("x", "something", torch.zeros(1000, 1000))
    assert "shape (1000, 1000)" in str(error) and len(str(error)) < 200
    assert len(str(InputError("x", "short", "y" * 500))) < 150


def test_a_tuple_of_tensors_is_described_not_dumped():
    # two inputs passed as a tuple: the message used to hold both tensors' full reprs
    error = InputError("inputs", "a tensor", (torch.zeros(300, 4), torch.zeros(300, 3)))
    message = str(error)
    assert "a tuple of 2: (a torch.float32 tensor of shape (300, 4) on cpu, a torch.float32 tensor" in message
    assert len(message) < 250 and "0., 0." not in message
    long_list = [torch.zeros(2)] * 10
    assert "… (10 items)" in str(InputError("x", "y", long_list))
    assert "list [1, 2.5, 'a']" in str(InputError("x", "y", [1, 2.5, "a"]))
    assert len(str(InputError("x", "y", ["z" * 500]))) < 200


@pytest.mark.parametrize("given, words", [
    ([torch.zeros(2, 4)], "Several inputs go to Explainer / NetViz as a tuple (a, b)"),
    ({"a": torch.zeros(2, 4)}, "Several inputs go to Explainer / NetViz as a tuple (a, b)"),
    (np.zeros((2, 4), dtype=np.float32), "torch.as_tensor(x, dtype=torch.float32)"),
])
def test_inputs_that_are_not_one_tensor_get_a_way_out(given, words):
    model = ZOO["sequential_mlp"]()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InputError) as info:
        Explainer(model, given)
    assert str(info.value).startswith("inputs: expected a torch.Tensor batch")
    assert words in str(info.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
