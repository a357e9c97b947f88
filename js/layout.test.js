import { describe, expect, it } from "vitest";
import { layoutColumns, toWorld, zoomAt } from "./layout.js";

describe("layoutColumns", () => {
  const layers = [
    { name: "input", n_nodes: 3 },
    { name: "fc1", n_nodes: 1 },
    { name: "out", n_nodes: 2 },
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

describe("image-like input", () => {
  it("lays out a flat 8×8 input as a pixel grid left of the first column", () => {
    const layers = [
      { name: "input", n_nodes: 64, image: { mode: "grid", size: [8, 8] } },
      { name: "fc1", n_nodes: 4 },
    ];
    const { x, y, r, cell } = layoutColumns(layers, { width: 800, height: 400, margin: 20 });
    expect(cell[0]).toBeGreaterThan(0);
    expect(x[1] - x[0]).toBeCloseTo(cell[0]);
    expect(y[8] - y[0]).toBeCloseTo(cell[0]);
    expect(Math.min(...Array.from(x.slice(0, 64)))).toBeGreaterThanOrEqual(20);
    expect(r[0]).toBeCloseTo(cell[0] / 2);
  });
});

describe("zoom and pan", () => {
  it("keeps the point under the cursor fixed while zooming", () => {
    const t = zoomAt({ k: 1, tx: 0, ty: 0 }, 2, 100, 50);
    const [wx, wy] = toWorld(t, 100, 50);
    expect(wx).toBeCloseTo(100);
    expect(wy).toBeCloseTo(50);
    expect(t.k).toBe(2);
  });

  it("clamps the zoom level", () => {
    expect(zoomAt({ k: 1, tx: 0, ty: 0 }, 1000, 0, 0).k).toBe(40);
    expect(zoomAt({ k: 1, tx: 0, ty: 0 }, 0.001, 0, 0).k).toBe(0.2);
  });
});
