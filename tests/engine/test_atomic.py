"""A failed or interrupted call leaves the Explainer exactly as before it; returned arrays are
read-only (editing one cannot corrupt the cache); the snapshot cache is bounded by bytes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget import Explainer, NetViz, NetVizError
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo import ZOO


class Trap:
    """A user hook that raises `error` at the n-th forward call after `arm(n)`."""

    def __init__(self, error: type[BaseException]) -> None:
        self.error, self.countdown = error, None

    def arm(self, n: int) -> None:
        self.countdown = n

    def __call__(self, *_) -> None:
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown <= 0:
                self.countdown = None
                raise self.error("injected")


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_interrupted_call_leaves_the_explainer_as_it_was(error):
    model = ZOO["sequential_mlp"]()
    trap = Trap(error)
    model[2].register_forward_hook(trap)
    x = torch.rand(4, 4, generator=torch.Generator().manual_seed(0))
    ex = Explainer(model, x, n_steps=4, reference=x)
    ex.intervene("0", [1], "mean")
    ex.intervene("2", [2], "zero")
    ex.undo()
    before = fingerprint(model)
    calls = [lambda: ex.intervene("0", [3], "resample"), ex.undo, ex.redo, ex.reset,
             lambda: ex.snapshot(dataset=True)]
    interrupted = 0
    for call in calls:
        for n in range(1, 8):  # fail at every forward pass the call makes, in turn
            state = (ex.history, ex.interventions, ex.can_undo, ex.can_redo)
            shown = ex.snapshot()
            ex._cache.clear()  # so that every call computes again
            trap.arm(n)
            try:
                call()
            except error:
                interrupted += 1
                assert (ex.history, ex.interventions, ex.can_undo, ex.can_redo) == state
                trap.countdown = None
                assert ex.snapshot().equals(shown)
            else:
                trap.countdown = None
                break  # the call made fewer than n passes: done with it
            finally:
                trap.countdown = None
            # restore the starting point for the next call
            while len(ex.interventions) > 1:
                ex.undo()
    assert interrupted >= 10
    assert_unchanged(model, before)


def test_an_interrupted_view_intervention_changes_nothing():
    model = ZOO["sequential_mlp"]()
    trap = Trap(KeyboardInterrupt)
    model[2].register_forward_hook(trap)
    viz = NetViz(model, torch.rand(2, 4), n_steps=4)
    viz.select("0", 1)
    trap.arm(3)
    with pytest.raises(KeyboardInterrupt):
        viz.intervene(mode="zero")
    trap.countdown = None
    assert viz.explainer.history == [] and viz.view.state["interventions"] == []
    assert viz.intervene(mode="zero").interventions == ("zero 0[1]",)


def test_returned_arrays_are_read_only():
    model = ZOO["sequential_mlp"]()
    ex = Explainer(model, torch.rand(3, 4, generator=torch.Generator().manual_seed(0)), n_steps=4)
    snap = ex.snapshot(dataset=True)
    clean = ex.circuit(0)
    arrays = [snap.logits, snap.probabilities, snap.target, snap.node_scores["2"], snap.activations["0"],
              next(iter(snap.edge_scores.values())), snap.input_scores, snap.delta,
              snap.dataset.mean["0"], ex.clean_probabilities()]
    for array in arrays:
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 7.0
    editable = np.array(snap.node_scores["2"])  # a copy is the way to edit
    editable[...] = 7.0
    assert ex.circuit(0) == clean and ex.snapshot().equals(snap)


def test_the_cache_is_bounded_by_bytes():
    model = ZOO["sequential_mlp"]()
    ex = Explainer(model, torch.rand(3, 4), n_steps=4)
    size = ex.snapshot().nbytes
    bounded = Explainer(model, torch.rand(3, 4), n_steps=4, cache_bytes=3 * size)
    for unit in range(8):
        bounded.intervene("0", [unit], "zero")
        assert len(bounded._cache) <= 3 and bounded._cache.nbytes <= 3 * size
    tiny = Explainer(model, torch.rand(3, 4), n_steps=4, cache_bytes=1)
    assert tiny.snapshot().equals(tiny.snapshot()) and len(tiny._cache) == 1  # the latest is kept
    with pytest.raises(NetVizError, match="cache_bytes: expected a positive integer"):
        Explainer(model, torch.rand(3, 4), cache_bytes=0)
