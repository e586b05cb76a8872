"""The import graph of the three packages and the checks the architecture tests make on it.

Built with grimp from the source, ``TYPE_CHECKING`` imports and imports inside functions counted
(a type-only import is still a dependency a reader follows). Used by tests/test_architecture.py
(``mocks``) and tests/test_architecture_peakbench.py (the pipeline's direction).
"""

from __future__ import annotations

from collections.abc import Iterable

import grimp

PACKAGES = ("peakbench", "mocks", "loadtests")


def build_graph() -> grimp.ImportGraph:
    """The import graph of our three packages (no external packages, no on-disk cache)."""
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def modules_of(graph: grimp.ImportGraph, package: str) -> set[str]:
    """``package`` and every module below it."""
    return {package, *graph.find_descendants(package)}


def cycles_within(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Every import cycle between modules of ``package``: the strongly connected components of
    its module graph with more than one module, or a module importing itself (Tarjan's
    algorithm, iterative so a deep graph cannot hit the recursion limit)."""
    modules = sorted(modules_of(graph, package))
    inside = set(modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & inside) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            pending = edges[node][i:]
            for offset, child in enumerate(pending):
                if child not in index:
                    work.append((node, i + offset + 1))
                    work.append((child, 0))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges[node]:
                        found.append(sorted(component))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
    return found


def imports_between(
    graph: grimp.ImportGraph, importers: Iterable[str], imported: Iterable[str]
) -> list[str]:
    """``file:line  importer -> imported: the line`` for each direct import from a module of
    ``importers`` to a module of ``imported`` (each given as packages)."""
    sources = set().union(*(modules_of(graph, p) for p in importers))
    targets = set().union(*(modules_of(graph, p) for p in imported))
    lines = []
    for source in sorted(sources):
        for target in sorted(graph.find_modules_directly_imported_by(source) & targets):
            for detail in graph.get_import_details(importer=source, imported=target):
                lines.append(
                    f"{source} -> {target} (line {detail['line_number']}: "
                    f"{detail['line_contents']})"
                )
    return lines


def imports_leaving(graph: grimp.ImportGraph, package: str, allowed: Iterable[str]) -> list[str]:
    """Imports from modules of ``package`` to modules of its top-level package outside it that
    are not ``allowed`` (each allowed name covers the module and everything below it)."""
    top = package.split(".")[0]
    inside = modules_of(graph, package)
    permitted = set().union(*(modules_of(graph, a) for a in allowed))
    outside = modules_of(graph, top) - inside - permitted
    return [
        f"{source} -> {target} (line {detail['line_number']})"
        for source in sorted(inside)
        for target in sorted(graph.find_modules_directly_imported_by(source) & outside)
        for detail in graph.get_import_details(importer=source, imported=target)
    ]


def describe_cycle(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One cycle as its modules and the import lines that close it."""
    members = set(component)
    lines: list[str] = []
    for source in component:
        for target in sorted(graph.find_modules_directly_imported_by(source) & members):
            for detail in graph.get_import_details(importer=source, imported=target):
                lines.append(f"  {source} -> {target} (line {detail['line_number']})")
    return " ↔ ".join(component) + "\n" + "\n".join(lines)
