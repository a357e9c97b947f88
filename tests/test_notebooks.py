"""The notebooks are jupytext pairs: the `.py` (percent format) is the source of truth, the
`.ipynb` nbval runs is its copy, stored without outputs. After editing a `.py`, run
`jupytext --sync notebooks/*.py` (it rewrites the `.ipynb`)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

jupytext = pytest.importorskip("jupytext", reason="jupytext is a dev dependency: pip install -e .[dev]")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAIRS = sorted(NOTEBOOKS.glob("*.ipynb"))


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_every_notebook_is_paired():
    assert PAIRS
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == [p.stem for p in PAIRS]


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
def test_the_ipynb_is_the_py_source(path):
    stored = nbformat.read(path, as_version=4)
    source = jupytext.read(path.with_suffix(".py"))
    assert cells(stored) == cells(source), f"run: jupytext --sync {path.with_suffix('.py').name}"
    assert stored.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
def test_notebooks_are_stored_without_outputs(path):
    stored = nbformat.read(path, as_version=4)
    for cell in stored.cells:
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" not in cell.source:
            assert not cell.outputs and cell.execution_count is None, cell.source[:80]
    assert "widgets" not in stored.metadata
