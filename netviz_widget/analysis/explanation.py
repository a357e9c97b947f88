"""A written explanation of one decision, generated from measured numbers only.

It states the prediction and the runner-up, where the input evidence for the target over the
runner-up lies (integrated gradients of the logit difference), which units carry the decision,
how much of it the circuit accounts for, and what happened when the circuit was ablated
compared with random units and with the rest of the network.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from netviz_widget._text import md_escape, md_to_html, md_to_text
from netviz_widget.engine._model_state import evaluation_mode
from netviz_widget.engine.attribution import path_scores

if TYPE_CHECKING:
    from netviz_widget.engine.explainer import Explainer
    from netviz_widget.engine.graph.layered import LayeredGraph

ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")


@dataclass(frozen=True)
class Explanation:
    """The account as markdown (`markdown`, also shown by Jupyter) and its numbers (`facts`).

    Every user-supplied name in `markdown` (class labels, layer names) is escaped: the text is
    safe to display as Markdown; `html` is the same account as escaped HTML, `str()` as plain text.
    """

    example: int
    target: int
    markdown: str
    facts: dict[str, object] = field(repr=False)

    def __str__(self) -> str:
        return md_to_text(self.markdown)

    @property
    def html(self) -> str:
        """The account as escaped HTML paragraphs (only our own bold markers become tags)."""
        return md_to_html(self.markdown)

    def _repr_markdown_(self) -> str:
        return self.markdown


def _image_shape(shape: tuple[int, ...]) -> tuple[int, int] | None:
    if len(shape) == 3:
        return shape[1], shape[2]
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    return (side, side) if side >= 4 and side * side == shape[0] else None


def region_totals(scores: np.ndarray, height: int, width: int) -> dict[str, float]:
    """Sum of `scores` (an image, channels summed) over a 3 × 3 grid of named regions."""
    image = scores.reshape(-1, height, width).sum(0)
    rows = np.array_split(np.arange(height), 3)
    cols = np.array_split(np.arange(width), 3)
    return {f"{ROWS[i]}-{COLUMNS[j]}": float(image[np.ix_(r, c)].sum())
            for i, r in enumerate(rows) for j, c in enumerate(cols)}


def _feature_namer(graph: LayeredGraph) -> Callable[[int], str]:
    """A flat input feature's name, escaped: its index, or for several inputs
    `argument[index]` within that input (see `LayeredGraph.feature_name`)."""
    return lambda i: md_escape(graph.feature_name(i, graph.example_shape))


def _describe_evidence(contrast: np.ndarray, shape: tuple[int, ...], target: str,
                       other: str, feature: Callable[[int], str] = str) -> tuple[str, dict]:
    image = _image_shape(shape)
    total = float(contrast.sum())
    if image is not None:
        regions = region_totals(contrast, *image)
        ordered = sorted(regions.items(), key=lambda kv: -kv[1])
        pro = [(name, value) for name, value in ordered[:2] if value > 0]
        con = [(name, value) for name, value in ordered[::-1][:1] if value < 0]
        text = (f"Evidence for **{target}** over **{other}** (integrated gradients of the logit "
                f"difference, total {total:+.2f}): ")
        text += ", ".join(f"the {n} region ({v:+.2f})" for n, v in pro) or "no region"
        text += f" push{'es' if len(pro) == 1 else ''} toward {target}"
        if con:
            text += f"; the {con[0][0]} region ({con[0][1]:+.2f}) pushes toward {other}"
        return text + ".", {"regions": regions, "contrast_total": total}
    flat = contrast.ravel()
    top = np.argsort(-flat)[:3]
    low = int(np.argmin(flat))
    text = (f"Evidence for **{target}** over **{other}** (integrated gradients of the logit "
            f"difference, total {total:+.2f}): features "
            + ", ".join(f"{feature(int(i))} ({flat[i]:+.2f})" for i in top)
            + f" push toward {target}; feature {feature(low)} ({flat[low]:+.2f}) pushes toward {other}.")
    return text, {"top_features": top.tolist(), "contrast_total": total}


def explain(ex: Explainer, example: int, coverage: float, mode: str,
            labels: list[str] | None = None) -> Explanation:
    """Build the explanation of `example` (see module docstring)."""
    from netviz_widget.analysis.faithfulness import causal_check

    snap = ex.snapshot()
    probabilities = snap.probabilities[example]
    target = int(snap.target[example])
    predicted = int(snap.prediction[example])
    others = [c for c in np.argsort(-probabilities) if c != target]
    # the strongest rival: the prediction itself when target differs; none for one output
    runner_up = int(others[0]) if others else target

    def name(c: int) -> str:
        return md_escape(labels[c] if labels else c)

    x = ex.inputs[example:example + 1]
    contrast = snap.input_scores[example]
    if others:
        with evaluation_mode(ex.model):
            rival = path_scores(ex.graph, x, ex.baseline[example:example + 1],
                                torch.tensor([runner_up], device=x.device), ex.n_steps,
                                ex.interventions, edges=False, layers=False)
        contrast = contrast - rival.input_scores[0]
    lines = []
    active = [i.describe() for i in ex.interventions]
    if active:
        clean = float(ex.clean_probabilities()[example][target])
        lines.append(f"**{len(active)} intervention{'s' if len(active) > 1 else ''} in force** ("
                     + "; ".join(md_escape(label) for label in active)
                     + f"): every number below describes the intervened model; without them "
                     f"{name(target)} has probability {clean:.3f}.")
    if not others:  # one output (binary): a sigmoid of the logit, evidence = the logit's own IG
        verdict = "" if snap.prediction[example] else "not "
        lines.append(f"The model's one output, **{name(target)}**, has probability "
                     f"{probabilities[target]:.3f} (the sigmoid of its logit "
                     f"{snap.logits[example, target]:+.3f}), so it predicts "
                     f"**{verdict}{name(target)}** (p > 0.5 means {name(target)}).")
    elif predicted == target:
        lines.append(f"The model predicts **{name(predicted)}** with probability "
                     f"{probabilities[predicted]:.3f}; the runner-up is **{name(runner_up)}** "
                     f"({probabilities[runner_up]:.3f}).")
    else:
        lines.append(f"Explaining **{name(target)}** (probability {probabilities[target]:.3f}), which "
                     f"the model does not predict: it predicts **{name(predicted)}** "
                     f"({probabilities[predicted]:.3f}).")
    rival_name = name(runner_up) if others else f"not {name(target)}"
    evidence, facts = _describe_evidence(contrast, ex.graph.example_shape, name(target), rival_name,
                                         _feature_namer(ex.graph))
    lines.append(evidence)

    circuit = ex.circuit(example, coverage)
    hidden = [la for la in ex.graph.layers if la.role == "hidden"]
    carriers = []
    for layer in hidden:
        units = circuit.units[layer.name]
        shown = ", ".join(str(u) for u in units[:4]) + (" …" if len(units) > 4 else "")
        carriers.append(f"{md_escape(layer.name)}: {len(units)} of {_units(layer.n_units)} ({shown}), "
                        + _share_words(circuit.unit_share[layer.name]))
    lines.append("Units carrying the decision (largest layer conductance first) — "
                 + "; ".join(carriers) + ".")
    n_hidden = sum(len(circuit.units[la.name]) for la in hidden)
    lines.append(f"The circuit ({_units(n_hidden, 'hidden unit')}, {_units(len(circuit.edges), 'edge')}) "
                 "carries at least "
                 f"{100 * coverage:.0f}% of every layer's attribution toward {name(target)}.")

    check = causal_check(ex, circuit, mode=mode)
    random_mean, random_sd = float(check.random_drops.mean()), float(check.random_drops.std())
    lines.append(
        f"Causal check ({md_escape(mode)} ablation): removing the circuit's {_units(check.n_units)} "
        f"{_moves(check.circuit_drop, 'the ' + name(target) + ' logit')} "
        f"(probability {check.probability:.3f} → "
        f"{check.circuit_probability:.3f}); {_units(check.n_units, 'random unit')} "
        f"{'lower' if random_mean >= 0 else 'raise'} it by {abs(random_mean):.2f} ± {random_sd:.2f} "
        f"({len(check.random_drops)} draws); the other "
        f"{_units(check.n_complement, 'hidden unit')} {_moves(check.complement_drop, 'it', plural=True)} "
        f"(probability → {check.complement_probability:.3f}).")
    if check.circuit_drop > random_mean + 2 * random_sd and check.circuit_drop > check.complement_drop:
        lines.append("The circuit is causally necessary here: its ablation hurts far more than random "
                     "units or the whole rest of the network.")
    elif check.circuit_drop > random_mean + 2 * random_sd:
        lines.append("The circuit matters more than random units, but the rest of the network also "
                     "carries much of the decision: the explanation is incomplete.")
    else:
        lines.append("The circuit is **not** clearly more important than random units: treat the "
                     "attribution as a weak hypothesis for this input.")
    relative = float(snap.relative_delta[example])
    lines.append(f"Completeness gap: {snap.delta[example]:+.4f} ({100 * relative:.2f}% of "
                 f"F(x) − F(baseline) = {snap.output_change[example]:.3f})"
                 + ("; increase n_steps." if relative > 0.05 else "."))
    facts.update({"interventions": active, "predicted": predicted, "runner_up": runner_up,
                  "circuit_units": n_hidden,
                  "circuit_drop": check.circuit_drop, "random_drop_mean": random_mean,
                  "random_drop_sd": random_sd, "complement_drop": check.complement_drop,
                  "unit_share": dict(circuit.unit_share), "relative_delta": relative})
    return Explanation(example, target, "\n\n".join(lines), facts)


def _share_words(share: float) -> str:
    """A share of a layer's net attribution in words: above 100% when the other units of the layer
    push the other way (mixed signs), which "carry 104%" would hide."""
    if share <= 1.0:
        return f"{100 * share:.0f}% of the layer's attribution"
    return (f"{100 * share:.0f}% of the layer's net attribution (more than all of it: "
            "the layer's other units push against the decision)")


def _units(count: int, noun: str = "unit") -> str:
    """'1 unit', '3 units'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _moves(drop: float, what: str, plural: bool = False) -> str:
    """'lowers the 3 logit by 0.42', or 'raises … by 0.03' for a negative drop (never "lowers by
    -0.03"); `plural` for a plural subject ('lower', 'raise')."""
    verb = ("lower" if drop >= 0 else "raise") + ("" if plural else "s")
    return f"{verb} {what} by {abs(drop):.2f}"
