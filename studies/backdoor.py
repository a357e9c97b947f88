"""Backdoors found and switched off without knowing them (issue 16, study 1).

An attacker poisons a share of the training set: inputs of other classes carry a trigger and are
relabelled to a target class drawn per seed. Two triggers: a BadNets patch (a white square in the
bottom-right corner) and a blended trigger (Chen et al. 2017: the image mixed with a fixed noise
pattern at α = 0.2). Three models: the digits MLP 64-64-32-10 (8×8 digits), a Fashion-MNIST MLP
784-64-32-10 and a Fashion-MNIST CNN (conv 8 and 16 channels, fc 32: its units are conv channels
and neurons), both on a training subset (``--n-train``).

The defender has the model and a small clean validation set only — not the trigger, the target or
the training set. The unit-switching defences (tool, random, oracle, fine-pruning's pruning step)
are tuned on validation at one shared clean-accuracy budget (at most `BUDGET` of validation
accuracy lost); the retraining steps are not held to it and use fixed, untuned settings
(`tune_steps` Adam steps at lr 1e-3). Every reported number is on the test set: clean
accuracy, and attack success rate (ASR: triggered test inputs of other classes classified as the
target). Defences (see `backdoor_defences.py`):

- ``tool``: Neural Cleanse's reverse-engineering picks the most suspicious class (smallest mask);
  the Explainer's conductance toward it rises most, from clean to reverse-triggered validation
  inputs, in the units switched off (zero interventions, prefix chosen on validation);
- ``random``: a random order of the same hidden units, given the same prefix search;
- ``oracle``: the tool's rule ranked and tuned with the *real* trigger (a reference, not a
  guaranteed upper bound: the greedy budgeted search can do worse with it);
- ``tool + fine-tuning``: the tool's order switched off until the reversed trigger fails on 90% of
  validation inputs, then fine-tuned on validation with those units kept off (fine-pruning with
  the tool's order instead of dormancy);
- ``neural cleanse``: unlearning with the reversed trigger (fine-tuning);
- ``fine-pruning`` (Liu et al. 2018) and plain ``fine-tuning`` on the validation set.

Detection: Neural Cleanse's flag (anomaly index > 2) and class; activation clustering and
spectral signatures, which need the poisoned training set. Curves: test ASR and accuracy against
the number of units switched off, for the tool's, the random and the dormant-first order.

    python -m studies.backdoor --seeds 10 --out docs/results/
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from netviz_widget import datasets
from netviz_widget.engine._calls import small_work_threads
from netviz_widget.engine.explainer import Explainer
from studies import backdoor_defences as bd
from studies import fashion
from studies.common import experiment_parser
from studies.protocol import Split, train_val_split

BUDGET = 0.02
TRIGGERS = ("patch", "blend")
BLEND_ALPHA = 0.2
DEFENCES = ("none", "tool", "random", "oracle", "tool + fine-tuning", "neural cleanse", "fine-pruning",
            "fine-tuning")
CURVE_FRACTIONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True, kw_only=True)
class Task(Split):
    """One model family on one dataset, with its train / validation / test split (flat inputs;
    the split's tensors come first and positionally, the task's own fields by keyword)."""

    name: str
    side: int
    widths: tuple[int, ...]
    epochs: int
    lr: float
    nc_steps: int
    tune_steps: int

    def shape(self, x: torch.Tensor) -> torch.Tensor:
        """Model inputs (the MLPs take flat inputs)."""
        return x

    def build(self, seed: int) -> nn.Sequential:
        """The untrained model."""
        return datasets.mlp(self.widths, seed=seed)

    @property
    def last_hidden(self) -> str:
        """The module whose units fine-pruning removes."""
        return f"fc{len(self.widths) - 2}"


@dataclass(frozen=True)
class ImageTask(Task):
    """A CNN task (`fashion.cnn`: conv1-conv2-fc1-fc2, ``widths`` = (hidden,)): flat inputs are
    reshaped to (n, 1, side, side); its units are conv channels and fc1's neurons; fine-pruning
    prunes the last convolutional layer's channels, as Liu et al. 2018 do."""

    channels: tuple[int, int] = (8, 16)

    def shape(self, x: torch.Tensor) -> torch.Tensor:
        """Model inputs: images (n, 1, side, side)."""
        return x.reshape(len(x), 1, self.side, self.side)

    def build(self, seed: int) -> nn.Sequential:
        """The untrained CNN."""
        return fashion.cnn(seed, self.channels, self.widths[0])

    @property
    def last_hidden(self) -> str:
        """The last convolutional layer."""
        return "conv2"


