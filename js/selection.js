// The view's selection: pure helpers between [[layer, unit], ...] (the trait) and node ids, and the
// request state that lets rapid clicks build on the selection asked for before Python answers.

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Node ids of a selection; entries naming no layer or a unit out of range are skipped. */
export function selectionIds(topo, selection) {
	if (!topo) return [];
	const ids = [];
	for (const entry of selection ?? []) {
		const li = topo.byName.get(entry?.[0]);
		if (li === undefined) continue;
		const unit = entry[1];
		if (Number.isInteger(unit) && unit >= 0 && unit < topo.layers[li].n_nodes)
			ids.push(topo.layers[li].offset + unit);
	}
	return ids;
}

/** The ids after a click on node `k` (-1: empty space): shift toggles `k`, a plain click replaces;
 * a shift-click on empty space changes nothing (null). */
export function clickedIds(ids, k, shift) {
	if (k < 0) return shift ? null : [];
	if (!shift) return [k];
	return ids.includes(k) ? ids.filter((id) => id !== k) : [...ids, k];
}

/** [[layer, unit], ...] for node ids, given each node's layer index. */
export function idsToSelection(topo, layerOf, ids) {
	return ids.map((id) => {
		const layer = topo.layers[layerOf[id]];
		return [layer.name, id - layer.offset];
	});
}

/** Requests to Python, which owns the `selection` trait. `current()` is what the next click builds
 * on: the selection asked for until Python's answer (or an error, or a new topology) arrives. */
export function selectionRequests(model) {
	let pending = null;
	return {
		current: () => pending ?? model.get("selection"),
		request(selection) {
			pending = same(selection, model.get("selection")) ? null : selection;
			model.send({ request: "select", value: selection });
		},
		answered() {
			if (same(pending, model.get("selection"))) pending = null;
		},
		reset() {
			pending = null;
		},
	};
}
