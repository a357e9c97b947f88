"""Explanations with hostile class labels and module names in JupyterLab, with a dialog listener:
as a cell's last line (`_repr_markdown_`), through `display(Markdown(...markdown))` (the pattern
notebook 02 uses) and from `viz.explain()`. Every path used to run `alert()`."""

from __future__ import annotations

import nbformat

from .jupyter_server import JupyterLab
from .lab import open_and_run_all

SETUP = '''import warnings
from collections import OrderedDict
import torch
from torch import nn
from IPython.display import HTML, Markdown, display
from netviz_widget import Explainer, NetViz
torch.manual_seed(0)
NAMES = ["<img src=x onerror=alert(1)>", "<!--<script>alert(2)</script>"]
LABELS = ["<img src=y onerror=alert(3)>", "<svg onload=alert(4)>", "$\\\\href{javascript:alert(5)}{x}$"]
model = nn.Sequential(OrderedDict([(NAMES[0], nn.Linear(4, 5)), ("act", nn.ReLU()),
                                   (NAMES[1], nn.Linear(5, 3))]))
x = torch.rand(2, 4, generator=torch.Generator().manual_seed(0))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ex = Explainer(model, x, n_steps=4, target=0)
    viz = NetViz(model, x, n_steps=4, target=0, class_labels=LABELS)'''
CELLS = [SETUP, "ex.explain(0, labels=LABELS)", "display(Markdown(ex.explain(0).markdown))",
         "viz.explain()", "HTML(\"<div class='netviz-done'>done</div>\")"]


def test_explanations_with_hostile_names_run_no_script(chromium, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    path = tmp_path / "hostile.ipynb"
    nbformat.write(notebook, path)
    lab = JupyterLab(tmp_path / "lab", [path])
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        open_and_run_all(page, lab.url("lab/tree/hostile.ipynb"), ready=".netviz-done")
        page.wait_for_timeout(1_000)  # let any injected handler fire
        outputs = page.locator(".jp-RenderedMarkdown").all_inner_texts()
        assert len(outputs) == 3, outputs
        for text in outputs:  # every name shows as text
            assert "<img src=x onerror=alert(1)>" in text and "Completeness gap" in text
        # seed 0: the model predicts label 0 with label 2 (the math one) as the runner-up
        assert "<img src=y onerror=alert(3)>" in outputs[0] and "<img src=y onerror=alert(3)>" in outputs[2]
        assert all("href{javascript:alert(5)}{x}" in text for text in (outputs[0], outputs[2]))
        assert page.locator(".jp-RenderedMarkdown img, .jp-RenderedMarkdown svg").count() == 0
        # no label is typeset as math (MathJax would turn "$\\href{javascript:…}{x}$" into a link)
        math = page.locator(".jp-RenderedMarkdown mjx-container, .jp-RenderedMarkdown a")
        assert math.count() == 0, outputs
    finally:
        page.close()
        lab.stop()
    assert dialogs == []
