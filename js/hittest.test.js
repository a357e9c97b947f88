import { describe, expect, it } from "vitest";
import { buildUnitGrid, hitEdge, hitUnit, segmentDistance } from "./hittest.js";

describe("hitUnit", () => {
  const x = new Float32Array([10, 50, 52]);
  const y = new Float32Array([10, 50, 80]);
  const r = new Float32Array([5, 5, 5]);
  const grid = buildUnitGrid(x, y, 16);

  it("finds the unit under the pointer", () => {
    expect(hitUnit(grid, x, y, r, 12, 9)).toBe(0);
    expect(hitUnit(grid, x, y, r, 51, 79)).toBe(2);
  });

  it("returns -1 away from every unit", () => {
    expect(hitUnit(grid, x, y, r, 30, 30)).toBe(-1);
  });

  it("prefers the nearest of overlapping units", () => {
    const xs = new Float32Array([0, 4]);
    const ys = new Float32Array([0, 0]);
    const g = buildUnitGrid(xs, ys, 16);
    expect(hitUnit(g, xs, ys, 5, 3, 0)).toBe(1);
  });
});

describe("edges", () => {
  it("measures distance to a segment, clamped at its ends", () => {
    expect(segmentDistance(5, 3, 0, 0, 10, 0)).toBe(3);
    expect(segmentDistance(-4, 3, 0, 0, 10, 0)).toBe(5);
  });

  it("finds the nearest visible edge within tolerance", () => {
    const x = new Float32Array([0, 100, 0, 100]);
    const y = new Float32Array([0, 0, 50, 50]);
    const src = new Uint32Array([0, 2]);
    const dst = new Uint32Array([1, 3]);
    expect(hitEdge([0, 1], src, dst, x, y, 50, 48, 4)).toBe(1);
    expect(hitEdge([0], src, dst, x, y, 50, 48, 4)).toBe(-1);
    expect(hitEdge([0, 1], src, dst, x, y, 50, 25, 4)).toBe(-1);
  });

  it("agrees with the exact distance to every segment (random edges, many points)", () => {
    let seed = 3;
    const random = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const n = 60;
    const x = new Float32Array(n).map(() => Math.floor(random() * 4) * 100);
    const y = new Float32Array(n).map(() => random() * 300);
    const src = new Uint32Array(400).map(() => Math.floor(random() * n));
    const dst = new Uint32Array(400).map(() => Math.floor(random() * n));
    const visible = Uint32Array.from(src.keys());
    for (let k = 0; k < 300; k++) {
      const px = random() * 320 - 10;
      const py = random() * 320 - 10;
      let best = -1;
      let bestD = 3;
      for (const e of visible) {
        const d = segmentDistance(px, py, x[src[e]], y[src[e]], x[dst[e]], y[dst[e]]);
        if (d <= bestD) {
          best = e;
          bestD = d;
        }
      }
      expect(hitEdge(visible, src, dst, x, y, px, py, 3)).toBe(best);
    }
  });
});
