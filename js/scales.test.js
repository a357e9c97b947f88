import { describe, expect, it } from "vitest";
import { bucketCentre, bucketOf, divergingColor, divergingRgb, maxAbs, normalise } from "./scales.js";

describe("diverging scale", () => {
  it("is neutral grey at zero and saturates at the ends", () => {
    expect(divergingRgb(0)).toEqual([230, 230, 230]);
    expect(divergingRgb(-1)).toEqual([33, 102, 172]);
    expect(divergingRgb(1)).toEqual([214, 96, 0]);
    expect(divergingRgb(5)).toEqual([214, 96, 0]);
  });

  it("is zero-centred: ±v sit at the same fraction of the way to their ends", () => {
    expect(divergingRgb(0.5)).toEqual([222, 163, 115]);
    expect(divergingRgb(-0.5)).toEqual([132, 166, 201]);
  });

  it("normalises by a symmetric extent and survives zero and non-finite input", () => {
    expect(normalise(2, 4)).toBe(0.5);
    expect(normalise(-8, 4)).toBe(-1);
    expect(normalise(3, 0)).toBe(0);
    expect(normalise(Number.NaN, 1)).toBe(0);
    expect(divergingColor(0, 0)).toBe("rgb(230,230,230)");
  });

  it("finds the largest magnitude, ignoring NaN", () => {
    expect(maxAbs(new Float32Array([1, -3, 2, Number.NaN]))).toBe(3);
    expect(maxAbs([])).toBe(0);
  });
});

describe("buckets", () => {
  it("orders negative buckets strongest first and positive weakest first", () => {
    expect(bucketOf(-1, 1, 8)).toBe(0);
    expect(bucketOf(-0.01, 1, 8)).toBe(7);
    expect(bucketOf(0.01, 1, 8)).toBe(8);
    expect(bucketOf(1, 1, 8)).toBe(15);
  });

  it("bucket centres invert bucketOf", () => {
    for (let b = 0; b < 16; b++) expect(bucketOf(bucketCentre(b, 8), 1, 8)).toBe(b);
  });
});
