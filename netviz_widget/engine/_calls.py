"""How an Explainer runs each public call: one at a time, with torch threads sized to the work.

- **Serialised.** A re-entrant lock per Explainer: calls from several threads run one after
  the other (a call that makes nested public calls keeps the lock).
- **Threads by the size of the work.** These networks are small: torch's intra-op thread pool
  costs more than it gains, and on a busy machine every operator waits for a descheduled worker
  (`benchmarks/bench_engine.py`: the CNN round trip 35–80× slower with torch's default threads).
  With ``num_threads="auto"`` a call whose work (multiply-adds × rows) is below `CROSSOVER` runs
  on one thread; larger work keeps the caller's setting. An int pins the count; None leaves
  torch's setting alone.
- **The caller's setting comes back.** `torch.get_num_threads()` is restored after every call,
  also when it raises (the count is per thread with torch's OpenMP backend: only the calling
  thread's setting is touched).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch

from netviz_widget.errors import InputError

AUTO = "auto"
# Work (multiply-adds of one pass × rows) above which more than one thread may pay. Measured with
# `python benchmarks/bench_engine.py --crossover` on the shared 2-core machine: one thread was
# faster for every size measured up to 1.4e9, quiet and loaded (docs/reliability.md).
CROSSOVER = 2 ** 30

F = TypeVar("F", bound=Callable[..., Any])


def check_num_threads(value: object) -> int | str | None:
    """Validate the `num_threads` option: "auto", a positive int, or None."""
    if value is None or value == AUTO:
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise InputError("num_threads", "'auto', a positive integer or None (torch's own setting)", value)


def multiply_adds(graph: Any) -> int:
    """Multiply-adds of one example's forward pass through the graph's Linear/Conv modules."""
    total = 0
    for block in graph.blocks:
        if block.module is None:
            continue
        weight = getattr(graph.model.get_submodule(block.module), "weight", None)
        shape = graph.layer(block.dst).shape
        positions = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        total += (weight.numel() if isinstance(weight, torch.Tensor) else block.weight.size) * positions
    return max(total, 1)


def choose_threads(policy: int | str | None, work: int) -> int | None:
    """Intra-op threads for a call of `work` under `policy` (None: leave the setting)."""
    if policy is None or isinstance(policy, int):
        return policy
    return 1 if work < CROSSOVER else None


@contextmanager
def intra_op_threads(count: int | None) -> Iterator[None]:
    """Run the body with `count` torch threads (None: unchanged); restore the caller's count."""
    saved = torch.get_num_threads()
    try:
        if count is not None and count != saved:
            torch.set_num_threads(count)
        yield
    finally:
        if torch.get_num_threads() != saved:
            torch.set_num_threads(saved)


def public(rows: str = "path") -> Callable[[F], F]:
    """Decorate an Explainer method: hold the Explainer's lock, check the model for changes,
    and size torch's threads by the call's work (`rows`: "path" = batch × path points,
    "batch" = one forward of the inputs, "dataset" = a chunk of the reference over the path)."""
    def decorate(method: F) -> F:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with self._lock, intra_op_threads(choose_threads(self.num_threads, self._work(rows))):
                self._sync_with_model()
                return method(self, *args, **kwargs)
        return call  # type: ignore[return-value]
    return decorate


def small_work_threads(function: F) -> F:
    """Run `function` with the library's choice for small work (one intra-op thread) and give
    the caller's thread count back afterwards, also when it raises: for the studies and the
    demo, whose training and scoring passes are all far below `CROSSOVER`."""
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with intra_op_threads(choose_threads(AUTO, 0)):
            return function(*args, **kwargs)
    return call  # type: ignore[return-value]
