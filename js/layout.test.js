import { describe, expect, it } from "vitest";
import { layoutColumns, stackBands, stackedInputs, toWorld, zoomAt } from "./layout.js";

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

describe("several input layers", () => {
  const layers = [
    { name: "input:user", role: "input", n_nodes: 4 },
    { name: "input:item", role: "input", n_nodes: 2 },
    { name: "user", role: "hidden", n_nodes: 3 },
    { name: "head", role: "output", n_nodes: 2 },
  ];

  it("stacks them in bands of the first column, one column per later layer", () => {
    const { x, y, columns, bands, layerOf } = layoutColumns(layers, { width: 300, height: 200, margin: 10 });
    expect(stackedInputs(layers)).toBe(2);
    const left = columns[0]; // right of the margin, leaving room for the input layers' labels
    expect(left).toBeGreaterThan(10);
    expect(columns).toEqual([left, left, (left + 290) / 2, 290]);
    expect(Array.from(x.slice(0, 6))).toEqual(Array(6).fill(left));
    expect(Array.from(layerOf.slice(0, 6))).toEqual([0, 0, 0, 0, 1, 1]);
    // the first input's units lie above the second's, each within its own band, none overlap
    const [a, b] = bands;
    expect(a.top).toBe(10);
    expect(b.top).toBeGreaterThan(a.top + a.height);
    for (let u = 0; u < 4; u++) expect(y[u]).toBeLessThanOrEqual(a.top + a.height + 1e-3); // float32 positions
    for (let u = 4; u < 6; u++) expect(y[u]).toBeGreaterThanOrEqual(b.top - 1e-3);
    expect(b.top + b.height).toBeCloseTo(190);
    expect(bands.slice(2)).toEqual([null, null]);
  });

  it("sizes the bands by unit count and keeps one input layer a plain column", () => {
    const [a, b] = stackBands([4, 2], 0, 122, 22);  // 100 px of units, 22 of gap
    expect(a.height).toBeCloseTo(2 * b.height);
    expect(stackedInputs([{ role: "input" }, { role: "hidden" }])).toBe(0);
    const plain = layoutColumns([{ name: "input", role: "input", n_nodes: 3 }, { name: "out", role: "output", n_nodes: 1 }],
      { width: 200, height: 100, margin: 10 });
    expect(plain.columns).toEqual([10, 190]);
    expect(plain.bands).toEqual([null, null]);
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
