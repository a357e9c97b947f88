// Canvas back end of the drawing commands (drawing.js): one batched stroke per "lines" command.

/** Paint `commands` on a 2D context (its transform already set to world → device). */
export function paintCommands(ctx, commands) {
  for (const c of commands) {
    ctx.globalAlpha = c.opacity;
    if (c.type === "lines") {
      ctx.strokeStyle = c.color;
      ctx.lineWidth = c.width;
      ctx.setLineDash(c.dash ?? []);
      const s = c.segments;
      ctx.beginPath();
      for (let i = 0; i < s.length; i += 4) {
        ctx.moveTo(s[i], s[i + 1]);
        ctx.lineTo(s[i + 2], s[i + 3]);
      }
      ctx.stroke();
    } else if (c.type === "circle") {
      ctx.fillStyle = c.color;
      ctx.beginPath();
      ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
      ctx.fill();
    } else if (c.type === "ring") {
      ctx.strokeStyle = c.color;
      ctx.lineWidth = c.width;
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
      ctx.stroke();
    } else if (c.type === "rect") {
      ctx.fillStyle = c.color;
      ctx.fillRect(c.x, c.y, c.w, c.h);
    } else if (c.type === "text") {
      ctx.fillStyle = c.color;
      ctx.font = `${c.size}px sans-serif`;
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(c.text, c.x, c.y);
    }
  }
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
}
