import { describe, expect, it } from "vitest";
import { layoutColumns } from "./layout.js";
import { escapeXml, toSVG } from "./svg.js";

describe("toSVG", () => {
  const layers = [
    { name: "in<put>", n_nodes: 2 },
    { name: "fc1", n_nodes: 3 },
  ];
  const layout = layoutColumns(layers, { width: 300, height: 200, top: 22 });
  const scene = {
    layers,
    layout,
    src: new Uint32Array([0, 1, 0]),
    dst: new Uint32Array([2, 3, 4]),
    visible: new Uint32Array([0, 1, 2]),
    edgeValues: new Float32Array([1, -1, 0.1]),
    nodeValues: new Float32Array([0.5, -0.5, 1, 0, -1]),
    activations: new Float32Array([1, 1, 2, 0, 1]),
    ablated: new Uint8Array([0, 0, 0, 1, 0]),
    width: 300,
    height: 200,
    title: "a & b",
  };

  it("draws every unit, groups edges by colour, marks ablated units", () => {
    const svg = toSVG(scene);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<circle [^>]*fill="rgb/g)).toHaveLength(5); // discs
    expect(svg.match(/<circle [^>]*fill="none"/g)).toHaveLength(5); // activation rings
    const edges = svg.slice(svg.indexOf('<g class="netviz-edges">'), svg.indexOf('<g class="netviz-units">'));
    expect(edges.match(/stroke="rgb\(/g).length).toBe(3); // three edges, three colour buckets
    expect(svg).toContain('stroke="#111"'); // the ablation cross
  });

  it("escapes names and titles", () => {
    const svg = toSVG(scene);
    expect(svg).toContain("in&lt;put&gt; (2)");
    expect(svg).toContain("a &amp; b");
    expect(svg).not.toContain("<put>");
    expect(escapeXml(`"'<>&`)).toBe("&quot;&apos;&lt;&gt;&amp;");
  });

  it("drops control characters that XML refuses", () => {
    expect(escapeXml("a\u0000b\u0007c\u001bd\tz")).toBe("abcd\tz");
    expect(toSVG({ ...scene, title: "t\u0001\u000c!" })).toContain(">t!</text>");
  });

  it("places units exactly where the canvas layout puts them", () => {
    const svg = toSVG(scene);
    expect(svg).toContain(`cx="${Math.round(layout.x[2] * 100) / 100}" cy="${Math.round(layout.y[2] * 100) / 100}"`);
  });
});
