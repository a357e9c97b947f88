// anywidget entry: render({model, el}) draws from traits only, sends requests (a selection),
// and returns a cleanup that removes every listener and observer.
import { decodeArray } from "./codecs.js";
import { adjacency, topKByMagnitude } from "./edges.js";
import { buildUnitGrid, hitEdge, hitUnit } from "./hittest.js";
import { labelRoom } from "./drawing.js";
import { attachInteraction } from "./interaction.js";
import { fitTransform, layoutColumns } from "./layout.js";
import * as panels from "./panels.js";
import { Renderer } from "./renderer.js";
import { clickedIds, idsToSelection, selectionIds, selectionRequests } from "./selection.js";
import { toSVG } from "./svg.js";
import { maxAbs } from "./scales.js";
import "./widget.css";

const LABEL_BAND = 22;

/** "fc1[3]" for a unit, "fc1[128–143]" for a group of a wide layer. */
const nodeName = (layer, u) => layer.labels?.[u] ?? `${layer.name}[${u}]`;

function decodeTopology(topology) {
  const layers = topology.layers ?? [];
  const src = decodeArray(topology.edges.src).data;
  const dst = decodeArray(topology.edges.dst).data;
  const weight = decodeArray(topology.edges.weight).data;
  // 1 for edges from a gate into a product (drawn dashed); null when the model has no gate
  const gates = topology.edges.modulates ? decodeArray(topology.edges.modulates).data : null;
  const modulates = gates?.some((m) => m === 1) ? gates : null;
  const nUnits = layers.reduce((sum, layer) => sum + layer.n_nodes, 0);
  const byName = new Map(layers.map((layer, i) => [layer.name, i]));
  return { layers, labels: topology.class_labels ?? [], src, dst, weight, modulates, nUnits, byName, adj: adjacency(src, dst, nUnits) };
}

/** Compare mode: both models' per-node and per-edge values, for the hover. */
function decodeCompare(compare) {
  const data = (name) => decodeArray(compare[name]).data;
  return {
    mode: String(compare.mode ?? ""),
    scores: [data("a_scores"), data("b_scores")],
    activations: [data("a_activations"), data("b_activations")],
    edges: [data("a_edges"), data("b_edges")],
  };
}

function decodeState(state, nUnits) {
  const ablated = new Uint8Array(nUnits);
  for (const id of state.ablated ?? []) if (id < nUnits) ablated[id] = 1;
  return {
    raw: state,
    nodeScores: decodeArray(state.node_scores).data,
    activations: decodeArray(state.activations).data,
    edgeScores: decodeArray(state.edge_scores).data,
    inputMap: state.input_map ? decodeArray(state.input_map).data : null,
    ablated,
    compare: state.compare ? decodeCompare(state.compare) : null,
  };
}

