// Pure SVG export: the same layout and colour scales as the canvas, as one SVG string.
import { bucketCentre, bucketOf, divergingColor, divergingRgb, maxAbs, normalise } from "./scales.js";

const HALF = 8;

// Characters XML 1.0 refuses (C0 controls but tab/newline/CR, non-characters): dropped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Escape text for XML content and attributes (control characters removed). */
export function escapeXml(text) {
  return String(text).replace(NOT_XML, "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]);
}

const fmt = (v) => (Math.round(v * 100) / 100).toString();

/**
 * @param {object} scene  {layers, layout, src, dst, visible, edgeValues, nodeValues,
 *   activations, ablated, width, height, title}
 * @returns {string} a standalone SVG document
 */
export function toSVG(scene) {
  const { layers, layout, src, dst, visible, edgeValues, nodeValues, activations, ablated, width, height } = scene;
  const { x, y, r, offsets, columns, cell } = layout;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (scene.title) parts.push(`<text x="8" y="14" fill="#222">${escapeXml(scene.title)}</text>`);
  const extent = maxAbs(edgeValues);
  const groups = Array.from({ length: 2 * HALF }, () => []);
  for (const e of visible) groups[bucketOf(edgeValues[e], extent, HALF)].push(e);
  groups.forEach((ids, bucket) => {
    if (!ids.length) return;
    const strength = Math.abs(bucketCentre(bucket, HALF));
    const [cr, cg, cb] = divergingRgb(bucketCentre(bucket, HALF));
    const d = ids.map((e) => `M${fmt(x[src[e]])} ${fmt(y[src[e]])}L${fmt(x[dst[e]])} ${fmt(y[dst[e]])}`).join("");
    parts.push(`<path d="${d}" stroke="rgb(${cr},${cg},${cb})" stroke-opacity="${fmt(0.15 + 0.75 * strength)}" stroke-width="${fmt(0.5 + strength)}" fill="none"/>`);
  });
  layers.forEach((layer, li) => {
    const start = offsets[li];
    const values = nodeValues.subarray(start, start + layer.n_nodes);
    const layerExtent = maxAbs(values);
    const actExtent = maxAbs(activations.subarray(start, start + layer.n_nodes));
    for (let u = 0; u < layer.n_nodes; u++) {
      const k = start + u;
      const fill = divergingColor(nodeValues[k], layerExtent);
      if (layer.image?.mode === "grid") {
        const s = cell[li];
        parts.push(`<rect x="${fmt(x[k] - s / 2)}" y="${fmt(y[k] - s / 2)}" width="${fmt(s)}" height="${fmt(s)}" fill="${fill}"/>`);
        continue;
      }
      const ring = 0.5 + 2.5 * Math.abs(normalise(activations[k], actExtent));
      parts.push(`<circle cx="${fmt(x[k])}" cy="${fmt(y[k])}" r="${fmt(r[k])}" fill="${fill}" stroke="#555" stroke-width="${fmt(ring)}"/>`);
      if (ablated?.[k]) {
        const s = r[k] * 0.8;
        parts.push(`<path d="M${fmt(x[k] - s)} ${fmt(y[k] - s)}L${fmt(x[k] + s)} ${fmt(y[k] + s)}M${fmt(x[k] + s)} ${fmt(y[k] - s)}L${fmt(x[k] - s)} ${fmt(y[k] + s)}" stroke="#111" stroke-width="2"/>`);
      }
    }
    parts.push(`<text x="${fmt(columns[li])}" y="32" text-anchor="middle" fill="#555">${escapeXml(`${layer.name} (${layer.n_units ?? layer.n_nodes})`)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}
