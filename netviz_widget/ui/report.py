"""The demo report: one offline HTML file with the live-feeling view, written explanations of
a few decisions, faithfulness curves and the prediction before/after key interventions."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from netviz_widget import datasets
from netviz_widget.analysis import faithfulness as fa
from netviz_widget.engine._calls import small_work_threads
from netviz_widget.ui import figures
from netviz_widget.ui.offline_views import offline_views
from netviz_widget.ui.plots import OutputPlots
from netviz_widget.ui.widget import NetViz


def _pick_examples(predicted: torch.Tensor, labels: torch.Tensor) -> list[int]:
    """Two correctly classified digits of different classes and one misclassified digit."""
    correct = torch.nonzero(predicted == labels)[:, 0].tolist()
    chosen = [correct[0]]
    chosen.append(next(i for i in correct if int(labels[i]) != int(labels[chosen[0]])))
    wrong = torch.nonzero(predicted != labels)[:, 0].tolist()
    return chosen + wrong[:1]


@small_work_threads  # one intra-op thread: small work, far faster on a busy machine (issue 21)
def build_demo_report(model_kind: str = "mlp", out: str | Path = "netviz-demo.html",
                      n_curve_digits: int = 10, say: Callable[[str], None] | None = None
                      ) -> tuple[Path, dict[str, float]]:
    """Train the bundled digits model, analyse a few decisions and write the report.
    `say`, when given, receives a line for each step and progress bars are shown.
    Returns the path and a few headline numbers."""
    from tqdm.auto import tqdm

    progress = say is not None
    say = say or (lambda _line: None)
    data = datasets.load_digits_split()
    cnn = model_kind == "cnn"
    model = datasets.digits_cnn(progress=progress) if cnn else datasets.digits_mlp(progress=progress)
    x_test = data.images(data.x_test) if cnn else data.x_test
    x_train = data.images(data.x_train) if cnn else data.x_train
    predicted = datasets.predict(model, x_test)
    accuracy = float((predicted == data.y_test).float().mean())
    chosen = _pick_examples(predicted, data.y_test)
    say(f"Scoring test digits {', '.join(f'#{i}' for i in chosen)}: integrated gradients on the pixels, "
        "conductance on every unit and weight …")
    viz = NetViz(model, x_test[chosen], reference=x_train[:500], height=480)
    ex = viz.explainer
    first_hidden = next(la.name for la in ex.graph.layers if la.role == "hidden")

    sections, labels = [], []
    say("Writing an explanation of each decision, checked by ablating its circuit …")
    for i, index in enumerate(tqdm(chosen, desc="explaining", unit="digit", disable=not progress)):
        status = "correct" if int(predicted[index]) == int(data.y_test[index]) else "misclassified"
        labels.append(f"Test digit #{index}: label {int(data.y_test[index])}, predicted "
                      f"{int(predicted[index])} ({status})")
        sections.append(f"<h3>{html.escape(labels[-1])}</h3>" + ex.explain(i).html)
    say("Precomputing each digit's view and every unit's drill-down for the offline page …")
    views = offline_views(viz, labels)

    correct = torch.nonzero(predicted == data.y_test)[:n_curve_digits, 0]
    subset = NetViz(model, x_test[correct], reference=x_train[:500]).explainer
    deletion = {name: [] for name in fa.RANKINGS}
    say(f"Faithfulness: deletion curves of {len(fa.RANKINGS)} unit rankings on {len(correct)} digits …")
    for i in tqdm(range(len(correct)), desc="deletion curves", unit="digit", disable=not progress):
        for name, order in fa.rank_units(subset, first_hidden, example=i, seed=i).items():
            deletion[name].append(fa.deletion_curve(subset, first_hidden, order, example=i))
    mean_curves = {name: np.mean(curves, 0) for name, curves in deletion.items()}
    auc = {name: fa.area_under(curve) for name, curve in mean_curves.items()}
    curve_plot = figures.curves(mean_curves, f"Deletion curves over {first_hidden} units "
                                f"({len(correct)} digits)", "fraction of units ablated (mean)",
                                "target probability",
                                bands={n: np.std(c, 0) for n, c in deletion.items()})

    circuit = ex.circuit(0)
    clean = ex.clean_probabilities()[0]
    ablated = ex.evaluate(fa._ablate(ex, circuit.hidden_units(ex.graph), "mean"))[0]
    ablated = np.exp(ablated - ablated.max())
    panel = OutputPlots([str(c) for c in range(len(clean))])
    panel.update(clean, ablated / ablated.sum(), [])
    from bokeh.embed import components
    from bokeh.resources import INLINE

    probabilities_plot = panel.layout.children[0]  # the effect scatter has no history here
    script, (curve_div, panel_div) = components([curve_plot, probabilities_plot])
    auc_rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{value:.3f}</td></tr>"
                       for name, value in sorted(auc.items(), key=lambda kv: kv[1]))
    sections.append(
        "<section><h3>Is the explanation faithful?</h3>"
        f"<p>Mean-ablating the circuit of digit #{chosen[0]} ({len(circuit.hidden_units(ex.graph))} "
        f"hidden units) moves its probabilities as below (grey: clean, blue: circuit ablated).</p>"
        f"{panel_div}<p>Deletion curves: ablate units in the order each criterion ranks them; the faster "
        "the target probability falls, the better the ranking (area under the curve, lower is better):"
        f"</p>{curve_div}<table><tr><th>ranking</th><th>deletion AUC</th></tr>{auc_rows}</table>"
        "</section>")
    intro = (f"<p class='netviz-report-note'>The bundled digits {model_kind.upper()} (scikit-learn's "
             f"8×8 digits, test accuracy {accuracy:.3f}) on three test digits (pick one above the "
             "view). Hover a unit or edge; click a unit for its drill-down (shift-click adds; "
             "Escape clears); wheel to zoom, drag to pan. Offline "
             "copy: interventions need the live notebook (<code>jupyter lab "
             "notebooks/01_quickstart.ipynb</code>).</p>")
    path = Path(out)
    from netviz_widget.ui.export import save_html

    say(f"Writing {path} …")
    save_html(viz.view, path, f"netviz_widget demo — digits {model_kind.upper()}", intro=intro,
              sections="\n".join(sections) + script, head=INLINE.render(),
              circuit=viz._node_ids(circuit.unit_pairs()), views=views)
    return path, {"accuracy": accuracy, **{f"deletion_auc[{k}]": v for k, v in auc.items()}}
