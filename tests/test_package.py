"""Packaging: one version source, the demo command, the built front end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import netviz_widget

ROOT = Path(__file__).resolve().parents[1]


def test_python_and_npm_versions_agree():
    package = json.loads((ROOT / "package.json").read_text())
    assert netviz_widget.__version__ == package["version"]


def test_demo_prints_the_graph_and_writes_an_offline_report(tmp_path):
    out = tmp_path / "demo.html"
    result = subprocess.run([sys.executable, "-m", "netviz_widget", "demo", "--out", str(out)],
                            capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path)
    assert "fc1" in result.stdout and "test accuracy" in result.stdout
    accuracy = float(result.stdout.split("test accuracy ")[1].split()[0].rstrip(")"))
    assert accuracy > 0.9
    assert str(out.resolve()) in result.stdout
    page = out.read_text()
    assert 'id="netviz-bundle"' in page and "Causal check" in page and "deletion AUC" in page
    assert "cdn.bokeh.org" not in page and "<script src=" not in page
