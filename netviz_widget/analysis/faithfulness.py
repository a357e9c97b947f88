"""Is an explanation faithful? Causal checks that go beyond attribution.

- `causal_check`: ablate a circuit's units vs as many random units vs the complement.
- `deletion_curve` / `insertion_curve` for unit rankings (conductance, activation, weight
  norm, gradient × activation, random) and for input features (integrated gradients).
- `single_unit_effects`: predicted (first-order) vs measured effect of ablating each unit.
- `cascading_randomization`: Adebayo et al. (2018): scores must change when weights are
  randomised from the top layer down.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from netviz_widget.analysis.circuits import Circuit
from netviz_widget.engine.interventions import Intervention, make_intervention
from netviz_widget.engine.methods import METHOD_REGISTRY

if TYPE_CHECKING:
    from netviz_widget.engine.explainer import Explainer

__all__ = ["CausalCheck", "area_under", "cascading_randomization", "causal_check", "deletion_curve",
           "insertion_curve", "rank_units", "single_unit_effects"]

RANKINGS = (*METHOD_REGISTRY, "random")  # the built-in methods (`rank_units` includes later ones)


@dataclass(frozen=True)
class CausalCheck:
    """Drops of the target logit (and probabilities) when ablating a circuit and controls."""

    mode: str
    n_units: int
    logit: float
    probability: float
    circuit_drop: float
    circuit_probability: float
    random_drops: np.ndarray
    complement_drop: float
    complement_probability: float
    n_complement: int


def _spearmanr(a: np.ndarray, b: np.ndarray) -> object:
    """scipy's spearmanr, imported on first use (scipy.stats takes about a second to import,
    which `explain()`'s causal check does not need)."""
    from scipy.stats import spearmanr

    return spearmanr(a, b)


def _ablate(ex: Explainer, units: Sequence[tuple[str, int]], mode: str, seed: int = 0,
            resolved: dict[str, Intervention] | None = None) -> list[Intervention]:
    """`mode` ablations of `units` (layer, unit), one Intervention per layer. `resolved`, kept
    by a caller that ablates many unit sets with one mode and seed, holds each layer's first
    Intervention: a mode's replacement source never depends on the units (a `modes.Request` has
    none), so later sets of that layer reuse it instead of resolving it (and stamping the
    model, and checking the reference) again."""
    by_layer: dict[str, list[int]] = {}
    for layer, unit in units:
        by_layer.setdefault(layer, []).append(unit)
    if mode == "baseline":  # input features back to the explainer's baseline
        return [Intervention(layer, tuple(sorted(idx)), "patch", source=ex.baseline,
                             offset=ex.graph.layer(layer).offset)
                for layer, idx in by_layer.items()]
    resolved = {} if resolved is None else resolved
    out = []
    for layer, idx in by_layer.items():
        if layer in resolved:
            out.append(replace(resolved[layer], units=ex.graph.check_units(layer, idx)))
        else:
            resolved[layer] = make_intervention(ex.graph, layer, idx, mode, reference=ex.reference,
                                                batch_size=ex.inputs.shape[0], seed=seed)
            out.append(resolved[layer])
    return out


def _target_output(ex: Explainer, interventions: Sequence[Intervention], example: int) -> tuple[float, float]:
    logits = ex.evaluate(interventions)[example]
    target = int(ex.target[example])
    probabilities = ex.graph.probabilities(torch.from_numpy(logits[None])).numpy()[0]
    return float(logits[target]), float(probabilities[target])


def causal_check(ex: Explainer, circuit: Circuit, mode: str = "mean", n_random: int = 20,
                 seed: int = 0) -> CausalCheck:
    """Ablate the circuit's hidden units, `n_random` draws of as many random units per
    layer, and all other hidden units; report the target logit's drop for each."""
    example = circuit.example
    units = circuit.hidden_units(ex.graph)
    logit, probability = _target_output(ex, [], example)
    resolved: dict[str, Intervention] = {}
    after, after_p = _target_output(ex, _ablate(ex, units, mode, resolved=resolved), example)
    rng = np.random.default_rng(seed)
    per_layer: dict[str, int] = {}
    for layer, _ in units:
        per_layer[layer] = per_layer.get(layer, 0) + 1
    drops = []
    for _ in range(n_random):
        drawn = [(layer, int(u)) for layer, count in per_layer.items()
                 for u in rng.choice(ex.graph.layer(layer).n_units, count, replace=False)]
        drops.append(logit - _target_output(ex, _ablate(ex, drawn, mode, resolved=resolved), example)[0])
    kept = set(units)
    complement = [(layer.name, u) for layer in ex.graph.layers if layer.role == "hidden"
                  for u in range(layer.n_units) if (layer.name, u) not in kept]
    comp, comp_p = (_target_output(ex, _ablate(ex, complement, mode, resolved=resolved), example)
                    if complement else (logit, probability))
    return CausalCheck(mode, len(units), logit, probability, logit - after, after_p,
                       np.array(drops), logit - comp, comp_p, len(complement))


