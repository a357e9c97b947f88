"""Threads: an Explainer serialises its work, sizes torch's threads to it and gives the caller's
setting back; calls from 8 threads give the single-threaded results, the model stays
bit-identical, and the user's own forward in another thread never sees the engine's probing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, NetVizError
from tests.model_state import fingerprint


class Untraceable(nn.Module):
    """Data-dependent control flow: fx cannot trace it, so the forward-hook fallback runs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.act, self.fc2 = nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8, momentum=0.0)  # train mode: batch statistics, stats unchanged
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.detach().sum()) > -1e9:
            x = self.act(self.fc1(x))
        return self.head(self.bn(self.fc2(x)))


@pytest.fixture
def model_and_inputs():
    model = Untraceable().train()
    x = torch.rand(3, 6, generator=torch.Generator().manual_seed(1))
    return model, x


def make(model: nn.Module, x: torch.Tensor, **options) -> Explainer:
    with pytest.warns(UserWarning, match="torch.fx could not trace"):
        return Explainer(model, x, n_steps=4, reference=x, **options)


CALLS = {
    "snapshot": lambda ex: ex.snapshot(),
    "intervene": lambda ex: ex.intervene("fc1", [1], "mean"),
    "undo": lambda ex: ex.undo(),
    "redo": lambda ex: ex.redo(),
    "reset": lambda ex: ex.reset(),
    "evaluate": lambda ex: ex.evaluate(),
    "gradient_times_activation": lambda ex: ex.gradient_times_activation("fc2"),
    "circuit": lambda ex: ex.circuit(0),
    "paths": lambda ex: ex.paths(2),
    "explain": lambda ex: ex.explain(0),
    "clean_probabilities": lambda ex: ex.clean_probabilities(),
    "neuron": lambda ex: ex.neuron("fc1", 0),
    "dataset_scores": lambda ex: ex.dataset_scores(progress=False),
    "to_frame": lambda ex: ex.to_frame(),
    "with_inputs": lambda ex: ex.with_inputs(ex.inputs[:2]),
}


@pytest.mark.filterwarnings("ignore:torch.fx could not trace")
@pytest.mark.parametrize("policy, seen", [("auto", 1), (2, 2), (None, 3)])
def test_every_public_call_restores_the_callers_thread_count(model_and_inputs, policy, seen):
    model, x = model_and_inputs
    during: list[int] = []
    model.fc1.register_forward_hook(lambda *_: during.append(torch.get_num_threads()))
    saved = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        ex = make(model, x, num_threads=policy)
        assert torch.get_num_threads() == 3
        computed = set()
        for name, call in CALLS.items():
            during.clear()
            call(ex)
            assert torch.get_num_threads() == 3, name
            assert set(during) <= {seen}, (name, during)  # the policy applied inside
            computed |= {name} if during else set()  # others answer from the snapshot cache
        assert computed >= {"snapshot", "intervene", "evaluate", "gradient_times_activation",
                            "explain", "neuron", "dataset_scores", "with_inputs"}
        broken = {"armed": False}

        def fail(*_):
            if broken["armed"]:
                raise RuntimeError("injected")
        model.fc2.register_forward_hook(fail)
        ex = make(model, x, num_threads=policy)  # copies the user's hooks, the failing one too
        broken["armed"] = True
        with pytest.raises(NetVizError):
            Explainer(model, x, num_threads=policy)
        assert torch.get_num_threads() == 3
        for name, call in CALLS.items():
            if name in ("reset", "undo", "redo", "clean_probabilities"):
                continue  # no forward pass to fail in (cached clean state)
            with pytest.raises(Exception):  # noqa: B017 - whatever the call wraps it in
                call(ex)
            assert torch.get_num_threads() == 3, name
    finally:
        torch.set_num_threads(saved)


def test_num_threads_option_is_validated():
    model = nn.Sequential(nn.Linear(4, 3))
    for bad in (0, -1, "many", 1.5, True):
        with pytest.raises(NetVizError, match="num_threads: expected 'auto', a positive integer or None"):
            Explainer(model, torch.rand(2, 4), num_threads=bad)


def same(a, b) -> bool:
    if hasattr(a, "equals"):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if hasattr(a, "input_scores"):  # NeuronView
        return np.array_equal(a.input_scores, b.input_scores) and \
            np.array_equal(a.top_examples, b.top_examples)
    return a == b


@pytest.mark.filterwarnings("ignore:torch.fx could not trace")
def test_eight_threads_of_mixed_calls_equal_one_thread(model_and_inputs):
    model, x = model_and_inputs
    user_hook_calls = []
    handle = model.head.register_forward_hook(lambda *_: user_hook_calls.append(1))
    with torch.no_grad():
        user_expected = model(x)  # train mode: batch statistics; momentum 0 keeps the stats
    before = fingerprint(model)
    ex = make(model, x)
    units = range(8)

    def ablated(ex, u):
        with ex.lock:  # one unit of work: intervene and undo, no other call in between
            snap = ex.intervene("fc1", [u], "zero")
            ex.undo()
            return snap

    ops = [lambda ex, i: ex.snapshot(), lambda ex, i: ablated(ex, units[i % 8]),
           lambda ex, i: ex.evaluate(), lambda ex, i: ex.neuron("fc2", i % 8),
           lambda ex, i: ex.circuit(i % 3)]
    expected = {(k, i % 24): ops[k](ex, i) for k in range(len(ops)) for i in range(24)}
    results, errors, user_outputs = [], [], []
    stop = threading.Event()

    def worker(seed: int) -> None:
        try:
            for i in range(25):
                k, j = (seed + i) % len(ops), (seed * 7 + i) % 24
                results.append(((k, j), ops[k](ex, j)))
        except BaseException as error:
            errors.append(error)

    ready = threading.Event()

    def user() -> None:  # the user's own forward meanwhile: never ablated, never in eval mode
        with torch.no_grad():
            user_outputs.append(model(x))
            ready.set()
            while not stop.is_set():
                user_outputs.append(model(x))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    user_thread = threading.Thread(target=user)
    user_thread.start()
    ready.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    user_thread.join()
    assert errors == []
    assert len(results) == 8 * 25
    assert all(same(result, expected[key]) for key, result in results)
    # equal up to float rounding: MKL's thread count, which the workers set per call, is global;
    # an ablated or eval-mode forward would differ by far more
    assert len(user_outputs) > 1
    assert all(torch.allclose(out, user_expected, rtol=0, atol=1e-5) for out in user_outputs)
    after = fingerprint(model)
    # the user's forwards (train mode) counted their batches; the engine never ran BatchNorm in
    # train mode, and left parameters, buffers, flags and hooks exactly as they were
    n_user = len(user_outputs) + 1
    assert int(after["state"]["bn.num_batches_tracked"]) == int(before["state"]["bn.num_batches_tracked"]) \
        + n_user - 1
    for key in before["state"]:
        if key != "bn.num_batches_tracked":
            assert torch.equal(before["state"][key], after["state"][key]), key
    assert {k: v for k, v in after.items() if k != "state"} == \
        {k: v for k, v in before.items() if k != "state"}
    assert model.training and all(m.training for m in model.modules())
    handle.remove()
    assert all(len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0 for m in model.modules())
