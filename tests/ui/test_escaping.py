"""Every text that reaches Markdown or HTML is escaped: class labels and module names stay text
in `Explanation._repr_markdown_`, `.markdown`, `.html`, `viz.explain()`, the saved HTML and SVG."""

from __future__ import annotations

import html
import json
import re
import warnings
from collections import OrderedDict

import mistune
import pytest
import torch
from torch import nn

from netviz_widget import Explainer, NetViz
from netviz_widget._text import md_escape, md_to_html, md_to_text
from netviz_widget.ui.export import standalone_html

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<!--<script>",
    "[click](javascript:alert(2))",
    "$\\href{javascript:alert(3)}{x}$",
    "**bold** _em_ `code` \\ & &amp; &lt;",
    "line\n\n<script>alert(4)</script>",
    "ctrl\x00\x07\x1b[31m\x0c",
]
OURS = re.compile(r"</?(p|strong)>")


def literal(text: str) -> str:
    """What a reader should see of `text`: one line, no control characters, and "$" as its
    full-width look-alike (a "$" opens math in JupyterLab and ipywidgets whatever its escaping)."""
    return " ".join(re.sub("[\x00-\x08\x0b-\x1f]", "", text).split()).replace("$", "\uff04")


def render(markdown: str) -> str:
    """HTML as a Markdown renderer that passes raw HTML through (like JupyterLab's) makes it."""
    return mistune.create_markdown(escape=False, plugins=["url", "strikethrough"])(markdown)


def hostile_model() -> tuple[nn.Module, torch.Tensor]:
    model = nn.Sequential(OrderedDict([(HOSTILE[1], nn.Linear(4, 5)), (HOSTILE[2], nn.ReLU()),
                                       (HOSTILE[0], nn.Linear(5, 3))]))
    return model, torch.rand(2, 4, generator=torch.Generator().manual_seed(0))


def test_md_escape_keeps_text_literal_through_a_markdown_renderer():
    for text in HOSTILE:
        html_out = OURS.sub("", render(f"Predicted **{md_escape(text)}**.")).strip()
        assert "<" not in html_out and ">" not in html_out, (text, html_out)  # no tag formed
        assert html.unescape(html_out) == f"Predicted {literal(text)}.", html_out
        assert md_to_text(f"**{md_escape(text)}**") == literal(text)


def test_md_to_html_escapes_runs_and_keeps_only_our_bold():
    out = md_to_html(f"a **{md_escape(HOSTILE[0])}** b\n\nsecond")
    assert out == ("<div class='netviz-explanation tex2jax_ignore mathjax_ignore'>"
                   "<p>a <b>&lt;img src=x onerror=alert(1)&gt;</b> b</p><p>second</p></div>")


@pytest.mark.filterwarnings("ignore:torch.fx could not trace")
def test_explanation_escapes_labels_and_layer_names_in_every_form():
    model, x = hostile_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = Explainer(model, x, n_steps=4)
    explanation = ex.explain(0, labels=[HOSTILE[0], HOSTILE[5], HOSTILE[3]])
    for markdown in (explanation.markdown, explanation._repr_markdown_()):
        body = OURS.sub("", render(markdown))
        assert "<" not in body and ">" not in body, body
        assert html.unescape(body).replace("\n", " ").count(literal(HOSTILE[0])) >= 2
    assert "onerror=alert(1)" in str(explanation)  # the text itself is kept, as text
    assert HOSTILE[0] in str(explanation)
    assert re.findall(r"<(\w+)", explanation.html) and \
        set(re.findall(r"<(\w+)", explanation.html)) <= {"div", "p", "b"}


def test_viz_explain_and_saved_html_keep_names_inert():
    model, x = hostile_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        viz = NetViz(model, x, n_steps=4, class_labels=[HOSTILE[0], HOSTILE[1], "c"], target=0)
    viz.explain()
    assert set(re.findall(r"<(\w+)", viz.text.value)) <= {"div", "p", "b"}
    assert "&lt;img src=x" in viz.text.value
    page = standalone_html(viz.view, title=HOSTILE[1])
    start = page.index('id="netviz-state">') + len('id="netviz-state">')
    end = page.index("</script>", start)
    state = page[start:end]
    assert "<" not in state and ">" not in state  # no "<!--", "<script", "</script" can form
    names = [layer["name"] for layer in json.loads(state)["topology"]["layers"]]
    assert HOSTILE[0] in names and HOSTILE[1] in names
    assert page.count("<!--") == page.count("-->")  # every comment in the page is closed
    assert "<title>&lt;!--&lt;script&gt;</title>" in page