export function createView(model, el) {
  const root = panels.element("div", "netviz-root");
  const header = panels.element("div", "netviz-header");
  const toolbar = panels.element("div", "netviz-toolbar");
  const fit = panels.element("button", "netviz-fit", "fit");
  fit.type = "button";
  fit.title = "reset zoom and pan";
  const legend = panels.element("div", "netviz-legend");
  toolbar.append(legend, fit);
  const stage = panels.element("div", "netviz-stage");
  stage.tabIndex = 0;
  const labels = panels.element("div", "netviz-labels");
  const tooltip = panels.element("div", "netviz-tooltip");
  const error = panels.element("div", "netviz-error");
  const drill = panels.element("div", "netviz-drill");
  const body = panels.element("div", "netviz-body");
  body.append(stage, drill);
  root.append(header, toolbar, error, body);
  el.append(root);
  const renderer = new Renderer(stage);
  stage.append(labels, tooltip);

  let topo = null;
  let st = null;
  let layout = null;
  let unitGrid = null;
  let t = fitTransform();
  let visible = new Uint32Array(0);
  let visibleMask = new Uint8Array(0);
  let hovered = -1;
  let hoveredEdge = -1;
  let lastSeq = -1;
  let frame = 0;
  let edgesAt = t;
  let settle = 0;
  const dirty = { edges: true, nodes: true, overlay: true };

  const colors = () => {
    const style = getComputedStyle(root);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return {
      ring: read("--netviz-ring", "#555"),
      highlight: read("--netviz-highlight", "#0072b2"),
      selected: read("--netviz-selected", "#cc79a7"),
      ablated: read("--netviz-ablated", "#111"),
    };
  };

  const selection = selectionRequests(model); // Python owns the trait; the view sends requests

  const scene = () => {
    const highlightIds = model.get("highlight") ?? [];
    let highlight = null;
    let highlighted = 0;
    if (highlightIds.length && topo) {
      highlight = new Uint8Array(topo.nUnits);
      for (const id of highlightIds) {
        if (id < topo.nUnits && !highlight[id]) {
          highlight[id] = 1;
          highlighted++;
        }
      }
    }
    return {
      layers: topo.layers, layout, src: topo.src, dst: topo.dst, modulates: topo.modulates, adj: topo.adj, visibleMask,
      activations: st.activations, inputMap: st.inputMap, ablated: st.ablated, highlight, highlighted,
      outputLabels: st.raw.output_labels,
    };
  };

  const edgeValues = () => (model.get("edge_color") === "weight" ? topo.weight : st.edgeScores);
  const nodeValues = () => (model.get("node_color") === "activation" ? st.activations : st.nodeScores);

  // When the last state arrived, was decoded and drawn (performance.now() ms), and how long
  // each layer's drawing calls took. No pixel readback here: a harness that wants the time
  // until pixels reads them back itself (benchmarks/bench_render.py).
  const trace = { seq: -1, stateAt: 0, decodedAt: 0, drawStart: 0, drawEnd: 0, edges: 0, nodes: 0, overlay: 0 };
  const timed = (part, fn) => {
    const start = performance.now();
    fn();
    trace[part] = performance.now() - start;
  };

  const draw = () => {
    frame = 0;
    if (!topo || !st || !layout) return;
    trace.drawStart = performance.now();
    const s = scene();
    if (dirty.edges) {
      timed("edges", () => renderer.drawEdges(s, t, visible, edgeValues()));
      edgesAt = t;
    }
    if (dirty.nodes) {
      timed("nodes", () => renderer.drawNodes(s, t, nodeValues(), colors()));
      panels.renderLayerLabels(labels, topo.layers, layout.columns, t, layout.bands);
      panels.renderLegend(legend, { nodeMetric: model.get("node_color"), edgeMetric: model.get("edge_color"), extent: maxAbs(edgeValues()) });
    }
    if (dirty.overlay) {
      const options = { hovered, hoveredEdge, selected: selectionIds(topo, model.get("selection")), colors: colors() };
      timed("overlay", () => renderer.drawOverlay(s, t, options));
    }
    dirty.edges = dirty.nodes = dirty.overlay = false;
    root.dataset.ready = "1";
    root.dataset.seq = String(lastSeq);
    root.dataset.highlighted = String(s.highlighted);
    trace.drawEnd = performance.now();
  };

  const schedule = (...parts) => {
    for (const part of parts) dirty[part] = true;
    if (!frame) frame = requestAnimationFrame(draw);
  };

  const relayout = () => {
    if (!topo) return;
    const width = Math.max(320, stage.clientWidth || el.clientWidth || 800);
    const height = model.get("height") || 460;
    stage.style.height = `${height}px`;
    renderer.resize(width, height);
    layout = layoutColumns(topo.layers, { width, height, margin: 28, top: LABEL_BAND, right: 28 + labelRoom(topo.layers, topo.labels) });
    unitGrid = buildUnitGrid(layout.x, layout.y, 16);
    schedule("edges", "nodes", "overlay");
  };

  const refilter = () => {
    if (!topo || !st) return;
    const values = edgeValues();
    visible = topKByMagnitude(values, model.get("top_k") ?? 2000);
    renderer.setEdgeDetail(visible.length);
    visibleMask = new Uint8Array(topo.src.length);
    for (const e of visible) visibleMask[e] = 1;
    schedule("edges", "overlay");
  };

  // Saved notebook state may be tampered with: a value that does not decode leaves the last
  // good picture in place and says so, instead of breaking the view.
  const guarded = (what, fn) => () => {
    try {
      fn();
    } catch (err) {
      panels.renderError(error, `netviz_widget could not show the ${what}: ${err?.message ?? err}`);
    }
  };

  const onTopology = guarded("network", () => {
    selection.reset();
    const value = model.get("topology");
    if (!value?.layers) return;
    const decoded = decodeTopology(value);
    if (decoded.src.length !== decoded.dst.length || decoded.src.some((u, e) => u >= decoded.nUnits || decoded.dst[e] >= decoded.nUnits)) {
      throw new RangeError("edges refer to units that do not exist");
    }
    topo = decoded;
    t = fitTransform();
    relayout();
    onState();
  });

  const onState = guarded("scores", () => {
    const value = model.get("state");
    if (!topo || !value?.node_scores) return;
    if (typeof value.seq === "number" && value.seq < lastSeq) return; // never show an older state
    const arrived = performance.now();
    const decoded = decodeState(value, topo.nUnits);
    if (decoded.nodeScores.length !== topo.nUnits || decoded.activations.length !== topo.nUnits || decoded.edgeScores.length !== topo.src.length) {
      return; // scores for another topology (a group just expanded): the matching ones follow
    }
    lastSeq = value.seq ?? lastSeq;
    st = decoded;
    panels.renderError(error, model.get("error")); // a good state replaces any decode error
    panels.renderHeader(header, value, topo.labels);
    if (decoded.compare) header.prepend(panels.element("span", "netviz-compare-mode", `${decoded.compare.mode} · `));
    refilter();
    schedule("edges", "nodes", "overlay");
    Object.assign(trace, { seq: lastSeq, stateAt: arrived, decodedAt: performance.now() });
  });

  const unitLines = (k) => {
    const li = layout.layerOf[k];
    const layer = topo.layers[li];
    const u = k - layer.offset;
    const grid = layer.image?.mode === "grid";
    const name = grid ? `${layer.name} pixel (${Math.floor(u / layer.image.size[1])}, ${u % layer.image.size[1]})` : nodeName(layer, u);
    const isGroup = layer.labels?.[u]?.includes("–");
    const lines = [name, `${isGroup ? "mean activation" : "activation"}: ${st.activations[k].toPrecision(4)}`, `${isGroup ? "summed score" : "score"}: ${st.nodeScores[k].toPrecision(4)}`];
    if (st.compare) {
      const { mode, scores, activations } = st.compare;
      lines.splice(1, 2, `showing ${mode}: score ${st.nodeScores[k].toPrecision(4)}`);
      for (const [i, model] of ["A", "B"].entries()) lines.push(`${model}: score ${scores[i][k].toPrecision(4)}, activation ${activations[i][k].toPrecision(4)}`);
    }
    if (isGroup) lines.push("click to expand the group");
    if (st.ablated[k]) lines.push("intervened");
    return lines;
  };

  const edgeLines = (e) => {
    const a = topo.src[e];
    const b = topo.dst[e];
    const la = topo.layers[layout.layerOf[a]];
    const lb = topo.layers[layout.layerOf[b]];
    const lines = [`${nodeName(la, a - la.offset)} → ${nodeName(lb, b - lb.offset)}`, `edge score: ${st.edgeScores[e].toPrecision(4)}`, `weight: ${topo.weight[e].toPrecision(4)}`];
    if (st.compare) lines.push(`A: ${st.compare.edges[0][e].toPrecision(4)} · B: ${st.compare.edges[1][e].toPrecision(4)} (${st.compare.mode} shown)`);
    return lines;
  };

  // Pan/zoom: move the edge bitmap now, redraw the edges sharply once the gesture settles.
  const moveTo = (next) => {
    t = next;
    renderer.shiftEdges(edgesAt, t);
    schedule("nodes", "overlay");
    clearTimeout(settle);
    settle = setTimeout(() => schedule("edges"), 150);
  };

  // Python owns the selection: the view asks for one and redraws when the `selection` trait
  // changes (the offline page's stand-in model answers the request itself). Until Python has
  // answered, the next click builds on the selection asked for; a new topology or an error (a
  // refused request) ends the wait.
  const requestSelection = (value) => selection.request(value);

  const detach = attachInteraction(stage, {
    getTransform: () => t,
    setTransform: moveTo,
    hover: (wx, wy, sx, sy) => {
      if (!layout || !st) return;
      const k = hitUnit(unitGrid, layout.x, layout.y, layout.r, wx, wy, 2 / t.k);
      const e = k < 0 ? hitEdge(visible, topo.src, topo.dst, layout.x, layout.y, wx, wy, 4 / t.k) : -1;
      if (k !== hovered || e !== hoveredEdge) {
        hovered = k;
        hoveredEdge = e;
        schedule("overlay");
      }
      if (k >= 0) panels.showTooltip(tooltip, unitLines(k), sx, sy, { width: renderer.width });
      else if (e >= 0) panels.showTooltip(tooltip, edgeLines(e), sx, sy, { width: renderer.width });
      else panels.hideTooltip(tooltip);
    },
    click: (wx, wy, shift) => {
      if (!layout) return;
      stage.focus({ preventScroll: true });
      const k = hitUnit(unitGrid, layout.x, layout.y, layout.r, wx, wy, 2 / t.k);
      const ids = clickedIds(selectionIds(topo, selection.current()), k, shift);
      if (ids) requestSelection(idsToSelection(topo, layout.layerOf, ids));
    },
    clear: () => requestSelection([]),
    leave: () => {
      hovered = -1;
      hoveredEdge = -1;
      panels.hideTooltip(tooltip);
      schedule("overlay");
    },
  });

  const onFit = () => {
    t = fitTransform();
    schedule("edges", "nodes", "overlay");
  };
  fit.addEventListener("click", onFit);

  const onDrill = guarded("drill-down", () => panels.renderDrilldown(drill, model.get("drilldown"), topo?.layers?.[0]));
  const onError = () => {
    selection.reset();
    panels.renderError(error, model.get("error"));
  };
  const onSelection = () => {
    selection.answered();
    schedule("overlay");
  };
  const onColors = () => {
    refilter();
    schedule("edges", "nodes", "overlay");
  };
  const onHighlight = () => schedule("edges", "nodes", "overlay");
  const listeners = [
    ["change:topology", onTopology],
    ["change:state", onState],
    ["change:selection", onSelection],
    ["change:node_color", () => schedule("nodes")], // the edge layer stays as drawn
    ["change:edge_color", onColors],
    ["change:top_k", refilter],
    ["change:drilldown", onDrill],
    ["change:error", onError],
    ["change:highlight", onHighlight],
    ["change:height", relayout],
  ];
  for (const [event, fn] of listeners) model.on(event, fn);

  const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => relayout());
  observer?.observe(stage);

  // A small handle for tests, benchmarks and debugging: where a unit is on screen, the trace of
  // the last update (timestamps, drawing-call time per layer), a synchronous redraw.
  el.netviz = {
    trace,
    redraw() {
      dirty.edges = dirty.nodes = dirty.overlay = true;
      if (frame) cancelAnimationFrame(frame);
      draw();
      return { ...trace };
    },
    /** Send a selection as the pointer would (tests and scripted demos). */
    requestSelection,
    /** The current picture as an SVG document (same layout and colour scales). */
    toSVG() {
      if (!topo || !st || !layout) return "";
      const { width, height } = renderer;
      return toSVG({ ...scene(), visible, edgeValues: edgeValues(), nodeValues: nodeValues(), width, height, title: header.textContent });
    },
    /** One pan frame, drawn synchronously: what a drag costs per frame (ms). */
    panFrame(dx, dy) {
      const start = performance.now();
      moveTo({ k: t.k, tx: t.tx + dx, ty: t.ty + dy });
      if (frame) cancelAnimationFrame(frame);
      draw();
      return performance.now() - start;
    },
    unitPosition(layerName, unit) {
      const li = topo?.byName.get(layerName);
      if (li === undefined || !layout || !(unit >= 0 && unit < topo.layers[li].n_nodes)) return null;
      const k = topo.layers[li].offset + unit;
      return [layout.x[k] * t.k + t.tx, layout.y[k] * t.k + t.ty];
    },
  };

  onError(); // first: a decode error found below must stay visible
  onTopology();
  onDrill();

  return () => {
    for (const [event, fn] of listeners) model.off(event, fn);
    observer?.disconnect();
    detach();
    fit.removeEventListener("click", onFit);
    if (frame) cancelAnimationFrame(frame);
    clearTimeout(settle);
    delete el.netviz;
    root.remove();
  };
}

export default {
  render({ model, el }) {
    return createView(model, el);
  },
};
