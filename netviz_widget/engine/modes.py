"""The intervention modes, one registry entry each: name, parameter, what it needs, how it acts and
its label in the controls. `interventions.py` (resolve and apply), the controls (dropdown, which
boxes show) and the explainer read this registry; none of them switches on a mode's name.

Adding a mode is one `register_mode` call (docs/architecture.md has an example; a test adds one)::

    register_mode(Mode("negate", "negate", act=lambda act, index, value, source: -act[:, index]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from netviz_widget.engine._registry import Registry
from netviz_widget.errors import InputError, InterventionError

__all__ = ["MODE_REGISTRY", "Mode", "Request", "mode", "mode_names", "register_mode"]


@dataclass(frozen=True)
class Request:
    """What a mode may use to resolve its replacement activations (`Mode.resolve`).

    `activations(x)` gives the layer's activations for inputs `x`, `means(x)` its mean activation
    over `x` (cached per reference), both with the units on axis 1."""

    layer: str
    value: float | None
    reference: torch.Tensor | None
    patch_input: torch.Tensor | None
    batch_size: int
    seed: int
    activations: Callable[[torch.Tensor], torch.Tensor]
    means: Callable[[torch.Tensor], torch.Tensor]


Act = Callable[[torch.Tensor, list, "float | None", "torch.Tensor | None"], torch.Tensor]


@dataclass(frozen=True)
class Mode:
    """An intervention mode.

    Attributes:
        name: the `mode=` argument.
        label: its label in the controls' dropdown.
        act: ``act(activation, index, value, source)`` → the new values of units `index`
            (activation has its units on axis 1; the result has shape ``activation[:, index]``).
        parameter: the name of its number argument as the controls show it ("value", "factor"),
            or None when it takes none; when set, `value` must be a finite number.
        needs: "reference" (a reference set), "patch_input" (a second input) or None.
        resolve: ``resolve(request)`` → the `source` tensor `act` receives (None: no source).
        help: one line for the docs and the tooltips.
    """

    name: str
    label: str
    act: Act
    parameter: str | None = None
    needs: str | None = None
    resolve: Callable[[Request], torch.Tensor | None] | None = None
    help: str = ""


MODE_REGISTRY: Registry[Mode] = Registry("mode", InterventionError)


def register_mode(entry: Mode, replace: bool = False) -> Mode:
    """Add `entry` to the registry (the controls list it from then on). Returns it."""
    if entry.needs not in (None, "reference", "patch_input"):
        raise InputError("needs", "None, 'reference' or 'patch_input'", entry.needs)
    return MODE_REGISTRY.register(entry, replace)


def mode(name: object) -> Mode:
    """The registered mode `name`; an InterventionError naming the registered ones otherwise."""
    return MODE_REGISTRY.lookup(name)


def mode_names() -> list[str]:
    """The registered modes' names, in registration order."""
    return list(MODE_REGISTRY)


def _rows(source: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Row r of the batch takes replacement r mod n (exactly the integration path's alpha-major
    layout; cycles through the replacements for any other batch)."""
    source = source.to(out.dtype)
    if source.shape[0] != out.shape[0]:
        rows = torch.arange(out.shape[0], device=source.device) % source.shape[0]
        source = source[rows]
    return source


def _draw(request: Request) -> torch.Tensor:
    activations = request.activations(request.reference)
    generator = torch.Generator().manual_seed(request.seed)
    draws = torch.randint(0, activations.shape[0], (request.batch_size or 1,), generator=generator)
    return activations[draws.to(activations.device)]


register_mode(Mode("zero", "zero", lambda act, index, value, source: torch.zeros_like(act[:, index]),
                   help="0"))
register_mode(Mode("mean", "mean", lambda act, index, value, source: source[index].to(act.dtype)
                   .expand_as(act[:, index]),
                   needs="reference", resolve=lambda r: r.means(r.reference),
                   help="the unit's mean activation over the reference set"))
register_mode(Mode("resample", "resample",
                   lambda act, index, value, source: _rows(source, act)[:, index],
                   needs="reference", resolve=_draw,
                   help="the activation of a random reference input (one seeded draw per example)"))
register_mode(Mode("clamp", "clamp", lambda act, index, value, source: torch.full_like(act[:, index], value),
                   parameter="value", help="a constant value"))
register_mode(Mode("scale", "scale", lambda act, index, value, source: act[:, index] * value,
                   parameter="factor", help="factor × the activation"))
register_mode(Mode("patch", "patch", lambda act, index, value, source: _rows(source, act)[:, index],
                   needs="patch_input", resolve=lambda r: r.activations(r.patch_input),
                   help="the activation that a second input produces"))
