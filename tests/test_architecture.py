"""The import architecture, checked on the real import graph (grimp): one test per contract.

The graph is built once per session (:func:`graph`) over the three packages, with
``TYPE_CHECKING`` imports counted (a type-only import is still a dependency a reader follows).
A contract is a small function over it; add one as a test that calls :func:`cycles_within`,
:func:`imports_leaving`, :func:`imports_between` or the graph itself, and fails with the
offending import lines.
"""

from __future__ import annotations

from collections.abc import Iterable

import grimp
import pytest

PACKAGES = ("peakbench", "mocks", "loadtests")

MOCKS_PARTS = {
    "mocks.admin": ("mocks._asgi", "mocks.journal"),
    "mocks.behaviours": (),
    "mocks.carriers": ("mocks.push.schedule",),
    "mocks.push": ("mocks.app",),
}
"""Subpackage of ``mocks`` → the only other ``mocks`` modules (or packages) it may import, as its
``__init__`` docstring says."""


@pytest.fixture(scope="session")
def graph() -> grimp.ImportGraph:
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


# -- contracts ------------------------------------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle_and_nothing_else() -> None:
    """The helper can fail: a two-module cycle and a self-import are found, a chain is not."""
    g = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        g.add_module(name)
    g.add_import(importer="pkg.a", imported="pkg.b")
    g.add_import(importer="pkg.b", imported="pkg.a")
    g.add_import(importer="pkg.b", imported="pkg.c")
    g.add_import(importer="pkg.d", imported="pkg.d")
    assert cycles_within(g, "pkg") == [["pkg.a", "pkg.b"], ["pkg.d"]]


def test_mocks_modules_import_each_other_in_no_circle(graph: grimp.ImportGraph) -> None:
    """No import cycle inside ``mocks`` (two modules importing each other, or a longer loop),
    type-only imports included: shared names live in a module both sides import."""
    cycles = cycles_within(graph, "mocks")
    assert not cycles, "\n".join(describe_cycle(graph, c) for c in cycles)


def test_mocks_never_imports_loadtests(graph: grimp.ImportGraph) -> None:
    """The mock servers stand alone from the load generator (Locust, gevent): ``mocks`` may
    import ``peakbench`` but never ``loadtests``."""
    assert not imports_between(graph, ["mocks"], ["loadtests"])


@pytest.mark.parametrize("package", sorted(MOCKS_PARTS))
def test_each_part_of_mocks_imports_only_what_its_docstring_allows(
    graph: grimp.ImportGraph, package: str
) -> None:
    """The parts the servers are built from stay below them: behaviours import no other part of
    ``mocks``, personalities only the push schedule, the admin surface not the carrier app."""
    assert not imports_leaving(graph, package, MOCKS_PARTS[package])
