"""The package's layers import one way: the import graph of netviz_widget has no cycle (imports
inside functions count; `if TYPE_CHECKING:` blocks do not), and the engine and the analysis
import no UI library and no UI module, so they run from a script or a test."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "netviz_widget"
UI_LIBRARIES = {"ipywidgets", "anywidget", "bokeh", "jupyter_bokeh", "IPython", "traitlets", "ipykernel",
                "marimo", "playwright"}
# Engine/analysis modules: all but the notebook widget's (matched by name before and after the
# move of issue 17; a module of ui/ or one of these names is UI).
UI_MODULES = {"widget", "view", "controls", "plots", "view_state", "export", "report", "compare_view",
              "replay", "replay_export", "display", "offline_views", "figures", "view_requests", "palette",
              "page_note", "__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules and the top-level libraries `path` imports at run time."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from package import module` depends on the module; `from module import name` on it
            found.update(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                         for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    out = set()
    for target in found:
        if target.split(".")[0] == "netviz_widget":
            if target in modules and target != name:
                out.add(target)
        else:
            out.add(target.split(".")[0])
    return out


def import_graph() -> dict[str, set[str]]:
    paths = [p for p in PACKAGE.rglob("*.py") if "static" not in p.parts]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def is_ui(module: str) -> bool:
    parts = module.split(".")
    return "ui" in parts or parts[-1] in UI_MODULES or "experiments" in parts


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 30
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_engine_imports_no_ui() -> None:
    graph = import_graph()
    offenders = {module: sorted(target for target in targets
                                if target in UI_LIBRARIES or (target in graph and is_ui(target)))
                 for module, targets in graph.items() if not is_ui(module) and module != "netviz_widget"}
    assert {m: t for m, t in offenders.items() if t} == {}
