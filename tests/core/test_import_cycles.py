"""No import cycles among the project's own modules (src/trashscan and providers/*).

Every import statement counts, wherever it stands: at module level, inside a function or class,
and under ``if TYPE_CHECKING:``. A cycle that only a deferred or type-only import closes does not
crash at start-up, but it still means neither module can be read, tested or moved without the
other, which is what the rule is for; lazy imports are there to keep ``trashscan --help`` fast,
not to hide a cycle. Importing ``pkg.mod`` also runs ``pkg/__init__.py``, but that implicit edge
is not counted: a package's ``__init__`` that gathers its submodules (the CLI's group) is not a
cycle, while a submodule that imports a name from its package's ``__init__`` is.

The imports are read with :mod:`ast`, never executed, so a cycle is caught even in a module that
a test run does not import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (ROOT / "src", ROOT / "providers")

Edge = tuple[str, str, int]  # (imported module, file, line)


def project_modules(roots: Iterable[Path]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the given source roots."""
    modules: dict[str, Path] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts:
                modules[".".join(parts)] = path
    return modules


def _nearest_module(name: str, modules: Mapping[str, Path]) -> str | None:
    """``a.b.C`` -> ``a.b`` when ``a.b`` is a project module; None for anything outside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> list[Edge]:
    """The project modules ``path`` imports, each with the line of its import statement."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: list[Edge] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # ``from pkg import mod`` imports the submodule; ``from mod import name``, the module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            found = _nearest_module(target, modules)
            if found is not None and found != module:
                edges.append((found, _shown(path), node.lineno))
    return edges


def import_graph(modules: Mapping[str, Path]) -> dict[str, list[Edge]]:
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: Mapping[str, list[Edge]]) -> list[list[tuple[str, str, int]]]:
    """One cycle per strongly connected component of two or more modules, as its edges."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan; the graph is small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _, _ in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_one_cycle(graph, component) for component in components]


def _one_cycle(graph: Mapping[str, list[Edge]], component: set[str]) -> list[Edge]:
    """The shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    paths: dict[str, list[tuple[str, str, int]]] = {start: []}
    queue = [start]
    for node in queue:
        for target, file, line in graph[node]:
            if target not in component:
                continue
            # Each edge is (importer, its file, the line): how the cycle is reported.
            step = (node, file, line)
            if target == start:
                return [*paths[node], step]
            if target not in paths:
                paths[target] = [*paths[node], step]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def describe(cycle: list[Edge]) -> str:
    names = [f"{module} ({file}:{line})" for module, file, line in cycle]
    return " -> ".join([*names, cycle[0][0]])


def test_no_import_cycle_among_project_modules():
    modules = project_modules(SOURCE_ROOTS)
    cycles = find_cycles(import_graph(modules))
    assert not cycles, "import cycles (break each by moving the shared piece down):\n" + "\n".join(
        describe(cycle) for cycle in cycles
    )


def test_the_graph_covers_the_core_and_every_provider():
    """The rule above cannot pass by reading nothing."""
    modules = project_modules(SOURCE_ROOTS)
    graph = import_graph(modules)
    providers = {p.name for p in (ROOT / "providers").iterdir() if (p / "__init__.py").exists()}
    assert providers and providers <= set(modules)
    assert {"trashscan.cli", "trashscan.scanner", "trashscan.sandbox.server"} <= set(modules)
    assert "trashscan.errors" in {target for target, _, _ in graph["trashscan.config"]}


def _tree(tmp_path: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return project_modules([tmp_path])


def test_a_cycle_closed_by_a_function_or_type_checking_import_is_found(tmp_path):
    modules = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": "import typing\nif typing.TYPE_CHECKING:\n    from . import c\n",
            "pkg/c.py": "def late():\n    from pkg import a\n",
        },
    )
    cycles = find_cycles(import_graph(modules))
    assert [[module for module, _, _ in cycle] for cycle in cycles] == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_package_gathering_its_submodules_is_no_cycle_but_importing_from_it_is(tmp_path):
    gather = {
        "cli/__init__.py": "from cli.commands import run\n",
        "cli/commands.py": "from cli.app import App\nrun = 1\n",
        "cli/app.py": "App = object\n",
    }
    modules = _tree(tmp_path, gather)
    assert find_cycles(import_graph(modules)) == []
    (tmp_path / "cli/app.py").write_text("from cli import run\n")
    cycles = find_cycles(import_graph(modules))
    assert [sorted(module for module, _, _ in cycle) for cycle in cycles] == [
        ["cli", "cli.app", "cli.commands"]
    ]
