"""Load a module of the repository (a benchmark, a tool) from its file, without changing
sys.path: benchmarks and tools are scripts, not packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(relative: str) -> ModuleType:
    """The module at `relative` (a path from the repository root), loaded under a private name."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"netviz_repo_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
