// anywidget entry: render({model, el}) draws from traits only and returns a cleanup.
import { layoutColumns } from "./layout.js";

function draw(model, el) {
  const layers = model.get("layers") ?? [];
  el.replaceChildren();
  const list = document.createElement("div");
  list.className = "netviz-layers";
  const { offsets } = layoutColumns(layers, { width: 1, height: 1 });
  layers.forEach((layer, i) => {
    const item = document.createElement("div");
    item.textContent = `${layer.name} [${layer.n_units}] (units ${offsets[i]}…)`;
    list.append(item);
  });
  el.append(list);
}

export default {
  render({ model, el }) {
    const redraw = () => draw(model, el);
    redraw();
    model.on("change:layers", redraw);
    return () => model.off("change:layers", redraw);
  },
};
