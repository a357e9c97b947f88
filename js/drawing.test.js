import { describe, expect, it } from "vitest";
import { DEFAULT_COLORS, edgeCommands, edgeOpacity, labelRoom, nodeCommands, outputLabelCommands } from "./drawing.js";
import { layoutColumns } from "./layout.js";
import { paintCommands } from "./paint.js";
import { bucketCentre, divergingRgb } from "./scales.js";
import { toSVG } from "./svg.js";

const layers = [
  { name: "in", n_nodes: 2, role: "input" },
  { name: "out", n_nodes: 3, role: "output" },
];
const layout = layoutColumns(layers, { width: 300, height: 200, top: 22 });
const base = {
  layers,
  layout,
  src: new Uint32Array([0, 1, 0, 1]),
  dst: new Uint32Array([2, 3, 4, 4]),
  activations: new Float32Array([1, 1, 2, 0, 1]),
  ablated: new Uint8Array([0, 0, 0, 1, 0]),
};
const values = new Float32Array([1, -1, 0.05, 0.06]);
const all = new Uint32Array([0, 1, 2, 3]);
const segmentsOf = (c) => Array.from(c.segments);

describe("edgeCommands", () => {
  it("draws each edge once, in the colour, opacity and width of its bucket", () => {
    const commands = edgeCommands(base, { visible: all, values });
    expect(commands.reduce((n, c) => n + c.segments.length / 4, 0)).toBe(4);
    const strongest = commands.find((c) => segmentsOf(c).join() === [layout.x[0], layout.y[0], layout.x[2], layout.y[2]].map((v) => Math.fround(v)).join());
    const centre = bucketCentre(15); // the most positive bucket
    expect(strongest.color).toBe(`rgb(${divergingRgb(centre).join(",")})`);
    expect(strongest.opacity).toBeCloseTo(edgeOpacity(Math.abs(centre)));
    expect(strongest.width).toBeCloseTo(0.5 + Math.abs(centre));
    // the two weak edges share one bucket: one command, one path
    expect(commands.filter((c) => c.segments.length === 8)).toHaveLength(1);
  });

  it("keeps widths constant on screen and caps wide lines past the budget only when asked", () => {
    const [at1] = edgeCommands(base, { visible: all.subarray(0, 1), values });
    const [at2] = edgeCommands(base, { visible: all.subarray(0, 1), values, k: 2 });
    expect(at2.width).toBeCloseTo(at1.width / 2);
    const many = new Uint32Array(400); // 400 copies of the strongest edge: past the budget
    const capped = edgeCommands(base, { visible: many, values, devicePerWorld: 1 });
    expect(capped[0].width).toBe(1);
    expect(edgeCommands(base, { visible: many, values })[0].width).toBeGreaterThan(1);
  });

  it("splits a highlight into a dimmed and a strong pass, and gates into dashed lines", () => {
    const highlight = new Uint8Array([1, 0, 1, 0, 0]); // only edge 0 joins two highlighted units
    const commands = edgeCommands({ ...base, highlight }, { visible: all, values });
    const strong = commands.filter((c) => c.opacity > 0.05);
    expect(strong).toHaveLength(1);
    expect(strong[0].segments.length).toBe(4);
    const modulates = new Uint8Array([0, 1, 0, 0]);
    const dashed = edgeCommands({ ...base, modulates }, { visible: all, values, k: 2 }).filter((c) => c.dash);
    expect(dashed).toHaveLength(1);
    expect(dashed[0].dash).toEqual([2, 1.5]);
    expect(segmentsOf(dashed[0])).toEqual([layout.x[1], layout.y[1], layout.x[3], layout.y[3]].map((v) => Math.fround(v)));
  });
});

