// Pure hit-testing in world coordinates: nearest unit within its radius, nearest edge.

/** Build a uniform grid over unit positions for fast lookups. */
export function buildUnitGrid(x, y, cell = 16) {
  const grid = new Map();
  for (let i = 0; i < x.length; i++) {
    const key = `${Math.floor(x[i] / cell)},${Math.floor(y[i] / cell)}`;
    let list = grid.get(key);
    if (!list) {
      list = [];
      grid.set(key, list);
    }
    list.push(i);
  }
  return { grid, cell };
}

/** Index of the unit whose disc (radius r[i] + slack) contains (px, py), or -1. */
export function hitUnit(index, x, y, radius, px, py, slack = 2) {
  const { grid, cell } = index;
  const cx = Math.floor(px / cell);
  const cy = Math.floor(py / cell);
  let best = -1;
  let bestD = Number.POSITIVE_INFINITY;
  const reach = 1 + Math.ceil(24 / cell);
  for (let gx = cx - reach; gx <= cx + reach; gx++) {
    for (let gy = cy - reach; gy <= cy + reach; gy++) {
      const list = grid.get(`${gx},${gy}`);
      if (!list) continue;
      for (const i of list) {
        const d = Math.hypot(x[i] - px, y[i] - py);
        const r = (radius.length ? radius[i] : radius) + slack;
        if (d <= r && d < bestD) {
          best = i;
          bestD = d;
        }
      }
    }
  }
  return best;
}

/** Distance from (px, py) to the segment (ax, ay)–(bx, by). */
export function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * The visible edge nearest to (px, py) within `tolerance`, or -1 (ties: the later edge).
 * One pass of multiply-adds per edge: an edge whose line is farther than `tolerance`
 * (|cross product| > tolerance × length) is rejected before the exact segment distance.
 */
export function hitEdge(visible, src, dst, x, y, px, py, tolerance) {
  let best = -1;
  let bestD = tolerance;
  const tol2 = tolerance * tolerance;
  for (let i = 0; i < visible.length; i++) {
    const e = visible[i];
    const a = src[e];
    const b = dst[e];
    const ax = x[a];
    const bx = x[b];
    if ((px < ax - tolerance && px < bx - tolerance) || (px > ax + tolerance && px > bx + tolerance)) continue;
    const ay = y[a];
    const dx = bx - ax;
    const dy = y[b] - ay;
    const cross = (px - ax) * dy - (py - ay) * dx;
    if (cross * cross > tol2 * (dx * dx + dy * dy)) continue;
    const d = segmentDistance(px, py, ax, ay, bx, y[b]);
    if (d <= bestD) {
      best = e;
      bestD = d;
    }
  }
  return best;
}
