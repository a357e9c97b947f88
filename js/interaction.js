// The one interaction module: pointer and keyboard events → intent callbacks.
// Wheel zooms around the cursor, drag pans, click selects (shift adds), Escape clears.
import { toWorld, zoomAt } from "./layout.js";

/**
 * @param {HTMLElement} surface  element receiving events (the canvas stack)
 * @param {{getTransform: Function, setTransform: Function, hover: Function,
 *   click: Function, clear: Function, leave: Function}} handlers
 * @returns {() => void} removes every listener
 */
export function attachInteraction(surface, handlers) {
  let drag = null;
  const local = (event) => {
    const rect = surface.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };
  const onWheel = (event) => {
    event.preventDefault();
    const [sx, sy] = local(event);
    const factor = Math.exp(-event.deltaY * 0.0015);
    handlers.setTransform(zoomAt(handlers.getTransform(), factor, sx, sy));
  };
  const onDown = (event) => {
    if (event.button !== 0) return;
    const [sx, sy] = local(event);
    drag = { sx, sy, t: handlers.getTransform(), moved: false };
  };
  const onMove = (event) => {
    const [sx, sy] = local(event);
    if (drag) {
      const dx = sx - drag.sx;
      const dy = sy - drag.sy;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        handlers.setTransform({ k: drag.t.k, tx: drag.t.tx + dx, ty: drag.t.ty + dy });
        return;
      }
    }
    const [wx, wy] = toWorld(handlers.getTransform(), sx, sy);
    handlers.hover(wx, wy, sx, sy);
  };
  const onUp = (event) => {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    if (moved) return;
    const [sx, sy] = local(event);
    const [wx, wy] = toWorld(handlers.getTransform(), sx, sy);
    handlers.click(wx, wy, event.shiftKey);
  };
  const onLeave = () => {
    drag = null;
    handlers.leave();
  };
  const onKey = (event) => {
    if (event.key === "Escape") handlers.clear();
  };
  surface.addEventListener("wheel", onWheel, { passive: false });
  surface.addEventListener("pointerdown", onDown);
  surface.addEventListener("pointermove", onMove);
  surface.addEventListener("pointerup", onUp);
  surface.addEventListener("pointerleave", onLeave);
  surface.addEventListener("keydown", onKey);
  return () => {
    surface.removeEventListener("wheel", onWheel);
    surface.removeEventListener("pointerdown", onDown);
    surface.removeEventListener("pointermove", onMove);
    surface.removeEventListener("pointerup", onUp);
    surface.removeEventListener("pointerleave", onLeave);
    surface.removeEventListener("keydown", onKey);
  };
}
