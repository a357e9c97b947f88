// DOM panels around the canvas: header, legend, tooltip, layer labels, drill-down, error.
// Every user-provided string goes through textContent: names and labels are never HTML.
import { decodeArray } from "./codecs.js";
import { predictionText } from "./prediction.js";
import { divergingColor, divergingRgb, maxAbs } from "./scales.js";

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "predicted 7 (p = 0.990) · target 7 · 2 interventions" and the completeness warning. */
export function renderHeader(header, state, labels) {
  header.replaceChildren();
  if (!state?.probabilities) return;
  const predicted = element("span", "netviz-prediction", predictionText(state.probabilities, state.predicted, labels));
  const target = element("span", "netviz-target", ` · explaining ${labels[state.target] ?? state.target}`);
  const count = state.interventions?.length ?? 0;
  const ivs = element("span", "netviz-interventions", count ? ` · ${count} intervention${count > 1 ? "s" : ""}: ${state.interventions.join("; ")}` : "");
  header.append(predicted, target, ivs);
  if (state.warning) header.append(element("div", "netviz-warning", state.warning));
}

/** Colour bar with its extent and what the colours and rings mean. */
export function renderLegend(legend, { nodeMetric, edgeMetric, extent }) {
  legend.replaceChildren();
  const bar = element("canvas", "netviz-colorbar");
  bar.width = 120;
  bar.height = 10;
  const ctx = bar.getContext("2d");
  if (ctx) {
    for (let i = 0; i < 120; i++) {
      const [r, g, b] = divergingRgb((i / 119) * 2 - 1);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(i, 0, 1, 10);
    }
  }
  const low = element("span", "netviz-legend-tick", `−${extent.toPrecision(2)}`);
  const high = element("span", "netviz-legend-tick", `+${extent.toPrecision(2)}`);
  const nodeText = nodeMetric === "activation" ? "activation" : "conductance (toward the target)";
  const edgeText = edgeMetric === "weight" ? "weight" : "edge conductance";
  legend.append(
    low,
    bar,
    high,
    element("span", "netviz-legend-text", ` units: ${nodeText} · edges: ${edgeText} · ring: activation · ✕: intervened`),
  );
}

/** Tooltip lines near the pointer. */
export function showTooltip(tooltip, lines, sx, sy, bounds) {
  tooltip.replaceChildren(...lines.map((line) => element("div", null, line)));
  tooltip.style.display = "block";
  const left = Math.min(sx + 14, Math.max(0, bounds.width - 220));
  tooltip.style.left = `${left}px`;
  tooltip.style.top = `${Math.max(0, sy + 14)}px`;
}

export function hideTooltip(tooltip) {
  tooltip.style.display = "none";
}

/** Layer names with unit counts above their columns, in screen space; a stacked input layer
 * after the first (`bands[i]`, see layoutColumns) is labelled just above its band. */
export function renderLayerLabels(container, layers, columns, t, bands = []) {
  container.replaceChildren(
    ...layers.map((layer, i) => {
      const label = element("div", "netviz-layer-label", `${layer.name} (${layer.n_units ?? layer.n_nodes})`);
      label.style.left = `${columns[i] * t.k + t.tx}px`;
      if (i > 0 && bands[i]) label.style.top = `${bands[i].top * t.k + t.ty - 26}px`;
      return label;
    }),
  );
}

/** A small h × w canvas shown at `size` px wide, one pixel per value, coloured by `color(v)`. */
function pixelCanvas(className, values, h, w, size, color) {
  const canvas = element("canvas", className);
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${(size * h) / w}px`;
  const ctx = canvas.getContext("2d");
  if (ctx) {
    for (let i = 0; i < h * w; i++) {
      ctx.fillStyle = color(values[i]);
      ctx.fillRect(i % w, Math.floor(i / w), 1, 1);
    }
  }
  return canvas;
}

function heatmap(values, h, w, size) {
  const extent = maxAbs(values);
  return pixelCanvas("netviz-heatmap", values, h, w, size, (v) => divergingColor(v, extent));
}

function grey(values, h, w, size) {
  const max = maxAbs(values) || 1;
  return pixelCanvas("netviz-thumb", values, h, w, size, (v) => {
    const level = Math.round(255 - (255 * Math.max(0, v)) / max);
    return `rgb(${level},${level},${level})`;
  });
}

/** The selected unit's drill-down: NeuronConductance map or top inputs, top examples. */
export function renderDrilldown(panel, drill, inputLayer) {
  panel.replaceChildren();
  if (!drill?.layer) {
    panel.style.display = "none";
    return;
  }
  panel.style.display = "block";
  panel.append(element("div", "netviz-drill-title", `${drill.layer}[${drill.unit}] — what drives it`));
  const scores = decodeArray(drill.input_scores).data;
  const size = inputLayer?.image?.size;
  const pixels = size ? size[0] * size[1] : 0;
  if (size && scores.length % pixels === 0) {
    panel.append(element("div", "netviz-drill-caption", "neuron conductance of the input"));
    panel.append(heatmap(scores.subarray(0, pixels), size[0], size[1], 96));
  } else {
    panel.append(element("div", "netviz-drill-caption", `top inputs: ${(drill.top_input_names ?? drill.top_inputs).join(", ")}`));
  }
  panel.append(element("div", "netviz-drill-caption", "top-activating reference examples"));
  const row = element("div", "netviz-drill-examples");
  const examples = decodeArray(drill.example_pixels);
  const per = examples.shape[1] ?? 0;
  drill.top_examples.forEach((index, i) => {
    const item = element("div", "netviz-drill-example");
    if (size && per === pixels) {
      item.append(grey(examples.data.subarray(i * per, (i + 1) * per), size[0], size[1], 36));
    }
    item.append(element("div", null, `#${index}: ${drill.top_activations[i]}`));
    row.append(item);
  });
  panel.append(row);
}

/** A visible error message (or nothing). */
export function renderError(banner, message) {
  banner.textContent = message || "";
  banner.style.display = message ? "block" : "none";
}
