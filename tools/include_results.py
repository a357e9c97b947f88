"""Splice generated result files into a markdown document.

Between ``<!-- include: PATH -->`` and ``<!-- end include -->`` (PATH relative to the document),
the text is replaced by PATH's current contents, so that every table in the document is the one
the study's code wrote:

    python tools/include_results.py docs/experiments.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BLOCK = re.compile(r"(<!-- include: (?P<path>[^ ]+) -->\n).*?(<!-- end include -->)", re.S)


def splice(document: Path) -> str:
    """The document's text with every include block refreshed from its file."""
    text = document.read_text()

    def replace(match: re.Match) -> str:
        included = (document.parent / match["path"]).read_text().rstrip("\n")
        return f"{match.group(1)}{included}\n{match.group(3)}"
    return BLOCK.sub(replace, text)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(splice(path))
        print(f"refreshed {path}")
