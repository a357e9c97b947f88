import { describe, expect, it } from "vitest";
import {
	clickedIds,
	idsToSelection,
	selectionIds,
	selectionRequests,
} from "./selection.js";

const topo = {
	layers: [
		{ name: "input", offset: 0, n_nodes: 3 },
		{ name: "fc1", offset: 3, n_nodes: 2 },
	],
	byName: new Map([
		["input", 0],
		["fc1", 1],
	]),
};
const layerOf = [0, 0, 0, 1, 1];

describe("selection", () => {
	it("maps a selection to node ids, skipping unknown layers and units out of range", () => {
		expect(
			selectionIds(topo, [
				["fc1", 1],
				["nope", 0],
				["input", 3],
				["input", 0],
			]),
		).toEqual([4, 0]);
		expect(selectionIds(null, [["fc1", 0]])).toEqual([]);
	});

	it("turns clicks into the next ids: replace, shift toggles, empty space clears", () => {
		expect(clickedIds([1], 3, false)).toEqual([3]);
		expect(clickedIds([1], 3, true)).toEqual([1, 3]);
		expect(clickedIds([1, 3], 3, true)).toEqual([1]);
		expect(clickedIds([1], -1, false)).toEqual([]);
		expect(clickedIds([1], -1, true)).toBeNull();
	});

	it("round-trips ids and [[layer, unit]]", () => {
		const selection = idsToSelection(topo, layerOf, [4, 0]);
		expect(selection).toEqual([
			["fc1", 1],
			["input", 0],
		]);
		expect(selectionIds(topo, selection)).toEqual([4, 0]);
	});

	it("builds the next click on the pending request until Python answers", () => {
		const traits = { selection: [] };
		const sent = [];
		const model = { get: (k) => traits[k], send: (m) => sent.push(m) };
		const requests = selectionRequests(model);
		requests.request([["fc1", 0]]);
		expect(sent).toEqual([{ request: "select", value: [["fc1", 0]] }]);
		expect(requests.current()).toEqual([["fc1", 0]]);
		traits.selection = [["fc1", 0]];
		requests.answered();
		traits.selection = [];
		expect(requests.current()).toEqual([]); // answered: the trait again
		requests.request([["input", 1]]);
		requests.reset();
		expect(requests.current()).toEqual([]);
	});
});
