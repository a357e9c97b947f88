"""What the front end may ask of NetViz, checked before it acts: a selection of display nodes
(a unit, or a group of a wide layer to expand) and the settings the view writes (colours, edge
count, highlight, height). Messages from the front end are untrusted input. A mixin of `NetViz`
(widget.py), which owns the state these requests change: the view sends a selection as a request
and only Python sets the `selection` trait."""

from __future__ import annotations

from netviz_widget.errors import InputError, NetVizError, describe

MAX_SELECTION = 4096


class ViewRequests:
    """Validation and handling of the front end's requests (mixed into `NetViz`)."""

    @staticmethod
    def _check_pairs(entries: object) -> list[tuple[str, object]]:
        if not isinstance(entries, list) or len(entries) > MAX_SELECTION:
            raise InputError("selection", f"a list of at most {MAX_SELECTION} [layer, unit] pairs",
                             entries)
        for entry in entries:
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
                raise InputError("selection", "[layer name, unit index] pairs", entry)
        return [(layer, unit) for layer, unit in entries]

    def _check_units(self, entries: object) -> list[tuple[str, int]]:
        """Validate [layer, unit index] pairs (unit indices of the model's layers)."""
        checked = []
        for layer, unit in self._check_pairs(entries):
            (index,) = self.explainer.graph.check_units(layer, [unit])
            checked.append((layer, index))
        return list(dict.fromkeys(checked))

    def _on_front_end_selection(self, nodes: object) -> None:
        """The view asks to select display nodes (a "select" request): a unit is selected; a
        group of a wide layer expands. NetViz then sets the view's `selection` trait."""
        try:
            units, groups = [], []
            for layer, node in self._check_pairs(nodes):
                n_nodes = len(self.display.members[self.explainer.graph.layer(layer).name])
                if isinstance(node, bool) or not isinstance(node, int) or not 0 <= node < n_nodes:
                    raise InputError("selection", f"node indices in [0, {n_nodes}) for layer {layer!r}",
                                     node)
                members = self.display.members[layer][node]
                (groups if len(members) > 1 else units).append((layer, int(members[0])))
        except NetVizError as error:  # untrusted input: refuse it visibly, keep the old state
            self._show_error(f"Rejected a selection from the view. {error}")
            return
        for layer, unit in groups:
            self._expanded.setdefault(layer, set()).add(self.display.group_index(layer, unit))
        if groups:
            self._publish(topology=True)
        self.attempt(self._set_selection, list(dict.fromkeys(units)))

    def _on_front_end_setting(self, change: dict) -> None:
        """Traits the front end may write are untrusted: refuse bad values visibly and put the
        last good value back, so that Python and the view agree."""
        name, new, old = change["name"], change["new"], change["old"]
        n_units = self.view.topology.get("n_nodes", 0)
        valid = {
            "node_color": lambda v: v in ("score", "activation"),
            "edge_color": lambda v: v in ("score", "weight"),
            "top_k": lambda v: isinstance(v, int) and 0 <= v <= self.max_edges,
            "highlight": lambda v: isinstance(v, list) and len(v) <= n_units and all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_units for i in v),
            "height": lambda v: isinstance(v, int) and 120 <= v <= 4000,
        }[name]
        if valid(new):
            return
        self._show_error(f"Rejected {name} from the view: got {describe(new)}.")
        self.view.set_trait(name, old)
