import { describe, expect, it } from "vitest";
import { adjacency, bucketEdges, capLineWidths, topKByMagnitude } from "./edges.js";

describe("topKByMagnitude", () => {
  it("keeps the k largest |values| in index order, ties by the lower index", () => {
    const values = new Float32Array([0.1, -5, 3, -3, 0]);
    expect(Array.from(topKByMagnitude(values, 3))).toEqual([1, 2, 3]);
    expect(Array.from(topKByMagnitude(values, 2))).toEqual([1, 2]);
    expect(Array.from(topKByMagnitude(new Float32Array([2, 1, 2, 2]), 2))).toEqual([0, 2]);
  });

  it("agrees with a full sort on random values with many ties, NaN ranked last", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const n of [1, 10, 257, 5000]) {
      const values = new Float32Array(n).map(() => Math.round((random() - 0.5) * 40) / 4);
      if (n > 1) values[n >> 1] = Number.NaN;
      const rank = (v) => (Number.isNaN(v) ? -1 : Math.abs(v));
      const sorted = Array.from(values.keys()).sort((a, b) => rank(values[b]) - rank(values[a]) || a - b);
      for (const k of [0, 1, n >> 2, n >> 1, n - 1, n]) {
        const expected = sorted.slice(0, Math.max(0, k)).sort((a, b) => a - b);
        expect(Array.from(topKByMagnitude(values, k))).toEqual(expected);
      }
    }
  });

  it("clamps k to the number of edges and to zero", () => {
    const values = new Float32Array([1, 2]);
    expect(topKByMagnitude(values, 10).length).toBe(2);
    expect(topKByMagnitude(values, -1).length).toBe(0);
  });
});

describe("bucketEdges", () => {
  it("puts every chosen edge in exactly one bucket by sign and strength", () => {
    const values = new Float32Array([-2, -0.1, 0.1, 2]);
    const { buckets, extent } = bucketEdges([0, 1, 2, 3], values, 4);
    expect(extent).toBe(2);
    const all = buckets.flatMap((b) => Array.from(b)).sort();
    expect(all).toEqual([0, 1, 2, 3]);
    expect(Array.from(buckets[0])).toEqual([0]);
    expect(Array.from(buckets[7])).toEqual([3]);
  });
});

describe("adjacency", () => {
  it("lists each edge under its source and its destination", () => {
    const src = new Uint32Array([0, 0, 1]);
    const dst = new Uint32Array([2, 3, 2]);
    const { start, ids } = adjacency(src, dst, 4);
    const of = (u) => Array.from(ids.slice(start[u], start[u + 1])).sort();
    expect(of(0)).toEqual([0, 1]);
    expect(of(1)).toEqual([2]);
    expect(of(2)).toEqual([0, 2]);
    expect(of(3)).toEqual([1]);
  });
});

describe("capLineWidths", () => {
  it("keeps the widths while few lines are wider than one device pixel", () => {
    expect(capLineWidths([0.5, 1.5], [10000, 100], 1, 2000)).toEqual([0.5, 1.5]);
  });

  it("caps every line at one device pixel past the budget, never widens one", () => {
    expect(capLineWidths([0.5, 1.5, 1.2], [10, 1500, 600], 1, 2000)).toEqual([0.5, 1, 1]);
    expect(capLineWidths([0.6, 1.2], [3000, 0], 2, 2000)).toEqual([0.5, 0.5]); // a 2× screen
  });
});
