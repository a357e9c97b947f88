// Pure edge selection: which shipped edges to draw, grouped for batched strokes.
import { bucketOf, maxAbs } from "./scales.js";

/**
 * Indices of the `k` edges with the largest |value|, largest first.
 * @param {Float32Array} values
 * @param {number} k
 */
export function topKByMagnitude(values, k) {
  const n = values.length;
  const count = Math.max(0, Math.min(k, n));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || a - b);
  return order.slice(0, count);
}

/**
 * Group edge indices by colour bucket of their value (a counting sort: no per-edge allocation).
 * @returns {{buckets: Uint32Array[], extent: number}} buckets are views into one array
 */
export function bucketEdges(indices, values, half = 8) {
  const extent = maxAbs(values);
  const n = 2 * half;
  const of = new Uint8Array(indices.length);
  const counts = new Uint32Array(n + 1);
  for (let i = 0; i < indices.length; i++) {
    of[i] = bucketOf(values[indices[i]], extent, half);
    counts[of[i] + 1]++;
  }
  for (let b = 0; b < n; b++) counts[b + 1] += counts[b];
  const sorted = new Uint32Array(indices.length);
  const fill = counts.slice(0, n);
  for (let i = 0; i < indices.length; i++) sorted[fill[of[i]]++] = indices[i];
  const buckets = [];
  for (let b = 0; b < n; b++) buckets.push(sorted.subarray(counts[b], counts[b + 1]));
  return { buckets, extent };
}

/**
 * Per-unit adjacency (CSR) of edges: for unit u, edge ids in ids[start[u] .. start[u+1]).
 * Both directions: an edge is listed for its source and its destination.
 */
export function adjacency(src, dst, nUnits) {
  const counts = new Uint32Array(nUnits + 1);
  for (let e = 0; e < src.length; e++) {
    counts[src[e] + 1]++;
    counts[dst[e] + 1]++;
  }
  for (let u = 0; u < nUnits; u++) counts[u + 1] += counts[u];
  const ids = new Uint32Array(2 * src.length);
  const fill = counts.slice(0, nUnits);
  for (let e = 0; e < src.length; e++) {
    ids[fill[src[e]]++] = e;
    ids[fill[dst[e]]++] = e;
  }
  return { start: counts, ids };
}
