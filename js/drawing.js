// Pure drawing commands: the view's picture as a list of plain records. The canvas paints
// them (paint.js) and the SVG export writes them (svg.js): one description of what is drawn,
// two back ends. Coordinates are world units (the layout's); `k` is the zoom, so that line
// widths and text sizes stay constant on screen.
//
// Commands:
//   {type: "lines", segments: Float32Array [x0, y0, x1, y1, …], color, opacity, width, dash}
//   {type: "circle", x, y, r, color, opacity}                      filled disc
//   {type: "ring", x, y, r, color, opacity, width}                 stroked circle
//   {type: "rect", x, y, w, h, color, opacity}                     filled rectangle
//   {type: "text", x, y, text, color, opacity, size}               left-aligned, centred on y
import { bucketEdges, capLineWidths } from "./edges.js";
import { bucketCentre, divergingColor, divergingRgb, maxAbs, normalise } from "./scales.js";

export const HALF = 8; // colour buckets per sign
export const DEFAULT_COLORS = { ring: "#555", ablated: "#111", text: "#333" };
const DIMMED = 0.05; // opacity of the edges a highlight leaves out
const FADED = 0.2; // opacity of the units a highlight leaves out
const LABEL_GAP = 4; // px between an output unit and its label
const LABEL_SIZE = 11; // px
const LABEL_MIN_SPACING = 10; // px between output units below which labels would overlap

/** Opacity of a bucket's lines: stronger values more opaque. */
export const edgeOpacity = (strength) => 0.15 + 0.75 * strength;

/**
 * Edge lines: one command per colour bucket (and per pass when a highlight dims the others,
 * and per style when some edges are dashed). Pure and allocation-light: typed arrays only.
 * @param {object} scene  {layout: {x, y}, src, dst, modulates?, highlight?}
 * @param {object} options
 * @param {Uint32Array} options.visible  edge ids to draw
 * @param {Float32Array} options.values  edge values (scores or weights), colour and width
 * @param {Uint32Array[]} [options.buckets]  visible ids grouped by bucket (bucketEdges), if known
 * @param {number} [options.k]  zoom (world → CSS px)
 * @param {number} [options.widthScale]  extra factor on line widths (0.5 on a half-resolution layer)
 * @param {number} [options.devicePerWorld]  device px per world unit: caps wide lines past a
 *   budget (edges.js capLineWidths); omitted for vector output (no cap)
 */
export function edgeCommands(scene, { visible, values, buckets, k = 1, widthScale = 1, devicePerWorld }) {
  const { x, y } = scene.layout;
  const { src, dst } = scene;
  const modulates = scene.modulates ?? null;
  const dim = scene.highlight ?? null;
  const groups = buckets ?? bucketEdges(visible, values, HALF).buckets;
  const base = groups.map((_, b) => ((0.5 + Math.abs(bucketCentre(b, HALF))) * widthScale) / k);
  const widths = devicePerWorld ? capLineWidths(base, groups.map((ids) => ids.length), devicePerWorld) : base;
  const commands = [];
  groups.forEach((ids, bucket) => {
    if (!ids.length) return;
    const centre = bucketCentre(bucket, HALF);
    const [r, g, b] = divergingRgb(centre);
    for (const strong of dim ? [false, true] : [true]) {
      for (const dashed of modulates ? [false, true] : [false]) {
        const segments = new Float32Array(4 * ids.length);
        let n = 0;
        for (let i = 0; i < ids.length; i++) {
          const e = ids[i];
          const a = src[e];
          const c = dst[e];
          if (dim && (dim[a] === 1 && dim[c] === 1) !== strong) continue;
          if (modulates && (modulates[e] === 1) !== dashed) continue;
          segments[n++] = x[a];
          segments[n++] = y[a];
          segments[n++] = x[c];
          segments[n++] = y[c];
        }
        if (!n) continue;
        commands.push({
          type: "lines", segments: segments.subarray(0, n), color: `rgb(${r},${g},${b})`,
          opacity: strong ? edgeOpacity(Math.abs(centre)) : DIMMED, width: widths[bucket],
          dash: dashed ? [4 / k, 3 / k] : null,
        });
      }
    }
  });
  return commands;
}

