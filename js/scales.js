// Pure colour scales. One diverging, zero-centred, colour-blind-safe palette (blue ↔ grey ↔
// orange), defined once in netviz_widget/palette.json and shared with the bokeh figures
// (netviz_widget/palette.py computes the same colours).
import palette from "../netviz_widget/palette.json" with { type: "json" };

const [NEGATIVE, NEUTRAL, POSITIVE] = palette.stops;

/** Largest |value| of an array (0 for an empty or all-zero array). */
export function maxAbs(values) {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]);
    if (v > max && Number.isFinite(v)) max = v;
  }
  return max;
}

/** Map `value` to [-1, 1] given the symmetric extent `extent` (clamped; 0 when extent is 0). */
export function normalise(value, extent) {
  if (!(extent > 0) || !Number.isFinite(value)) return 0;
  return Math.max(-1, Math.min(1, value / extent));
}

/** RGB triple of the diverging scale at t ∈ [-1, 1]. */
export function divergingRgb(t) {
  const end = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.min(1, Math.abs(t));
  return NEUTRAL.map((n, i) => Math.round(n + (end[i] - n) * a));
}

/** CSS colour of the diverging scale for `value` within ±`extent`. */
export function divergingColor(value, extent) {
  const [r, g, b] = divergingRgb(normalise(value, extent));
  return `rgb(${r},${g},${b})`;
}

/**
 * Bucket index in [0, 2*half) for value within ±extent: buckets 0..half-1 are negative
 * (most negative first), half..2*half-1 positive (weakest first). Used to batch strokes.
 */
export function bucketOf(value, extent, half = 8) {
  const t = normalise(value, extent);
  const level = Math.min(half - 1, Math.floor(Math.abs(t) * half));
  return t < 0 ? half - 1 - level : half + level;
}

/** Signed centre t ∈ [-1, 1] of a bucket (inverse of bucketOf, for its colour). */
export function bucketCentre(bucket, half = 8) {
  if (bucket < half) return -((half - 1 - bucket) + 0.5) / half;
  return ((bucket - half) + 0.5) / half;
}
