// The one renderer: three stacked canvases. Edges (the bulk: straight thin lines, one path
// per colour bucket), nodes, and an overlay for hover/selection highlights so that a hover
// never redraws every edge.
import { edgeCommands, HALF, nodeCommands } from "./drawing.js";
import { bucketEdges } from "./edges.js";
import { paintCommands } from "./paint.js";
import { placeText } from "./textlayer.js";

const HIGHLIGHT_BOLD_MAX = 200; // highlighted lines drawn 1.6 px wide, at most

function makeCanvas(className) {
  const canvas = document.createElement("canvas");
  canvas.className = className;
  return canvas;
}

export class Renderer {
  constructor(container) {
    this.edgesCanvas = makeCanvas("netviz-edges");
    this.nodesCanvas = makeCanvas("netviz-nodes");
    this.overlayCanvas = makeCanvas("netviz-overlay");
    this.textLayer = document.createElement("div");
    this.textLayer.className = "netviz-text";
    container.append(this.edgesCanvas, this.nodesCanvas, this.overlayCanvas, this.textLayer);
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
    this.edgeScale = 1;
  }

  /**
   * Level of detail for the edge layer: above `threshold` visible edges it is drawn at half
   * resolution (a quarter of the pixels to rasterise; a dense haze either way).
   */
  setEdgeDetail(visibleCount, threshold = 20000) {
    const scale = visibleCount > threshold ? 0.5 : 1;
    if (scale === this.edgeScale) return;
    this.edgeScale = scale;
    this.sizeCanvas(this.edgesCanvas, scale);
  }

  sizeCanvas(canvas, scale = 1) {
    canvas.width = Math.max(1, Math.round(this.width * this.dpr * scale));
    canvas.height = Math.max(1, Math.round(this.height * this.dpr * scale));
    canvas.style.width = `${this.width}px`;
    canvas.style.height = `${this.height}px`;
  }

  resize(width, height) {
    this.dpr = globalThis.devicePixelRatio || 1;
    this.width = width;
    this.height = height;
    this.sizeCanvas(this.edgesCanvas, this.edgeScale);
    this.sizeCanvas(this.nodesCanvas);
    this.sizeCanvas(this.overlayCanvas);
  }

  context(canvas, t, scale = 1) {
    const ctx = canvas.getContext("2d");
    const f = this.dpr * scale;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(f * t.k, 0, 0, f * t.k, f * t.tx, f * t.ty);
    return ctx;
  }

  /**
   * Draw `visible` edges coloured by `values` (edge scores or weights): straight lines, one
   * path per colour bucket (drawing.js edgeCommands). Lines wider than one device pixel cost
   * ~10× a thin one in software rasterisers; past a budget of such lines (edge weights, 2×
   * screens: WIDE_LINE_BUDGET) every line is drawn at most one device pixel wide.
   */
  drawEdges(scene, t, visible, values) {
    this.edgesCanvas.style.transform = "";
    const ctx = this.context(this.edgesCanvas, t, this.edgeScale);
    if (this.bucketed?.visible !== visible || this.bucketed?.values !== values) {
      this.bucketed = { visible, values, ...bucketEdges(visible, values, HALF) };
    }
    // at half resolution the lines are drawn half as wide (a dense haze either way)
    paintCommands(ctx, edgeCommands(scene, {
      visible, values, buckets: this.bucketed.buckets, k: t.k, widthScale: this.edgeScale < 1 ? 0.5 : 1,
      devicePerWorld: this.dpr * this.edgeScale * t.k,
    }));
  }

  /**
   * Move the last edge drawing (made at transform `drawnAt`) to transform `t` as a bitmap:
   * a pan or zoom frame costs a compositor blit instead of a redraw of every edge.
   */
  shiftEdges(drawnAt, t) {
    const s = t.k / drawnAt.k;
    const dx = t.tx - drawnAt.tx * s;
    const dy = t.ty - drawnAt.ty * s;
    this.edgesCanvas.style.transformOrigin = "0 0";
    this.edgesCanvas.style.transform = `translate(${dx}px, ${dy}px) scale(${s})`;
  }

  /** Draw units coloured by `values` (scores or activations), ring = activation, and the output
   * labels as HTML over the canvas (drawing.js, textlayer.js). */
  drawNodes(scene, t, values, colors) {
    const ctx = this.context(this.nodesCanvas, t);
    const commands = nodeCommands(scene, values, { k: t.k, colors });
    paintCommands(ctx, commands.filter((c) => c.type !== "text"));
    placeText(this.textLayer, commands.filter((c) => c.type === "text"), t);
  }

  /** Highlights: edges of the hovered and selected units, rings around them. */
  drawOverlay(scene, t, { hovered, hoveredEdge, selected, colors }) {
    const ctx = this.context(this.overlayCanvas, t);
    const { x, y, r } = scene.layout;
    const units = new Set(selected);
    if (hovered >= 0) units.add(hovered);
    const { start, ids } = scene.adj;
    let count = 0;
    for (const u of units) for (let i = start[u]; i < start[u + 1]; i++) count += scene.visibleMask[ids[i]];
    // a few highlighted lines are drawn bold; a wide unit's hundreds as thin lines (wide lines
    // cost ~10× in software and a hover must stay within a frame)
    ctx.lineWidth = count > HIGHLIGHT_BOLD_MAX ? 1 / (t.k * this.dpr) : 1.6 / t.k;
    ctx.strokeStyle = colors.highlight;
    ctx.beginPath();
    for (const u of units) {
      for (let i = start[u]; i < start[u + 1]; i++) {
        const e = ids[i];
        if (!scene.visibleMask[e]) continue;
        ctx.moveTo(x[scene.src[e]], y[scene.src[e]]);
        ctx.lineTo(x[scene.dst[e]], y[scene.dst[e]]);
      }
    }
    ctx.stroke();
    if (hoveredEdge >= 0) {
      ctx.lineWidth = 3 / t.k;
      ctx.beginPath();
      ctx.moveTo(x[scene.src[hoveredEdge]], y[scene.src[hoveredEdge]]);
      ctx.lineTo(x[scene.dst[hoveredEdge]], y[scene.dst[hoveredEdge]]);
      ctx.stroke();
    }
    for (const u of units) {
      ctx.lineWidth = (selected.includes(u) ? 3 : 2) / t.k;
      ctx.strokeStyle = selected.includes(u) ? colors.selected : colors.highlight;
      ctx.beginPath();
      ctx.arc(x[u], y[u], r[u] + 3 / t.k, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}
