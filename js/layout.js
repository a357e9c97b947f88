// Pure layout: unit layers as columns (x = depth), units spread along y.

/**
 * Positions of every unit.
 * @param {{name: string, n_units: number}[]} layers  layers in depth order
 * @param {{width: number, height: number, margin?: number}} box
 * @returns {{x: Float32Array, y: Float32Array, layerOf: Uint32Array, offsets: number[]}}
 *   flat arrays over all units; `offsets[i]` is the index of layer i's first unit.
 */
export function layoutColumns(layers, { width, height, margin = 24 }) {
  const offsets = [];
  let total = 0;
  for (const layer of layers) {
    offsets.push(total);
    total += layer.n_units;
  }
  const x = new Float32Array(total);
  const y = new Float32Array(total);
  const layerOf = new Uint32Array(total);
  const columns = layers.length;
  const innerW = Math.max(0, width - 2 * margin);
  const innerH = Math.max(0, height - 2 * margin);
  layers.forEach((layer, i) => {
    const cx = columns === 1 ? width / 2 : margin + (innerW * i) / (columns - 1);
    for (let u = 0; u < layer.n_units; u++) {
      const k = offsets[i] + u;
      x[k] = cx;
      y[k] = layer.n_units === 1 ? height / 2 : margin + (innerH * u) / (layer.n_units - 1);
      layerOf[k] = i;
    }
  });
  return { x, y, layerOf, offsets };
}
