// Text commands (drawing.js) as positioned HTML over the canvases: crisp at any zoom, set as
// textContent (never parsed as HTML), and no text raster on the canvas.

/**
 * Replace the children of `container` by one span per text command, placed at the command's
 * world position under transform `t` ({k, tx, ty}).
 */
export function placeText(container, commands, t) {
  container.replaceChildren(
    ...commands.map((c) => {
      const span = document.createElement("span");
      span.className = "netviz-output-label";
      span.textContent = c.text;
      span.style.left = `${c.x * t.k + t.tx}px`;
      span.style.top = `${c.y * t.k + t.ty}px`;
      span.style.fontSize = `${c.size * t.k}px`;
      if (c.opacity !== 1) span.style.opacity = String(c.opacity);
      return span;
    }),
  );
}
