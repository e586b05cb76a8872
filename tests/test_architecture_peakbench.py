"""The architecture of ``peakbench/`` as contracts on its import graph (README "Architecture").

The pipeline is plan -> run -> measure -> report, and imports point one way: ``report`` may import
``measure``, ``measure`` may import ``plan``, ``run`` may import all three, ``advise`` may import
``run``, and nothing imports the CLI. The graph is built once with grimp from the source (every
``import``, in functions and under ``TYPE_CHECKING`` too), so an import that breaks a contract
fails here with the importer, the imported module and its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import grimp
import pytest
from _imports import build_graph, cycles_within

Edge = tuple[str, str]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return build_graph()


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _edges(graph: grimp.ImportGraph, importers: str) -> Iterator[Edge]:
    for module in sorted(graph.modules):
        if _within(module, importers):
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                yield module, imported


def _where(graph: grimp.ImportGraph, edges: Iterable[Edge]) -> list[str]:
    """Each offending import as ``importer:line -> imported`` (lines from grimp's details)."""
    out = []
    for importer, imported in edges:
        details = graph.get_import_details(importer=importer, imported=imported)
        lines = ",".join(str(d["line_number"]) for d in details) or "?"
        out.append(f"{importer}:{lines} -> {imported}")
    return out


def forbidden(graph: grimp.ImportGraph, importers: str, imported: Iterable[str]) -> list[str]:
    """Imports from modules of ``importers`` into any of the ``imported`` packages."""
    banned = tuple(imported)
    hits = [(a, b) for a, b in _edges(graph, importers) if any(_within(b, p) for p in banned)]
    return _where(graph, hits)


def test_peakbench_modules_import_no_circle(graph: grimp.ImportGraph) -> None:
    assert cycles_within(graph, "peakbench") == []


def test_nothing_imports_the_cli(graph: grimp.ImportGraph) -> None:
    hits = [
        h
        for h in forbidden(graph, "peakbench", ["peakbench.cli"])
        if not h.startswith(("peakbench.cli.", "peakbench.cli:", "peakbench.__main__"))
    ]
    assert hits == []


def test_plan_imports_neither_run_measure_nor_report(graph: grimp.ImportGraph) -> None:
    later = ["peakbench.run", "peakbench.measure", "peakbench.report", "peakbench.advise"]
    assert forbidden(graph, "peakbench.plan", later) == []


def test_measure_imports_neither_run_nor_report(graph: grimp.ImportGraph) -> None:
    later = ["peakbench.run", "peakbench.report", "peakbench.advise"]
    assert forbidden(graph, "peakbench.measure", later) == []


def test_report_imports_measure_and_plan_never_run(graph: grimp.ImportGraph) -> None:
    assert forbidden(graph, "peakbench.report", ["peakbench.run", "peakbench.advise"]) == []


def test_run_never_imports_advise(graph: grimp.ImportGraph) -> None:
    assert forbidden(graph, "peakbench.run", ["peakbench.advise"]) == []


def test_config_and_adapters_import_no_later_stage(graph: grimp.ImportGraph) -> None:
    later = ["peakbench.run", "peakbench.measure", "peakbench.report", "peakbench.advise"]
    assert forbidden(graph, "peakbench.config", later) == []
    assert forbidden(graph, "peakbench.adapters", [*later, "peakbench.plan"]) == []


def test_peakbench_never_imports_loadtests(graph: grimp.ImportGraph) -> None:
    assert forbidden(graph, "peakbench", ["loadtests"]) == []


def test_the_checks_catch_a_planted_violation() -> None:
    """The contracts above can fail: the same checks on a small graph with a circle, a layer
    inverted, a CLI import and a loadtests import report each of them."""
    planted = grimp.ImportGraph()
    planted.add_module("peakbench")
    for importer, imported in [
        ("peakbench.plan.a", "peakbench.measure.b"),
        ("peakbench.measure.b", "peakbench.plan.a"),
        ("peakbench.measure.b", "peakbench.report.c"),
        ("peakbench.report.c", "peakbench.cli.main"),
        ("peakbench.run.d", "loadtests.shape"),
    ]:
        planted.add_import(importer=importer, imported=imported)
    assert cycles_within(planted, "peakbench") == [["peakbench.measure.b", "peakbench.plan.a"]]
    assert forbidden(planted, "peakbench.plan", ["peakbench.measure"]) == [
        "peakbench.plan.a:? -> peakbench.measure.b"
    ]
    assert forbidden(planted, "peakbench.measure", ["peakbench.report"]) != []
    assert forbidden(planted, "peakbench.report", ["peakbench.cli"]) != []
    assert forbidden(planted, "peakbench", ["loadtests"]) != []
