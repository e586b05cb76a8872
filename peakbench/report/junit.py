"""``junit.xml``: the readiness gate in the format every CI system displays.

One ``<testsuite>`` per run; one ``<testcase>`` for run validity and one per SLO check, a
``<failure>`` carrying the value-versus-threshold message; the suite's ``<system-out>`` carries
the run's explanation (why it passed or failed, :mod:`peakbench.measure.explain`). The shape is
the common denominator of Jenkins' JUnit plugin, GitLab's ``artifacts:reports:junit`` and the
GitHub Actions test reporters (``classname`` + ``name``, ``failure@message``, counts on the suite).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from peakbench.measure.explain import explain
from peakbench.measure.labels import check_label, check_value


def _fmt(name: str, value: object) -> str:
    return check_value(name, float(value)) if isinstance(value, int | float) else "–"


def _message(check: dict[str, Any]) -> str:
    if check.get("message"):
        return str(check["message"])
    name = check["name"]
    verdict = "within" if check.get("passed") else "exceeds"
    return (
        f"{check_label(name)} = {_fmt(name, check.get('value'))}, {verdict} the limit "
        f"{_fmt(name, check.get('threshold'))}"
    )


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": "0"})


def junit_xml(summary: dict[str, Any]) -> str:
    """The gate of one run (its ``summary.json``) as a JUnit XML document."""
    profile = str(summary.get("profile", "run"))
    checks = list((summary.get("slo") or {}).get("checks", []))
    valid = bool(summary.get("valid", False))
    failures = (not valid) + sum(not c.get("passed") for c in checks)
    clock = summary.get("clock") or {}
    suites = ET.Element(
        "testsuites",
        {"name": "peakbench", "tests": str(1 + len(checks)), "failures": str(failures)},
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": f"peakbench.{profile}",
            "tests": str(1 + len(checks)),
            "failures": str(failures),
            "errors": "0",
            "skipped": "0",
            "time": "0",
        },
    )
    props = ET.SubElement(suite, "properties")
    plugin = summary.get("plugin") or {}
    for key, value in (
        ("profile", profile),
        ("target", summary.get("target")),
        ("plugin", plugin.get("strategy") if isinstance(plugin, dict) else plugin),
        ("seed", summary.get("seed")),
        ("clock.scale", clock.get("scale")),
        ("store_time_s", clock.get("end")),
        ("baseline", (summary.get("slo") or {}).get("baseline")),
    ):
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": str(value)})

    case = _case(suite, f"peakbench.{profile}.run", "run validity")
    if not valid:
        reasons = [str(r) for r in summary.get("invalid_reasons") or []] or ["no valid summary"]
        failure = ET.SubElement(
            case, "failure", {"type": "invalid_run", "message": f"invalid run: {reasons[0]}"}
        )
        failure.text = "\n".join(reasons)
    for check in checks:
        case = _case(suite, f"peakbench.{profile}.slo", str(check["name"]))
        message = _message(check)
        if not check.get("passed"):
            failure = ET.SubElement(case, "failure", {"type": "slo", "message": message})
            failure.text = message
        else:
            ET.SubElement(case, "system-out").text = message
    ET.SubElement(suite, "system-out").text = explain(summary)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def write_junit(root: Path, summary: dict[str, Any]) -> Path:
    """Write ``RUN/junit.xml`` atomically; returns its path."""
    path = root / "junit.xml"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(junit_xml(summary))
    os.replace(tmp, path)
    return path