def rank_units(ex: Explainer, layer: str, example: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
    """Unit orders (most important first) by every registered attribution method (`methods.py`),
    and a seeded random order."""
    orders = {entry.name: entry.order(ex, layer, example) for entry in METHOD_REGISTRY.values()}
    orders["random"] = np.random.default_rng(seed).permutation(ex.graph.layer(layer).n_units)
    return orders


def deletion_curve(ex: Explainer, layer: str, order: np.ndarray, mode: str = "mean",
                   example: int = 0, probability: bool = True) -> np.ndarray:
    """Target output after ablating the first k units of `order`, for k = 0 … n.
    The last point is the fully ablated layer, whatever the order. `mode="baseline"` puts
    input features back to the explainer's baseline."""
    values = [_target_output(ex, [], example)[int(probability)]]
    resolved: dict[str, Intervention] = {}
    for k in range(1, len(order) + 1):
        units = [(layer, int(u)) for u in order[:k]]
        ablated = _ablate(ex, units, mode, resolved=resolved)
        values.append(_target_output(ex, ablated, example)[int(probability)])
    return np.array(values)


def insertion_curve(ex: Explainer, layer: str, order: np.ndarray, mode: str = "mean",
                    example: int = 0, probability: bool = True) -> np.ndarray:
    """Target output with only the first k units of `order` restored (the rest ablated),
    k = 0 … n: it starts at the fully ablated output and ends at the clean one."""
    values, resolved = [], {}
    for k in range(len(order) + 1):
        rest = [(layer, int(u)) for u in order[k:]]
        interventions = _ablate(ex, rest, mode, resolved=resolved) if rest else []
        values.append(_target_output(ex, interventions, example)[int(probability)])
    return np.array(values)


def area_under(curve: np.ndarray) -> float:
    """Trapezoid area of a curve over x ∈ [0, 1]."""
    x = np.linspace(0, 1, len(curve))
    return float(np.sum((curve[1:] + curve[:-1]) * np.diff(x) / 2))


def single_unit_effects(ex: Explainer, layer: str, mode: str = "mean",
                        example: int = 0) -> dict[str, np.ndarray | float]:
    """For each unit of `layer` ablated alone: the first-order prediction (gradient × change),
    the conductance-based prediction (−conductance), and the measured change of the target
    logit; with Spearman rank correlations of each prediction with the measurement."""
    n_units = ex.graph.layer(layer).n_units
    base = _target_output(ex, [], example)[0]
    snap = ex.snapshot()
    actual, first_order = np.zeros(n_units), np.zeros(n_units)
    for unit in range(n_units):
        intervention = _ablate(ex, [(layer, unit)], mode)[0]
        actual[unit] = _target_output(ex, [intervention], example)[0] - base
        first_order[unit] = ex._first_order_effect(intervention)[example]
    conductance = -snap.node_scores[layer][example].astype(np.float64)
    return {
        "actual": actual, "first_order": first_order, "conductance": conductance,
        "spearman_first_order": float(_spearmanr(first_order, actual).statistic),
        "spearman_conductance": float(_spearmanr(conductance, actual).statistic),
    }


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    value = _spearmanr(np.abs(a).ravel(), np.abs(b).ravel()).statistic
    return float(0.0 if np.isnan(value) else value)


def cascading_randomization(ex: Explainer, layer: str | None = None, seed: int = 0) -> list[dict]:
    """Re-initialise the parametric layers of a *copy* of the model from the top down,
    cumulatively; after each step, the Spearman correlation of |input scores| and |unit
    scores of `layer`| (default: the first hidden layer) with the original ones. Scores that
    survive randomisation would be explaining the architecture, not the learned model."""
    layer = layer or next(la.name for la in ex.graph.layers if la.role == "hidden")
    original = ex.snapshot()
    model = copy.deepcopy(ex.model)
    modules = [b.module for b in ex.graph.blocks if b.module is not None]
    generator = torch.Generator().manual_seed(seed)
    rows = [{"randomized": "none", "input_spearman": 1.0, "unit_spearman": 1.0}]
    for name in reversed(list(dict.fromkeys(modules))):
        module = model.get_submodule(name)
        with torch.no_grad():
            fan_in = module.weight[0].numel()
            module.weight.copy_(torch.randn(module.weight.shape, generator=generator) / np.sqrt(fan_in))
            if module.bias is not None:
                module.bias.zero_()
        snap = ex.sibling(model).snapshot()
        rows.append({"randomized": f"{name} and above",
                     "input_spearman": _rank_correlation(snap.input_scores, original.input_scores),
                     "unit_spearman": _rank_correlation(snap.node_scores[layer],
                                                        original.node_scores[layer])})
    return rows