/** Pixels of an input channel ("maps" mode) as rectangles of side `px` centred on (cx, cy). */
function mapCommands(commands, map, extent, [h, w], cx, cy, px, opacity) {
  for (let i = 0; i < h * w; i++) {
    commands.push({
      type: "rect", x: cx - (w * px) / 2 + (i % w) * px, y: cy - (h * px) / 2 + Math.floor(i / w) * px,
      w: px, h: px, color: divergingColor(map[i], extent), opacity,
    });
  }
}

/**
 * Units: a disc coloured by `values` (per-layer extent), a ring whose width shows |activation|,
 * a cross on intervened units; input pixels as squares ("grid") or small maps ("maps"); the
 * output units' labels (class and probability, from Python) beside them when they fit.
 * @param {object} scene  {layers, layout, activations, ablated, highlight?, inputMap?, outputLabels?}
 * @param {Float32Array} values  node values (scores or activations)
 * @param {{k?: number, colors?: object}} options
 */
export function nodeCommands(scene, values, { k = 1, colors: given = {} } = {}) {
  const colors = { ...DEFAULT_COLORS, ...given };
  const { x, y, r, offsets, cell } = scene.layout;
  const commands = [];
  const mapExtent = scene.inputMap ? maxAbs(scene.inputMap) : 0;
  scene.layers.forEach((layer, li) => {
    const start = offsets[li];
    const extent = maxAbs(values.subarray(start, start + layer.n_nodes));
    const actExtent = maxAbs(scene.activations.subarray(start, start + layer.n_nodes));
    const mode = layer.image?.mode;
    for (let u = 0; u < layer.n_nodes; u++) {
      const i = start + u;
      const opacity = scene.highlight && !scene.highlight[i] ? FADED : 1;
      if (mode === "grid") {
        const s = cell[li];
        commands.push({ type: "rect", x: x[i] - s / 2, y: y[i] - s / 2, w: s, h: s, color: divergingColor(values[i], extent), opacity });
        continue;
      }
      if (mode === "maps" && scene.inputMap) {
        const size = layer.image.size[0] * layer.image.size[1];
        mapCommands(commands, scene.inputMap.subarray(u * size, (u + 1) * size), mapExtent, layer.image.size, x[i], y[i], cell[li], opacity);
      } else {
        commands.push({ type: "circle", x: x[i], y: y[i], r: r[i], color: divergingColor(values[i], extent), opacity });
      }
      const width = (0.5 + 2.5 * Math.abs(normalise(scene.activations[i], actExtent))) / k;
      commands.push({ type: "ring", x: x[i], y: y[i], r: r[i] + width / 2, color: colors.ring, opacity, width });
      if (scene.ablated?.[i]) {
        const s = r[i] * 0.8;
        const segments = Float32Array.of(x[i] - s, y[i] - s, x[i] + s, y[i] + s, x[i] + s, y[i] - s, x[i] - s, y[i] + s);
        commands.push({ type: "lines", segments, color: colors.ablated, opacity, width: 2 / k, dash: null });
      }
    }
  });
  commands.push(...outputLabelCommands(scene, k, colors));
  return commands;
}

/** The output layer's labels ("cat 0.93") right of its units, when one label per unit was sent
 * and the units are far enough apart on screen for the text not to overlap. */
export function outputLabelCommands(scene, k = 1, colors = DEFAULT_COLORS) {
  const labels = scene.outputLabels;
  const li = scene.layers.findIndex((layer) => layer.role === "output");
  if (!Array.isArray(labels) || li < 0 || labels.length !== scene.layers[li].n_nodes) return [];
  const { x, y, r, offsets } = scene.layout;
  const start = offsets[li];
  const n = labels.length;
  if (n > 1 && Math.abs(y[start + 1] - y[start]) * k < LABEL_MIN_SPACING) return [];
  return labels.map((text, u) => ({
    type: "text", x: x[start + u] + r[start + u] + LABEL_GAP / k, y: y[start + u], text: String(text),
    color: colors.text, opacity: scene.highlight && !scene.highlight[start + u] ? FADED : 1, size: LABEL_SIZE / k,
  }));
}

/** Room (px) to keep right of the output layer for its labels: none when the output layer is
 * grouped (no label per unit) or the network has no output layer. */
export function labelRoom(layers, classLabels) {
  const output = layers.find((layer) => layer.role === "output");
  if (!output || !classLabels?.length || output.n_nodes !== classLabels.length) return 0;
  const longest = Math.max(...classLabels.map((label) => String(label).length));
  return LABEL_GAP + Math.min(24, longest + 5) * LABEL_SIZE * 0.6; // "<label> 0.93", ~0.6 em a character
}
