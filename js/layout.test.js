import { describe, expect, it } from "vitest";
import { layoutColumns } from "./layout.js";

describe("layoutColumns", () => {
  const layers = [
    { name: "input", n_units: 3 },
    { name: "fc1", n_units: 1 },
    { name: "out", n_units: 2 },
  ];

  it("puts each layer in its own column, left to right", () => {
    const { x, offsets } = layoutColumns(layers, { width: 200, height: 100, margin: 10 });
    expect(offsets).toEqual([0, 3, 4]);
    expect(x[0]).toBe(10);
    expect(x[3]).toBe(100);
    expect(x[5]).toBe(190);
  });

  it("spreads units over the height and centres a single unit", () => {
    const { y, layerOf } = layoutColumns(layers, { width: 200, height: 100, margin: 10 });
    expect(Array.from(y.slice(0, 3))).toEqual([10, 50, 90]);
    expect(y[3]).toBe(50);
    expect(Array.from(layerOf)).toEqual([0, 0, 0, 1, 2, 2]);
  });
});
