// Canvas back end of the drawing commands (drawing.js): one batched stroke per "lines" command.
// Text commands are not painted here: textlayer.js places them as HTML over the canvas.

/**
 * Paint `commands` on a 2D context (its transform already set to world → device). Style
 * setters run only when a value changes (colour strings are parsed on every assignment).
 */
export function paintCommands(ctx, commands) {
  let dashed = false;
  let alpha = Number.NaN;
  let stroke = "";
  let fill = "";
  for (const c of commands) {
    if (c.opacity !== alpha) ctx.globalAlpha = alpha = c.opacity;
    if (c.type === "lines") {
      if (c.color !== stroke) ctx.strokeStyle = stroke = c.color;
      ctx.lineWidth = c.width;
      if (c.dash || dashed) ctx.setLineDash(c.dash ?? []);
      dashed = Boolean(c.dash);
      const s = c.segments;
      ctx.beginPath();
      for (let i = 0; i < s.length; i += 4) {
        ctx.moveTo(s[i], s[i + 1]);
        ctx.lineTo(s[i + 2], s[i + 3]);
      }
      ctx.stroke();
    } else if (c.type === "circle") {
      if (c.color !== fill) ctx.fillStyle = fill = c.color;
      ctx.beginPath();
      ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
      ctx.fill();
    } else if (c.type === "ring") {
      if (c.color !== stroke) ctx.strokeStyle = stroke = c.color;
      ctx.lineWidth = c.width;
      if (dashed) ctx.setLineDash([]);
      dashed = false;
      ctx.beginPath();
      ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
      ctx.stroke();
    } else if (c.type === "rect") {
      if (c.color !== fill) ctx.fillStyle = fill = c.color;
      ctx.fillRect(c.x, c.y, c.w, c.h);
    }
  }
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
}
