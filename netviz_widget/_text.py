"""Text that reaches Markdown, HTML or SVG: user strings (class labels, layer names) are
escaped on the way in, and our own small Markdown (paragraphs and ``**bold**``) is turned into
safe HTML or plain text by one parser, so nothing a user names can become markup.
"""

from __future__ import annotations

import html
import re

__all__ = ["md_escape", "md_to_html", "md_to_text", "strip_control"]

# Characters XML 1.0 and HTML refuse (C0 controls except tab/newline/CR, DEL, C1, non-characters).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# Every ASCII punctuation character may be backslash-escaped in CommonMark; & < > become entities.
_PUNCTUATION = re.compile(r"([!-%'-/:;=?@\[-`{-~])")
_TOKEN = re.compile(r"\\([!-/:-@\[-`{-~])|\*\*|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|(.)", re.DOTALL)


def strip_control(text: str) -> str:
    """`text` without control characters (they break XML/SVG and can reshape a terminal)."""
    return _CONTROL.sub("", text)


def md_escape(text: object) -> str:
    """`text` as a literal in Markdown: one line, no control characters, every Markdown
    punctuation backslash-escaped and ``& < >`` as entities (no tag, link, math or emphasis
    can form from it, in JupyterLab's renderer or any CommonMark one)."""
    one_line = " ".join(strip_control(str(text)).split())
    # "$" opens math in JupyterLab and ipywidgets whatever its escaping: a full-width look-alike
    one_line = one_line.replace("$", "\uff04")
    escaped = _PUNCTUATION.sub(r"\\\1", one_line)
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _parse(markdown: str) -> list[list[tuple[bool, str]]]:
    """Paragraphs of (bold, literal text) runs of our Markdown subset."""
    paragraphs = []
    for paragraph in markdown.split("\n\n"):
        runs: list[tuple[bool, str]] = []
        bold, text = False, []
        for match in _TOKEN.finditer(paragraph):
            escaped, entity, char = match.group(1), match.group(2), match.group(3)
            if escaped is not None:
                text.append(escaped)
            elif entity is not None:
                text.append(html.unescape(f"&{entity};"))
            elif char is not None:
                text.append(char)
            else:  # "**"
                runs.append((bold, "".join(text)))
                bold, text = not bold, []
        runs.append((bold, "".join(text)))
        paragraphs.append([run for run in runs if run[1]])
    return paragraphs


def md_to_text(markdown: str) -> str:
    """Plain text of our Markdown subset (bold markers and escapes removed)."""
    return "\n\n".join("".join(text for _, text in runs) for runs in _parse(markdown))


def md_to_html(markdown: str, css_class: str = "netviz-explanation") -> str:
    """Safe HTML of our Markdown subset: every text run is HTML-escaped; only our own bold
    markers become ``<b>`` tags. The wrapper opts out of MathJax typesetting (JupyterLab and
    ipywidgets typeset ``$…$`` in HTML output: a label like ``$\\href{…}{x}$`` must stay text)."""
    body = "".join(
        "<p>" + "".join(f"<b>{html.escape(t)}</b>" if bold else html.escape(t) for bold, t in runs)
        + "</p>" for runs in _parse(markdown))
    return f"<div class='{css_class} tex2jax_ignore mathjax_ignore'>{body}</div>"
