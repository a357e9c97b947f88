"""One-off: move the package into engine/ analysis/ ui/ and the studies to a top-level studies/
(issue 17), rewriting every import and every reference to a moved module or file.

    python tools/house_move.py            # git mv + rewrite, in this checkout
    python tools/house_move.py --check    # only report modules/tests the table does not place

Every module under netviz_widget/ and every tests/test_*.py must be placed by the tables below:
an unknown one (added by another branch) stops the script before anything moves, so that it is
placed by hand. Delete this script once the move is merged.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "netviz_widget"

TOP = {"__init__", "__main__", "errors", "datasets", "tabular", "_text"}
ENGINE = {"_registry", "_calls", "_checks", "_history", "_model_state", "_probes", "attribution", "neuron",
          "reference", "explainer", "snapshot", "interventions", "modes", "methods", "kinds", "compare",
          "paired", "recorder", "recording", "_measuring", "_model_watch", "_tokens", "_several"}
GRAPH = {"graph": "layered", "_fx_walk": "_fx_walk", "_fx_rules": "_fx_rules", "_hook_walk": "_hook_walk",
         "_ops": "_ops", "_origins": "_origins", "_refusals": "_refusals", "_weights": "_weights",
         "units": "units", "_token_rules": "_token_rules"}
ANALYSIS = {"circuits", "explanation", "faithfulness"}
UI = {"widget", "view", "controls", "plots", "view_state", "export", "report", "compare_view", "replay",
      "replay_export", "display", "offline_views", "figures", "_serialization", "view_requests",
      "palette", "page_note"}

TESTS = {
    "engine": ["any_network", "atomic", "attribution", "bad_input", "compare", "device", "errors",
               "explainer", "graph", "interventions", "model_changes", "recorder", "refusals",
               "reliability", "threads", "load", "reprs", "modes", "methods", "kinds", "quadrature",
               "several_inputs", "tokens"],
    "analysis": ["circuits", "explain_state", "explanation_text"],
    "ui": ["widget", "display", "compare_view", "offline_views", "replay", "escaping", "view_state",
           "view_labels_palette", "page_note", "view_open"],
    "studies": ["backdoor", "bias", "concentration", "error_units", "experiments", "protocol"],
    "": ["package", "tabular", "architecture", "import_graph", "notebooks"],
}
TEST_HELPERS = {"zoo", "zoo_sequences", "captum_ref", "model_state", "conftest", "files", "wire", "__init__"}

PACKAGE_DOCS = {
    "engine": '"""The headless engine: graph, probes, interventions, attribution, the Explainer."""\n',
    "engine/graph": ('"""Graph builders: a model traced (torch.fx, or hooks) into a LayeredGraph."""\n\n'
                     "from .layered import LayeredGraph, check_input\n"
                     "from .units import EdgeBlock, UnitLayer\n\n"
                     '__all__ = ["EdgeBlock", "LayeredGraph", "UnitLayer", "check_input"]\n'),
    "analysis": '"""Analysis on top of the engine: circuits, written explanations, causal checks."""\n',
    "ui": '"""The notebook widget: view, controls, plots, view state, export, report."""\n',
}


def module_map() -> dict[str, str]:
    """Old dotted module name -> new dotted module name, for every module of the package.
    Raises SystemExit naming any module the tables do not place."""
    out: dict[str, str] = {}
    unknown = []
    for path in sorted((ROOT / PKG).rglob("*.py")):
        rel = path.relative_to(ROOT / PKG)
        if rel.parts[0] in ("static", "engine", "analysis", "ui"):
            continue
        if rel.parts[0] == "experiments":
            stem = ".".join(rel.with_suffix("").parts[1:])
            out[f"{PKG}.experiments" + (f".{stem}" if stem != "__init__" else "")] = \
                "studies" + (f".{stem}" if stem != "__init__" else "")
            continue
        if len(rel.parts) > 1:
            unknown.append(str(rel))
            continue
        name = rel.stem
        if name in TOP:
            new = f"{PKG}.{name}" if name != "__init__" else PKG
        elif name in ENGINE:
            new = f"{PKG}.engine.{name}"
        elif name in GRAPH:
            new = f"{PKG}.engine.graph.{GRAPH[name]}"
        elif name in ANALYSIS:
            new = f"{PKG}.analysis.{name}"
        elif name in UI:
            new = f"{PKG}.ui.{name}"
        else:
            unknown.append(str(rel))
            continue
        out[f"{PKG}.{name}" if name != "__init__" else PKG] = new
    tests = {name for names in TESTS.values() for name in names}
    for path in sorted((ROOT / "tests").glob("*.py")):
        stem = path.stem
        if stem in TEST_HELPERS:
            continue
        if not stem.startswith("test_") or stem[5:] not in tests:
            unknown.append(f"tests/{path.name}")
    if unknown:
        raise SystemExit("house_move: place these by hand (add them to the tables): " + ", ".join(unknown))
    return out


def file_of(module: str) -> Path:
    parts = module.split(".")
    base = ROOT.joinpath(*parts)
    if base.is_dir():
        return base / "__init__.py"
    return base.with_suffix(".py")


def test_moves() -> dict[str, str]:
    out = {}
    for area, names in TESTS.items():
        if not area:
            continue
        for name in names:
            src = f"tests/test_{name}.py"
            if (ROOT / src).exists():
                out[src] = f"tests/{area}/test_{name}.py"
    return out


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


# --- import rewriting -------------------------------------------------------------------------

def resolve(module: str | None, level: int, current: str, is_package: bool) -> str:
    """The absolute name of a (possibly relative) `from` import in module `current`."""
    if level == 0:
        return module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def rename(name: str, mods: dict[str, str]) -> str:
    """A dotted name after the move (the longest moved prefix wins)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in mods:
            return ".".join([mods[head], *parts[cut:]])
    return name


