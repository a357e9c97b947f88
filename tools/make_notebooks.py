"""Write the notebooks in notebooks/ from the cell sources below, then execute them in place.

The notebooks are generated so that their source stays reviewable as Python; run
``python tools/make_notebooks.py`` after editing: it executes them (so that they are known to run),
then strips their outputs (tools/strip_notebooks.py) before they are committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from notebook_sources import NOTEBOOKS  # noqa: E402
from strip_notebooks import strip  # noqa: E402


def build(name: str, cells: list[tuple[str, str]]) -> None:
    """Create notebooks/<name>.ipynb from (kind, source) cells and execute it."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    for kind, source in cells:
        source = source.strip("\n")
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        notebook.cells.append(cell)
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(ROOT / "notebooks")}})
    path = ROOT / "notebooks" / f"{name}.ipynb"
    nbformat.write(notebook, path)
    strip(path)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    wanted = set(sys.argv[1:])
    for name, cells in NOTEBOOKS.items():
        if not wanted or name in wanted:
            build(name, cells)
