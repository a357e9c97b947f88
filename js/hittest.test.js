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
});
