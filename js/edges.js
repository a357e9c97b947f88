// Pure edge selection: which shipped edges to draw, grouped for batched strokes.
import { bucketOf, maxAbs } from "./scales.js";

/** |v| for ranking, with NaN ranked below every number. */
const magnitude = (v) => (Number.isNaN(v) ? -1 : Math.abs(v));

/** The k-th largest number of `a` (1-based k ≤ a.length); reorders `a` (quickselect). */
function kthLargest(a, k) {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/**
 * Indices of the `k` edges with the largest |value| (ties: the lower index), in index order.
 * Linear time (a selection, not a sort): it runs on every data update.
 * @param {Float32Array} values
 * @param {number} k
 * @returns {Uint32Array}
 */
export function topKByMagnitude(values, k) {
  const n = values.length;
  const count = Math.max(0, Math.min(Math.floor(k), n));
  const out = new Uint32Array(count);
  if (count === n) {
    for (let i = 0; i < n; i++) out[i] = i;
    return out;
  }
  if (count === 0) return out;
  const scratch = new Float64Array(n);
  for (let i = 0; i < n; i++) scratch[i] = magnitude(values[i]);
  const threshold = kthLargest(scratch, count);
  let above = 0;
  for (let i = 0; i < n; i++) if (magnitude(values[i]) > threshold) above++;
  let ties = count - above; // edges at exactly the threshold that still fit, lowest index first
  let m = 0;
  for (let i = 0; i < n && m < count; i++) {
    const v = magnitude(values[i]);
    if (v > threshold || (v === threshold && ties-- > 0)) out[m++] = i;
  }
  return out;
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

/** Lines wider than one device pixel drawn at their width, at most (≈ 3k thin lines' cost). */
export const WIDE_LINE_BUDGET = 300;

/**
 * Line width of each bucket: `widths` (world units) as given while at most `budget` lines are
 * wider than one device pixel, else each capped at one device pixel (1 / `devicePerWorld`).
 * @param {number[]} widths  per bucket
 * @param {number[]} counts  lines per bucket
 * @param {number} devicePerWorld  device pixels per world unit
 */
export function capLineWidths(widths, counts, devicePerWorld, budget = WIDE_LINE_BUDGET) {
  const thin = 1 / devicePerWorld;
  let wide = 0;
  widths.forEach((w, i) => {
    if (w > thin) wide += counts[i];
  });
  return wide > budget ? widths.map((w) => Math.min(w, thin)) : [...widths];
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
