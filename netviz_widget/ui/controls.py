"""The ipywidgets control panel. It only turns user intent into NetViz calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from netviz_widget.engine.modes import MODE_REGISTRY
from netviz_widget.engine.modes import mode as registered_mode

if TYPE_CHECKING:
    from netviz_widget.ui.widget import NetViz


class ControlPanel:
    """Score, target, example, edge filter, intervention mode and value, Apply / Undo /
    Redo / Reset, the history and a status line (plain text: never HTML)."""

    def __init__(self, viz: NetViz, class_labels: list[str], batch: int, max_shipped: int) -> None:
        self.viz = viz
        style = {"description_width": "80px"}

        def layout() -> widgets.Layout:  # one each: a shared Layout would hide them together
            return widgets.Layout(width="260px")

        def button_layout() -> widgets.Layout:
            return widgets.Layout(width="64px", padding="0 2px")

        self.node_metric = widgets.Dropdown(
            options=[("conductance", "score"), ("activation", "activation")], value="score",
            description="units", layout=layout(), style=style)
        self.edge_metric = widgets.Dropdown(
            options=[("edge conductance", "score"), ("weight", "weight")], value="score",
            description="edges", layout=layout(), style=style)
        self.target = widgets.Dropdown(
            options=[("predicted", -1)] + [(label, i) for i, label in enumerate(class_labels)],
            value=-1, description="target", layout=layout(), style=style)
        self.example = widgets.IntSlider(value=0, min=0, max=max(batch - 1, 0),
                                         description="input #", disabled=batch == 1, continuous_update=False,
                                         layout=layout(), style=style)
        self.top_k = widgets.IntSlider(value=min(2000, max_shipped), min=min(10, max_shipped),
                                       max=max(max_shipped, 1), description="# edges",
                                       layout=layout(), style=style, continuous_update=True)
        self.mode = widgets.Dropdown(options=[(m.label, m.name) for m in MODE_REGISTRY.values()],
                                     value="zero", description="mode", layout=layout(), style=style)
        self.value = widgets.FloatText(value=0.0, description="value", layout=layout(), style=style,
                                       tooltip="clamp value, or scale factor")
        self.patch_from = widgets.BoundedIntText(value=0, min=0, max=10**9, description="patch from",
                                                 layout=layout(), style=style,
                                                 tooltip="reference example whose activations patch")
        self.apply = widgets.Button(description="Apply", button_style="primary",
                                    layout=button_layout())
        self.undo = widgets.Button(description="Undo", layout=button_layout())
        self.redo = widgets.Button(description="Redo", layout=button_layout())
        self.reset = widgets.Button(description="Reset", layout=button_layout())
        self.show_circuit = widgets.ToggleButton(value=False, description="show circuit",
                                                 tooltip="highlight the units and edges carrying 80% "
                                                         "of the decision; dim the rest",
                                                 layout=widgets.Layout(width="128px"))
        self.explain = widgets.Button(description="explain", tooltip="write out this decision",
                                      layout=widgets.Layout(width="128px"))
        self.selection = widgets.Label(value="click a unit to select it (shift-click adds)")
        self.history = widgets.Select(options=[], rows=5, description="history",
                                      layout=layout(), style=style, disabled=True)
        self.status = widgets.Label(value="")
        self.box = widgets.VBox([
            self.node_metric, self.edge_metric, self.target, self.example, self.top_k,
            widgets.HTML("<b>Intervene on the selection</b>"),
            self.mode, self.value, self.patch_from,
            widgets.HBox([self.apply, self.undo, self.redo, self.reset]),
            widgets.HBox([self.show_circuit, self.explain]),
            self.selection, self.history, self.status,
        ], layout=widgets.Layout(width="285px", flex="0 0 285px"))
        self.box.add_class("netviz-controls")
        self._wire()
        self.sync_mode()

    def _wire(self) -> None:
        view = self.viz.view
        widgets.dlink((self.node_metric, "value"), (view, "node_color"))
        widgets.dlink((self.edge_metric, "value"), (view, "edge_color"))
        widgets.dlink((self.top_k, "value"), (view, "top_k"))
        self.target.observe(lambda c: self.viz.attempt(self._set_target, c["new"]), "value")
        self.example.observe(lambda c: self.viz.attempt(setattr, self.viz, "example", c["new"]), "value")
        self.mode.observe(lambda _: self.sync_mode(), "value")
        self.apply.on_click(lambda _: self.viz.attempt(self._apply))
        self.undo.on_click(lambda _: self.viz.attempt(self.viz.undo))
        self.redo.on_click(lambda _: self.viz.attempt(self.viz.redo))
        self.reset.on_click(lambda _: self.viz.attempt(self.viz.reset))
        self.show_circuit.observe(self._toggle_circuit, "value")
        self.explain.on_click(lambda _: self.viz.attempt(self.viz.explain))

    def _toggle_circuit(self, change: dict) -> None:
        if change["new"] != self.viz.circuit_shown:
            self.viz.attempt(self.viz.show_circuit, change["new"])

    def _set_target(self, value: int) -> None:
        if value != self.viz.target_choice:  # a user's choice, not the mirror of NetViz's target
            self.viz.target = None if value == -1 else value

    def show_target(self, value: int) -> None:
        """Show `value` (-1: predicted) in the target dropdown without re-applying it."""
        self.target.value = value

    def _apply(self) -> None:
        entry = registered_mode(self.mode.value)
        kwargs: dict = {}
        if entry.parameter is not None:
            kwargs["value"] = float(self.value.value)
        if entry.needs == "patch_input":
            kwargs["patch_index"] = int(self.patch_from.value)
        self.viz.intervene(mode=entry.name, **kwargs)

    def sync_mode(self) -> None:
        """Show the value box only for a mode with a parameter (named as the mode names it), and
        the patch source only for a mode that needs a second input."""
        entry = registered_mode(self.mode.value)
        self.value.layout.display = None if entry.parameter is not None else "none"
        self.value.description = entry.parameter or "value"
        self.patch_from.layout.display = None if entry.needs == "patch_input" else "none"

    def refresh(self, selection: list[tuple[str, int]], history: list[dict], can_undo: bool,
                can_redo: bool) -> None:
        """Reflect the NetViz state: selection text, history, button states."""
        if selection:
            shown = ", ".join(f"{layer}[{unit}]" for layer, unit in selection[:6])
            more = f" (+{len(selection) - 6})" if len(selection) > 6 else ""
            self.selection.value = f"selected: {shown}{more}"
        else:
            self.selection.value = "click a unit to select it (shift-click adds)"
        labels = [f"{h['step']}. {h['intervention']}  Δ {h['actual_effect']:+.3f}" for h in history]
        self.history.options = labels
        self.undo.disabled = not can_undo
        self.redo.disabled = not can_redo
        self.reset.disabled = not can_undo
