"""The import architecture of ``mocks/``, checked on the real import graph: one test per contract.

The graph is built once per session (:func:`graph`, ``tests/_imports.py``). A contract is a small
function over it; add one as a test that calls :func:`cycles_within`, :func:`imports_leaving`,
:func:`imports_between` or the graph itself, and fails with the offending import lines.
"""

from __future__ import annotations

import grimp
import pytest
from _imports import build_graph, cycles_within, describe_cycle, imports_between, imports_leaving

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
    return build_graph()


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
