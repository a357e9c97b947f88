// Pure layout: unit layers as columns (x = depth), units spread along y; an image-like
// input layer as a pixel grid (each unit a pixel) or as small channel maps; several input
// layers (a model with several inputs) stacked in bands in the first column.

/** How many leading layers are input layers sharing the first column (0 when just one). */
export function stackedInputs(layers) {
  let k = 0;
  while (k < layers.length && layers[k].role === "input") k++;
  return k > 1 ? k : 0;
}

/** Bands (top, height) stacking `counts` units over [y0, y0 + h], proportional to the unit
 * counts, with a gap between bands (room for each band's label). */
export function stackBands(counts, y0, h, gap = 34) {
  const room = Math.max(0, h - gap * (counts.length - 1));
  const total = counts.reduce((a, c) => a + Math.max(1, c), 0);
  const bands = [];
  let top = y0;
  for (const c of counts) {
    const height = (room * Math.max(1, c)) / total;
    bands.push({ top, height });
    top += height + gap;
  }
  return bands;
}

/**
 * Positions and sizes of every unit in world coordinates.
 * @param {{n_nodes: number, image?: {mode: string, size: number[]}|null}[]} layers
 * @param {{width: number, height: number, margin?: number, top?: number, right?: number}} box
 *   (`right`: the margin right of the last column, default `margin`)
 * @returns {{x: Float32Array, y: Float32Array, r: Float32Array, layerOf: Uint32Array,
 *   offsets: number[], columns: number[], cell: number[], bands: ({top: number, height: number}|null)[]}}
 *   `r` is a unit's radius (half the side for pixels and maps), `cell[i]` the pixel size of
 *   layer i when it is drawn as an image (0 otherwise), `bands[i]` the vertical band of a
 *   stacked input layer (null otherwise).
 */
export function layoutColumns(layers, { width, height, margin = 24, top = 0, right = margin }) {
  const offsets = [];
  let total = 0;
  for (const layer of layers) {
    offsets.push(total);
    total += layer.n_nodes;
  }
  const x = new Float32Array(total);
  const y = new Float32Array(total);
  const r = new Float32Array(total);
  const layerOf = new Uint32Array(total);
  const stacked = stackedInputs(layers);
  const shift = stacked ? stacked - 1 : 0; // stacked input layers share column 0
  const n = layers.length - shift;
  const innerH = Math.max(0, height - 2 * margin - top);
  const bands = layers.map(() => null);
  if (stacked) {
    const counts = layers.slice(0, stacked).map((layer) => layer.n_nodes);
    stackBands(counts, top + margin, innerH).forEach((band, i) => {
      bands[i] = band;
    });
  }
  // an image-like first layer needs room for its picture left of its column centre
  const gridSide = layers[0]?.image?.mode === "grid" ? Math.min(innerH, 180, width / (2 * n)) : 0;
  // stacked input layers: room for their labels (centred on the column) left of it
  const labelRoom = stacked ? Math.min(90, 3.5 * Math.max(...layers.slice(0, stacked).map((l) => `${l.name} (${l.n_units ?? l.n_nodes})`.length))) : 0;
  const left = margin + (layers[0]?.image?.mode === "maps" ? 40 : gridSide / 2) + labelRoom;
  const innerW = Math.max(0, width - left - right);
  const spacing = n > 1 ? innerW / (n - 1) : innerW;
  const columns = layers.map((_, i) => {
    const c = Math.max(0, i - shift);
    return n === 1 ? width / 2 : left + spacing * c;
  });
  const cell = layers.map(() => 0);
  layers.forEach((layer, i) => {
    const cx = columns[i];
    const image = layer.image;
    if (image?.mode === "grid") {
      const [h, w] = image.size;
      const side = gridSide;
      const px = side / Math.max(h, w);
      cell[i] = px;
      const x0 = cx - (w * px) / 2;
      const y0 = top + margin + innerH / 2 - (h * px) / 2;
      for (let u = 0; u < layer.n_nodes; u++) {
        const k = offsets[i] + u;
        x[k] = x0 + ((u % w) + 0.5) * px;
        y[k] = y0 + (Math.floor(u / w) + 0.5) * px;
        r[k] = px / 2;
        layerOf[k] = i;
      }
      return;
    }
    const y0 = bands[i] ? bands[i].top : top + margin;
    const h = bands[i] ? bands[i].height : innerH;
    const slot = layer.n_nodes > 1 ? h / (layer.n_nodes - 1) : h;
    let radius = Math.max(1.5, Math.min(9, slot * 0.4));
    if (image?.mode === "maps") {
      radius = Math.max(4, Math.min(spacing * 0.3, slot * 0.45, 40));
      cell[i] = (2 * radius) / Math.max(...image.size);
    }
    for (let u = 0; u < layer.n_nodes; u++) {
      const k = offsets[i] + u;
      x[k] = cx;
      y[k] = layer.n_nodes === 1 ? y0 + h / 2 : y0 + slot * u;
      r[k] = radius;
      layerOf[k] = i;
    }
  });
  return { x, y, r, layerOf, offsets, columns, cell, bands };
}

/** The transform that fits world box (width, height) into the view: identity here. */
export function fitTransform() {
  return { k: 1, tx: 0, ty: 0 };
}

/** Zoom transform `t` by `factor` around screen point (sx, sy), clamped to [0.2, 40]. */
export function zoomAt(t, factor, sx, sy) {
  const k = Math.max(0.2, Math.min(40, t.k * factor));
  const f = k / t.k;
  return { k, tx: sx - (sx - t.tx) * f, ty: sy - (sy - t.ty) * f };
}

/** World coordinates of screen point (sx, sy) under transform `t`. */
export function toWorld(t, sx, sy) {
  return [(sx - t.tx) / t.k, (sy - t.ty) / t.k];
}
