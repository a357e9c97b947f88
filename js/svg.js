// Pure SVG export: the canvas's drawing commands (drawing.js) written as one SVG string.
import { edgeCommands, nodeCommands } from "./drawing.js";

// Characters XML 1.0 refuses (C0 controls but tab/newline/CR, non-characters): dropped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Escape text for XML content and attributes (control characters removed). */
export function escapeXml(text) {
  return String(text).replace(NOT_XML, "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]);
}

const fmt = (v) => (Math.round(v * 100) / 100).toString();

/** One drawing command (drawing.js) as SVG markup. */
export function commandToSVG(c) {
  const opacity = c.opacity === 1 ? "" : ` opacity="${fmt(c.opacity)}"`;
  if (c.type === "lines") {
    const s = c.segments;
    const d = [];
    for (let i = 0; i < s.length; i += 4) d.push(`M${fmt(s[i])} ${fmt(s[i + 1])}L${fmt(s[i + 2])} ${fmt(s[i + 3])}`);
    const dash = c.dash ? ` stroke-dasharray="${c.dash.map(fmt).join(" ")}"` : "";
    return `<path d="${d.join("")}" stroke="${c.color}" stroke-opacity="${fmt(c.opacity)}" stroke-width="${fmt(c.width)}"${dash} fill="none"/>`;
  }
  if (c.type === "circle") return `<circle cx="${fmt(c.x)}" cy="${fmt(c.y)}" r="${fmt(c.r)}" fill="${c.color}"${opacity}/>`;
  if (c.type === "ring") {
    return `<circle cx="${fmt(c.x)}" cy="${fmt(c.y)}" r="${fmt(c.r)}" fill="none" stroke="${escapeXml(c.color)}" stroke-width="${fmt(c.width)}"${opacity}/>`;
  }
  if (c.type === "rect") return `<rect x="${fmt(c.x)}" y="${fmt(c.y)}" width="${fmt(c.w)}" height="${fmt(c.h)}" fill="${c.color}"${opacity}/>`;
  if (c.type === "text") {
    return `<text x="${fmt(c.x)}" y="${fmt(c.y)}" font-size="${fmt(c.size)}" dominant-baseline="central" fill="${escapeXml(c.color)}"${opacity}>${escapeXml(c.text)}</text>`;
  }
  return "";
}

/**
 * The view as one SVG document, from the same drawing commands as the canvas (drawing.js):
 * edges, units, output labels; plus the title and layer names (HTML over the canvas).
 * @param {object} scene  {layers, layout, src, dst, modulates?, visible, edgeValues, nodeValues,
 *   activations, ablated, inputMap?, outputLabels?, width, height, title}
 * @returns {string} a standalone SVG document
 */
export function toSVG(scene) {
  const { layers, layout, width, height } = scene;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (scene.title) parts.push(`<text x="8" y="14" fill="#222">${escapeXml(scene.title)}</text>`);
  parts.push('<g class="netviz-edges">');
  for (const c of edgeCommands(scene, { visible: scene.visible, values: scene.edgeValues })) parts.push(commandToSVG(c));
  parts.push('</g><g class="netviz-units">');
  for (const c of nodeCommands(scene, scene.nodeValues)) parts.push(commandToSVG(c));
  parts.push("</g>");
  layers.forEach((layer, li) => {
    const band = li > 0 ? layout.bands?.[li] : null; // a stacked input layer: above its band
    parts.push(`<text x="${fmt(layout.columns[li])}" y="${band ? fmt(band.top - 12) : "32"}" text-anchor="middle" fill="#555">${escapeXml(`${layer.name} (${layer.n_units ?? layer.n_nodes})`)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}
