"""junit.xml carries the explanation, and a check without a message is written in words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from peakbench.measure.explain import explain
from peakbench.report.junit import junit_xml


def _summary() -> dict[str, Any]:
    return {
        "profile": "bf",
        "target": "sandbox",
        "clock": {"scale": 1200.0, "end": 7200.0, "start_iso": "2026-11-27T05:00:00Z"},
        "views": {"done": 0},
        "outages": [],
        "carriers": {"generic": {"requests": 10}},
        "complaints": {},
        "slo": {
            "passed": False,
            "checks": [
                {"name": "staleness_p95_s", "threshold": 3600.0, "value": 6420.0, "passed": False}
            ],
        },
        "valid": True,
        "invalid_reasons": [],
    }


def test_the_suite_says_why_and_old_checks_read_in_words() -> None:
    summary = _summary()
    root = ET.fromstring(junit_xml(summary))
    (suite,) = root.iter("testsuite")
    out = suite.find("system-out")
    assert out is not None and out.text == explain(summary)
    assert (out.text or "").startswith("No carrier refused the plugin, but staleness p95 was")
    failure = next(c for c in suite.iter("testcase") if c.get("name") == "staleness_p95_s").find(
        "failure"
    )
    assert failure is not None
    assert failure.get("message") == "staleness p95 = 1 h 47 min, exceeds the limit 1 h"