def rewrite_imports(text: str, current: str | None, is_package: bool, mods: dict[str, str]) -> str:
    """Rewrite the imports of one file (absolute, or relative to old module `current`) to absolute
    imports of the new names."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level and current is None:
                continue
            absolute = resolve(node.module, node.level, current or "", is_package)
            if not (absolute == PKG or absolute.startswith(PKG + ".")):
                continue
            groups: dict[str, list[str]] = {}
            for alias in node.names:
                full = f"{absolute}.{alias.name}"
                as_ = f" as {alias.asname}" if alias.asname else ""
                if full in mods:  # a submodule imported by name
                    new_full = mods[full]
                    parent, _, leaf = new_full.rpartition(".")
                    piece = leaf + (as_ if (alias.asname or leaf == alias.name) else f" as {alias.name}")
                    groups.setdefault(parent, []).append(piece)
                else:
                    groups.setdefault(rename(absolute, mods), []).append(alias.name + as_)
            indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
            new = "".join(f"{indent}from {mod} import {', '.join(names)}\n" for mod, names in groups.items())
            edits.append((node.lineno, node.end_lineno, new))
        elif isinstance(node, ast.Import):
            if not any(a.name == PKG or a.name.startswith(PKG + ".") for a in node.names):
                continue
            indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
            pieces = []
            for alias in node.names:
                new_name = rename(alias.name, mods)
                if alias.asname:
                    pieces.append(f"{indent}import {new_name} as {alias.asname}\n")
                elif new_name != alias.name and "." in alias.name:
                    # `import a.b` binds `a`; keep that name working
                    pieces.append(f"{indent}import {new_name}\n")
                else:
                    pieces.append(f"{indent}import {new_name}\n")
            edits.append((node.lineno, node.end_lineno, "".join(pieces)))
    for start, end, new in sorted(edits, reverse=True):
        lines[start - 1:end] = [new]
    return "".join(lines)


def rewrite_strings(text: str, mods: dict[str, str], paths: dict[str, str]) -> str:
    """Dotted module names and file paths anywhere in the text (docs, strings, -m commands)."""
    for old in sorted(mods, key=len, reverse=True):
        if old == PKG:
            continue
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", mods[old], text)
    for old in sorted(paths, key=len, reverse=True):
        text = re.sub(rf"(?<![\w/]){re.escape(old)}(?![\w])", paths[old], text)
    return text


def path_map(mods: dict[str, str]) -> dict[str, str]:
    out = {}
    for old, new in mods.items():
        if old == PKG:
            continue
        old_path = old.replace(".", "/") + ".py"
        new_path = new.replace(".", "/") + ".py"
        if (ROOT / old_path).exists():
            out[old_path] = new_path
    out[f"{PKG}/experiments/"] = "studies/"
    out[f"{PKG}/experiments"] = "studies"
    out[f"{PKG}/templates/"] = f"{PKG}/ui/templates/"
    out[f"{PKG}/templates"] = f"{PKG}/ui/templates"
    return out


# after the move: paths computed from a module's own location
FIXUPS = [
    ("netviz_widget/ui/view.py", 'Path(__file__).parent / "static"', 'Path(__file__).parents[1] / "static"'),
    # palette.json stays beside the package's root: js/scales.js imports it from there
    ("netviz_widget/ui/palette.py", 'Path(__file__).parent / "palette.json"',
     'Path(__file__).parents[1] / "palette.json"'),
]

TEXT_GLOBS = ["netviz_widget/**/*.py", "studies/**/*.py", "tests/**/*.py", "benchmarks/*.py", "tools/*.py",
              "notebooks/*.py", "docs/*.md", "README.md", ".ci/*", "pyproject.toml",
              "package.json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    mods = module_map()
    if args.check:
        print(f"{len(mods)} modules placed; every test placed")
        return
    paths = path_map(mods)
    old_files = {old: file_of(old) for old in mods}
    # read every text file (by its old location) before anything moves
    moved_text: dict[Path, tuple[str | None, bool, str]] = {}
    for old, src in old_files.items():
        moved_text[src] = (old, src.name == "__init__.py", src.read_text())
    # git mv, package by package
    for sub in ("engine/graph", "analysis", "ui"):
        (ROOT / PKG / sub).mkdir(parents=True, exist_ok=True)
    for old, new in mods.items():
        src, dst = old_files[old], file_of(new) if new != "studies" else ROOT / "studies" / "__init__.py"
        if new.startswith("studies"):
            dst = ROOT.joinpath(*new.split(".")).with_suffix(".py") if new != "studies" else dst
        if src == dst:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(src.relative_to(ROOT)), str(dst.relative_to(ROOT)))
        moved_text[dst] = moved_text.pop(src)
    if (ROOT / PKG / "templates").exists():
        git("mv", f"{PKG}/templates", f"{PKG}/ui/templates")
    for sub, doc in PACKAGE_DOCS.items():
        init = ROOT / PKG / sub / "__init__.py"
        if not init.exists():
            init.write_text(doc)
            git("add", str(init.relative_to(ROOT)))
    for src, dst in test_moves().items():
        (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
        init = (ROOT / dst).parent / "__init__.py"
        if not init.exists():
            init.write_text("")
            git("add", str(init.relative_to(ROOT)))
        git("mv", src, dst)
    # rewrite: moved package files relative to their old names, everything else absolute only
    done = set()
    for dst, (old, is_package, text) in moved_text.items():
        new_text = rewrite_strings(rewrite_imports(text, old, is_package, mods), mods, paths)
        dst.write_text(new_text)
        done.add(dst)
    for pattern in TEXT_GLOBS:
        for path in ROOT.glob(pattern):
            if path in done or not path.is_file() or "static" in path.parts:
                continue
            text = path.read_text()
            new_text = rewrite_strings(rewrite_imports(text, None, False, mods) if path.suffix == ".py"
                                       else text, mods, paths)
            if new_text != text:
                path.write_text(new_text)
    for relative, old, new in FIXUPS:
        path = ROOT / relative
        text = path.read_text()
        if old not in text:
            raise SystemExit(f"house_move: {relative} no longer contains {old!r}: fix it by hand")
        path.write_text(text.replace(old, new))
    # the notebooks: their .py sources were rewritten; the paired .ipynb follow them
    subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", "--update", "--quiet",
                    *sorted(str(p) for p in (ROOT / "notebooks").glob("*.py"))], cwd=ROOT, check=True)
    print(f"moved {len(mods)} modules and {len(test_moves())} tests; now: ruff check --fix . and the tests")


if __name__ == "__main__":
    sys.exit(main())
