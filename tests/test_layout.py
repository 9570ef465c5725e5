"""The layout stays honest: no import cycle in grader/ (imports inside functions count too), small modules."""

from __future__ import annotations

import ast
from pathlib import Path

GRADER = Path(__file__).resolve().parent.parent / "grader"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(GRADER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The grader modules ``path`` imports, anywhere in it (``from .x import y`` names module ``x.y`` if it is one)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {target for target in found if target in modules and target != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_and_relative_imports_are_seen(tmp_path):
    paths = {p: module_name(p) for p in GRADER.rglob("*.py")}
    modules = set(paths.values())
    api = imports(GRADER / "api.py", modules)
    assert {"grader.assignment", "grader.submissions.staging", "grader.executors"} <= api
    assert "grader.executors.dask" in imports(GRADER / "executors" / "__init__.py", modules)  # imported inside a function


def test_no_import_cycles_in_grader():
    paths = {p: module_name(p) for p in GRADER.rglob("*.py")}
    modules = set(paths.values())
    graph = {name: imports(path, modules) for path, name in paths.items()}
    assert cycles(graph) == []


def test_checks_never_import_the_runner():
    modules = {module_name(p) for p in GRADER.rglob("*.py")}
    for path in (GRADER / "checks").glob("*.py"):
        assert not {m for m in imports(path, modules) if m.startswith("grader.runner")}, path.name


def test_no_module_is_over_the_size_limit():
    long = {str(p.relative_to(GRADER)): n for p in GRADER.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them along their sections): {long}"