def load_task(name: str, seed: int, n_train: int = 10_000, n_test: int | None = None,
              epochs: int | None = None, nc_steps: int = 120, tune_steps: int = 200) -> Task:
    """``digits-mlp``, ``fashion-mlp`` or ``fashion-cnn``, split for `seed` (validation: 10% / 5%
    of training); `nc_steps` reverse-engineering and `tune_steps` fine-tuning steps."""
    if name == "digits-mlp":
        data = datasets.load_digits_split()
        split = train_val_split(data.x_train, data.y_train, data.x_test, data.y_test, 0.1, seed)
        return Task(**vars(split), name=name, side=8, widths=(64, 64, 32, 10), epochs=epochs or 30, lr=1e-2,
                    nc_steps=nc_steps, tune_steps=tune_steps)
    if name in ("fashion-mlp", "fashion-cnn"):
        data = datasets.fashion_mnist()
        rows = torch.from_numpy(np.random.default_rng(seed).choice(len(data.y_train), n_train, replace=False))
        test = slice(0, n_test)
        split = train_val_split(data.x_train[rows].reshape(n_train, -1), data.y_train[rows],
                                data.x_test[test].reshape(-1, 784), data.y_test[test], 0.05, seed)
        if name == "fashion-cnn":
            return ImageTask(**vars(split), name=name, side=28, widths=(32,), epochs=epochs or 6, lr=2e-3,
                             nc_steps=nc_steps, tune_steps=tune_steps)
        return Task(**vars(split), name=name, side=28, widths=(784, 64, 32, 10), epochs=epochs or 8, lr=2e-3,
                    nc_steps=nc_steps, tune_steps=tune_steps)
    raise ValueError(f"unknown task {name!r}")


# ------------------------------------------------------------------ the attack
def blend_pattern(side: int) -> torch.Tensor:
    """The blended trigger's fixed noise image, flat (side²,)."""
    return torch.from_numpy(np.random.default_rng(12345).random(side * side).astype(np.float32))


