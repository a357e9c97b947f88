"""Strip the notebooks' outputs before they are committed: ``python tools/strip_notebooks.py [paths]``.

Every output, execution count and the saved widget state go, except the plain-text outputs of
cells marked ``# NBVAL_CHECK_OUTPUT``: nbval compares those with a fresh run (a cell without a
stored run is never compared), and they are a few lines of text each.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHECKED = "NBVAL_CHECK_OUTPUT"


def strip(path: Path) -> bool:
    """Strip one notebook in place; True when it changed."""
    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        checked = CHECKED in cell.source
        text_only = all(o.output_type == "stream" for o in cell.outputs)
        if not (checked and text_only and cell.outputs):
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    after = nbformat.writes(notebook)
    if after != before:
        path.write_text(after + "\n", encoding="utf-8")
    return after != before


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for notebook_path in paths:
        print(f"{notebook_path}: {'stripped' if strip(notebook_path) else 'already clean'}")