describe("nodeCommands", () => {
  const nodeValues = new Float32Array([0.5, -0.5, 1, 0, -1]);

  it("draws a disc and an activation ring per unit and a cross on intervened units", () => {
    const commands = nodeCommands(base, nodeValues);
    expect(commands.filter((c) => c.type === "circle")).toHaveLength(5);
    const rings = commands.filter((c) => c.type === "ring");
    expect(rings.map((c) => c.width)).toEqual([3, 3, 3, 0.5, 1.75]); // 0.5 + 2.5 |a| / max |a|
    const crosses = commands.filter((c) => c.type === "lines");
    expect(crosses).toHaveLength(1);
    expect(crosses[0].color).toBe(DEFAULT_COLORS.ablated);
    expect(crosses[0].segments[0]).toBeCloseTo(layout.x[3] - 0.8 * layout.r[3], 4);
  });

  it("fades the units a highlight leaves out", () => {
    const highlight = new Uint8Array([1, 0, 0, 0, 0]);
    const discs = nodeCommands({ ...base, highlight }, nodeValues).filter((c) => c.type === "circle");
    expect(discs.map((c) => c.opacity)).toEqual([1, 0.2, 0.2, 0.2, 0.2]);
  });

  it("draws an input grid as squares and input maps pixel by pixel", () => {
    const gridLayers = [{ ...layers[0], image: { mode: "grid", size: [1, 2] } }, layers[1]];
    const grid = { ...base, layers: gridLayers, layout: layoutColumns(gridLayers, { width: 300, height: 200 }) };
    const rects = nodeCommands(grid, nodeValues).filter((c) => c.type === "rect");
    expect(rects).toHaveLength(2);
    const mapLayers = [{ ...layers[0], image: { mode: "maps", size: [2, 2] } }, layers[1]];
    const maps = { ...base, layers: mapLayers, layout: layoutColumns(mapLayers, { width: 300, height: 200 }), inputMap: new Float32Array([1, -1, 0, 0.5, 0, 0, 0, 2]) };
    const pixels = nodeCommands(maps, nodeValues).filter((c) => c.type === "rect");
    expect(pixels).toHaveLength(8); // 2 channels × 2×2 pixels
    expect(pixels[7].color).toBe(`rgb(${divergingRgb(1).join(",")})`); // the map's largest value
  });
});

describe("output labels", () => {
  it("labels each output unit to its right, only when one label per unit fits", () => {
    const scene = { ...base, outputLabels: ["cat 0.90", "dog 0.08", "<b>x</b> 0.02"] };
    const labels = outputLabelCommands(scene);
    expect(labels.map((c) => c.text)).toEqual(scene.outputLabels);
    expect(labels[0].x).toBeGreaterThan(layout.x[2] + layout.r[2]);
    expect(labels[1].y).toBe(layout.y[3]);
    expect(outputLabelCommands({ ...base, outputLabels: ["a", "b"] })).toEqual([]); // grouped layer
    expect(outputLabelCommands({ ...base, outputLabels: ["a", "b", "c"] }, 0.01)).toEqual([]); // would overlap
    expect(outputLabelCommands(base)).toEqual([]);
  });

  it("get room right of the output layer only when each output unit has a label", () => {
    expect(labelRoom(layers, ["cat", "dog", "emu"])).toBeGreaterThan(40);
    expect(labelRoom(layers, ["a", "b"])).toBe(0);
    expect(labelRoom(layers.slice(0, 1), ["a", "b"])).toBe(0);
    expect(labelRoom(layers, ["x".repeat(500), "b", "c"])).toBeLessThan(200); // bounded
  });

  it("are escaped in the SVG export", () => {
    const svg = toSVG({
      ...base, outputLabels: ["cat 0.90", "dog 0.08", "<b>x</b> & 0.02"], visible: all, edgeValues: values,
      nodeValues: new Float32Array(5), width: 300, height: 200,
    });
    expect(svg).toContain(">&lt;b&gt;x&lt;/b&gt; &amp; 0.02</text>");
    expect(svg).not.toContain("<b>");
  });
});

describe("paintCommands", () => {
  it("strokes each lines command as one path of its segments", () => {
    const calls = [];
    const ctx = new Proxy({}, {
      get: (_, name) => (...args) => calls.push([name, ...args]),
      set: (_, name, value) => calls.push([`${String(name)}=`, value]) || true,
    });
    const commands = edgeCommands(base, { visible: all, values });
    paintCommands(ctx, commands);
    expect(calls.filter(([n]) => n === "stroke")).toHaveLength(commands.length);
    expect(calls.filter(([n]) => n === "lineTo")).toHaveLength(4);
    expect(calls).toContainEqual(["strokeStyle=", commands[0].color]);
    expect(calls.at(-1)).toEqual(["setLineDash", []]);
  });
});