def trigger_function(kind: str, side: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Flat inputs → triggered copies: ``patch`` (white k×k bottom-right square, k = side // 9 + 2)
    or ``blend`` ((1 − α)·x + α·noise)."""
    if kind == "patch":
        k = side // 9 + 2
        square = np.zeros((side, side), dtype=bool)
        square[-k:, -k:] = True
        mask = torch.from_numpy(square.reshape(-1))

        def patch(x: torch.Tensor) -> torch.Tensor:
            out = x.clone()
            out[:, mask] = 1.0
            return out
        return patch
    if kind == "blend":
        pattern = blend_pattern(side)
        return lambda x: (1 - BLEND_ALPHA) * x + BLEND_ALPHA * pattern
    raise ValueError(f"unknown trigger {kind!r}")


def poison(x: torch.Tensor, y: torch.Tensor, rate: float, target: int, trigger: Callable,
           seed: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Trigger `rate` × N training inputs of classes other than `target` and relabel them."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(y.numpy() != target)
    chosen = np.sort(rng.choice(candidates, round(rate * len(y)), replace=False))
    mask = np.zeros(len(y), dtype=bool)
    mask[chosen] = True
    x, y = x.clone(), y.clone()
    if chosen.size:
        index = torch.from_numpy(chosen)
        x[index] = trigger(x[index])
        y[index] = target
    return x, y, mask


def attack_success_rate(model: nn.Module, shape: Callable, x: torch.Tensor, y: torch.Tensor,
                        target: int, trigger: Callable) -> float:
    """Share of triggered inputs whose true class is not `target` that are classified as it."""
    keep = y != target
    with torch.no_grad():
        return float((model(shape(trigger(x[keep]))).argmax(1) == target).float().mean())


def target_of(seed: int) -> int:
    """The attacker's target class for `seed` (unknown to the defender)."""
    return int(np.random.default_rng(1000 + seed).integers(10))


# ------------------------------------------------------------------ one model
def _curves(task: Task, model: nn.Module, orders: dict[str, list[tuple[str, int]]], target: int,
            trigger: Callable) -> dict[str, list[dict]]:
    """Test accuracy and ASR after zeroing the first k units of each order, k on a fixed grid."""
    keep = task.y_test != target
    clean = Explainer(model, task.shape(task.x_test), n_steps=1)
    triggered = Explainer(model, task.shape(trigger(task.x_test[keep])), n_steps=1)
    y = task.y_test.numpy()
    curves = {}
    for name, order in orders.items():
        points = []
        for fraction in CURVE_FRACTIONS:
            units = order[:round(fraction * len(order))]
            points.append({"fraction": fraction,
                           "accuracy": float((bd.predictions(clean, units) == y).mean()),
                           "ASR": float((bd.predictions(triggered, units) == target).mean())})
        curves[name] = points
    return curves


def deep_prefix(order: list[tuple[str, int]], stamped: Explainer, label: int, success: float = 0.1,
                 limit: float = 0.5) -> list[tuple[str, int]]:
    """The shortest prefix of `order` (at most `limit` of it) after whose zeroing at most `success`
    of the reverse-triggered validation inputs still reach `label` (the longest allowed if none)."""
    k = 0
    for k in range(1, int(limit * len(order)) + 1):
        if float((bd.predictions(stamped, order[:k]) == label).mean()) <= success:
            break
    return order[:k]


@dataclass(frozen=True)
class Poisoned:
    """One seed's poisoned model with its task, target, trigger and poisoned training set."""

    task: Task
    model: nn.Module
    target: int
    trigger: Callable[[torch.Tensor], torch.Tensor]
    x: torch.Tensor
    y: torch.Tensor
    poisoned: np.ndarray


def train_poisoned(task_name: str, trigger_kind: str, rate: float, seed: int, **task_options) -> Poisoned:
    """Poison `task_name`'s training set for `seed` and train its model (deterministic given the
    arguments, so a later call retrains the same model)."""
    task = load_task(task_name, seed, **task_options)
    target, trigger = target_of(seed), trigger_function(trigger_kind, task.side)
    x, y, poisoned = poison(task.x_train, task.y_train, rate, target, trigger, seed)
    model = datasets.train_classifier(task.build(seed), task.shape(x), y, epochs=task.epochs, lr=task.lr,
                                      seed=seed)
    return Poisoned(task, model, target, trigger, x, y, poisoned)


def measure(task: Task, model: nn.Module, target: int, trigger: Callable, n_units: int) -> dict:
    """A defended model's row: test clean accuracy and ASR, units switched off, validation accuracy."""
    return {"clean accuracy": datasets.accuracy(model, task.shape(task.x_test), task.y_test),
            "ASR": attack_success_rate(model, task.shape, task.x_test, task.y_test, target, trigger),
            "units": n_units,
            "validation accuracy": datasets.accuracy(model, task.shape(task.x_val), task.y_val)}


def run_one(task_name: str, trigger_kind: str, rate: float, seed: int, **task_options) -> dict:
    """Train one poisoned model, run every defence and detector, measure on test."""
    trained = train_poisoned(task_name, trigger_kind, rate, seed, **task_options)
    task, model, target, trigger = trained.task, trained.model, trained.target, trained.trigger
    x, y, poisoned = trained.x, trained.y, trained.poisoned
    x_val, y_val = task.x_val, task.y_val
    # detection from clean data: Neural Cleanse's reversed triggers
    reversed_ = bd.reverse_triggers(model, task.shape, x_val, task.side, 10, task.nc_steps, seed=seed)
    norms = np.array([r.norm for r in reversed_])
    index = bd.anomaly_index(norms)
    suspect = int(np.argmax(index))
    stamped_val = reversed_[suspect].stamp(x_val, task.side)
    real_val = trigger(x_val[y_val != target])
    # the tool: conductance rise toward the suspect class, zeroed within the budget
    clean_explainer = Explainer(model, task.shape(x_val), n_steps=1)

    def search(order: list[tuple[str, int]], stamped: torch.Tensor, label: int) -> list[tuple[str, int]]:
        return bd.select_prefix(order, clean_explainer, y_val.numpy(),
                                Explainer(model, task.shape(stamped), n_steps=1), label, BUDGET)[0]
    rise = bd.conductance_rise(model, task.shape, x_val, stamped_val, suspect)
    tool_order = [(layer, unit) for layer, unit, _ in rise]
    rng = np.random.default_rng(seed)
    random_order = [tool_order[i] for i in rng.permutation(len(tool_order))]
    oracle_rise = bd.conductance_rise(model, task.shape, x_val[y_val != target], real_val, target)
    oracle_order = [(layer, unit) for layer, unit, _ in oracle_rise]
    chosen = {"tool": search(tool_order, stamped_val, suspect),
              "random": search(random_order, stamped_val, suspect),
              "oracle": search(oracle_order, real_val, target)}
    models: dict[str, tuple[nn.Module, int]] = {"none": (model, 0)}
    for name, units in chosen.items():
        layers: dict[str, list[int]] = {}
        for layer, unit in units:  # a unit layer is named after its Linear module
            layers.setdefault(layer, []).append(unit)
        models[name] = (bd.prune(model, layers), len(units))
    deep = deep_prefix(tool_order, Explainer(model, task.shape(stamped_val), n_steps=1), suspect)
    frozen: dict[str, list[int]] = {}
    for layer, unit in deep:
        frozen.setdefault(layer, []).append(unit)
    models["tool + fine-tuning"] = (bd.fine_tune(bd.prune(model, frozen), task.shape, x_val, y_val,
                                                 task.tune_steps, seed, frozen=frozen), len(deep))
    models["neural cleanse"] = (bd.unlearn(model, task.shape, x_val, y_val, reversed_[suspect], task.side,
                                           task.tune_steps, seed), 0)
    models["fine-pruning"] = bd.fine_prune(model, task.shape, task.last_hidden, x_val, y_val, BUDGET,
                                           task.tune_steps, seed)
    models["fine-tuning"] = (bd.fine_tune(model, task.shape, x_val, y_val, task.tune_steps, seed), 0)
    activation = Explainer(model, task.shape(x_val), n_steps=1).snapshot().activations
    dormant = sorted(tool_order, key=lambda unit: float(activation[unit[0]][:, unit[1]].mean()))
    detection = bd.training_set_detection(model, task.shape, x, y, poisoned, target, seed)
    results = {name: measure(task, defended, target, trigger, n_units)
               for name, (defended, n_units) in models.items()}
    return {"task": task_name, "trigger": trigger_kind, "rate": rate, "seed": seed, "target": target,
            "NC suspect": suspect, "NC anomaly index": float(index[suspect]),
            "NC flags": float(index[suspect] > 2.0), "NC finds target": float(suspect == target),
            "NC norms": norms.tolist(), **detection, "defences": results,
            "tool units": [f"{layer}[{unit}]" for layer, unit in chosen["tool"]],
            "curves": _curves(task, model, {"tool": tool_order, "random": random_order, "dormant": dormant},
                              target, trigger)}


@small_work_threads  # one intra-op thread for this small work (issue 21)
def run(seeds: int = 10, tasks: tuple[str, ...] = ("digits-mlp", "fashion-mlp"),
        triggers: tuple[str, ...] = TRIGGERS, rates: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1),
        progress: bool = True, **task_options) -> list[dict]:
    """Every task, trigger, poisoning rate and seed."""
    jobs = [(t, k, r, s) for t in tasks for k in triggers for r in rates for s in range(seeds)]
    return [run_one(*job, **task_options) for job in tqdm(jobs, disable=not progress, desc="models")]


def main(argv: list[str] | None = None) -> int:
    """CLI: run the study and write backdoor.json, backdoor.md and backdoor_curves.png."""
    from studies.backdoor_report import write_report

    parser = experiment_parser("backdoor", __doc__, seeds=10)
    parser.add_argument("--tasks", nargs="+", default=["digits-mlp", "fashion-mlp"],
                        help="digits-mlp, fashion-mlp, fashion-cnn")
    parser.add_argument("--triggers", nargs="+", default=list(TRIGGERS))
    parser.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.01, 0.05, 0.1])
    parser.add_argument("--n-train", type=int, default=10_000, help="Fashion-MNIST training subset")
    parser.add_argument("--n-test", type=int, default=None,
                        help="Fashion-MNIST: the first N test images (all 10,000 if not given)")
    parser.add_argument("--nc-steps", type=int, default=120, help="Neural Cleanse's steps per class")
    args = parser.parse_args(argv)
    runs = run(args.seeds, tuple(args.tasks), tuple(args.triggers), tuple(args.rates), n_train=args.n_train,
               n_test=args.n_test, nc_steps=args.nc_steps)
    config = {"seeds": args.seeds, "tasks": args.tasks, "triggers": args.triggers, "rates": args.rates,
              "budget": BUDGET, "n_test (fashion)": args.n_test, "nc_steps": args.nc_steps,
              "blend_alpha": BLEND_ALPHA, "n_train (fashion)": args.n_train}
    return write_report(args.out, runs, config)


if __name__ == "__main__":
    raise SystemExit(main())
