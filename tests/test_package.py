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


def test_demo_prints_the_layered_graph():
    result = subprocess.run([sys.executable, "-m", "netviz_widget", "demo"], capture_output=True,
                            text=True, timeout=300, check=True)
    assert "fc1" in result.stdout and "test accuracy" in result.stdout
    accuracy = float(result.stdout.split("test accuracy ")[1].split()[0].rstrip(")"))
    assert accuracy > 0.9
