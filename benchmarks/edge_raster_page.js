// In-page part of bench_edge_raster.py (page.evaluate): draw every edge of an MLP's layout by
// several paths, each → pixels, and return the median ms of each.
async ([widths, repeats, withWebgl]) => {
  const W = 1200, H = 600;
  const offsets = [0];
  widths.forEach((n) => offsets.push(offsets.at(-1) + n));
  const x = [], y = [];
  widths.forEach((n, l) => { for (let u = 0; u < n; u++) { x.push(40 + l * (W - 80) / (widths.length - 1));
    y.push(40 + (n === 1 ? (H - 80) / 2 : (u * (H - 80)) / (n - 1))); } });
  const seg = [];
  for (let l = 0; l + 1 < widths.length; l++) for (let a = 0; a < widths[l]; a++) for (let b = 0; b < widths[l + 1]; b++) {
    seg.push(offsets[l] + a, offsets[l + 1] + b);
  }
  const n = seg.length / 2;
  const bucket = new Uint8Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; bucket[i] = Math.min(15, Math.floor(16 * (s / 2 ** 32) ** 2)); }
  const strength = (b) => (b + 0.5) / 16;
  const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
  const time = (fn) => { fn(); const t = []; for (let r = 0; r < repeats; r++) { const a = performance.now(); fn(); t.push(performance.now() - a); } return Math.round(median(t) * 100) / 100; };
  const canvas2d = (scale, maxWidth) => {
    const c = document.createElement('canvas'); c.width = W * scale; c.height = H * scale;
    const ctx = c.getContext('2d');
    return () => {
      ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, c.width, c.height); ctx.setTransform(scale, 0, 0, scale, 0, 0);
      for (let b = 0; b < 16; b++) {
        ctx.lineWidth = Math.min(maxWidth, 0.5 + strength(b)) / (scale < 1 ? 2 : 1);
        ctx.strokeStyle = `rgba(214,96,0,${0.15 + 0.75 * strength(b)})`;
        ctx.beginPath();
        for (let i = 0; i < n; i++) { if (bucket[i] !== b) continue;
          ctx.moveTo(x[seg[2 * i]], y[seg[2 * i]]); ctx.lineTo(x[seg[2 * i + 1]], y[seg[2 * i + 1]]); }
        ctx.stroke();
      }
      ctx.getImageData(0, 0, 1, 1);
    };
  };
  const webgl2 = (antialias) => {
    const c = document.createElement('canvas'); c.width = W; c.height = H;
    const gl = c.getContext('webgl2', { antialias, premultipliedAlpha: true });
    if (!gl) return null;
    const compile = (type, src) => { const sh = gl.createShader(type); gl.shaderSource(sh, src); gl.compileShader(sh); return sh; };
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, `#version 300 es
      in vec2 p; in vec4 col; out vec4 v; uniform vec2 size;
      void main() { v = col; gl_Position = vec4(p / size * vec2(2, -2) + vec2(-1, 1), 0, 1); }`));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, `#version 300 es
      precision mediump float; in vec4 v; out vec4 o; void main() { o = vec4(v.rgb * v.a, v.a); }`));
    gl.linkProgram(prog); gl.useProgram(prog);
    gl.uniform2f(gl.getUniformLocation(prog, 'size'), W, H);
    const pos = new Float32Array(4 * n), col = new Float32Array(8 * n);
    const buffers = [gl.createBuffer(), gl.createBuffer()];
    const attribute = (i, name, size) => { const loc = gl.getAttribLocation(prog, name); gl.bindBuffer(gl.ARRAY_BUFFER, buffers[i]);
      gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, size, gl.FLOAT, false, 0, 0); };
    attribute(0, 'p', 2); attribute(1, 'col', 4);
    gl.enable(gl.BLEND); gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    const pixel = new Uint8Array(4);
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const run = () => {  // a data update: new colours, vertices uploaded, one draw, pixels
      for (let i = 0; i < n; i++) {
        pos[4 * i] = x[seg[2 * i]]; pos[4 * i + 1] = y[seg[2 * i]]; pos[4 * i + 2] = x[seg[2 * i + 1]]; pos[4 * i + 3] = y[seg[2 * i + 1]];
        const a = 0.15 + 0.75 * strength(bucket[i]);
        col.set([0.84, 0.38, 0, a, 0.84, 0.38, 0, a], 8 * i);
      }
      gl.bindBuffer(gl.ARRAY_BUFFER, buffers[0]); gl.bufferData(gl.ARRAY_BUFFER, pos, gl.DYNAMIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, buffers[1]); gl.bufferData(gl.ARRAY_BUFFER, col, gl.DYNAMIC_DRAW);
      gl.clearColor(0, 0, 0, 0); gl.clear(gl.COLOR_BUFFER_BIT); gl.drawArrays(gl.LINES, 0, 2 * n);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
    };
    run.renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    return run;
  };
  const out = { lines: n, canvas2d_ms: time(canvas2d(1, 9)), canvas2d_hairline_ms: time(canvas2d(1, 1)),
    canvas2d_half_ms: time(canvas2d(0.5, 9)) };
  if (!withWebgl) return out;
  for (const [name, aa] of [['webgl2_lines_ms', false], ['webgl2_lines_msaa_ms', true]]) {
    const run = webgl2(aa);
    out[name] = run ? time(run) : null;
    out.webgl_renderer = run ? run.renderer : 'no WebGL2';
  }
  return out;
}
