"""advise.html in a real headless browser (Debian's chromium): the trade-off plot renders, its
axis menus work, no console errors, nothing fetched from the network.

``PEAKBENCH_ADVISE_DIR=<advise folder>`` renders an existing advise instead of making a small
one; ``PEAKBENCH_DOCS_SCREENSHOT=1`` saves the screenshot to docs/img/advise.png (else to tmp).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from rich.console import Console
from test_advise_quota import QUOTA
from test_report_browser import DevTools, _browser, _chromium, _errors
from websockets.sync.client import connect

from peakbench.cli.advise import advise, report
from peakbench.config.loader import parse_profile

DOCS_PNG = Path(__file__).resolve().parent.parent / "docs" / "img" / "advise.png"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    existing = os.environ.get("PEAKBENCH_ADVISE_DIR")
    if existing:
        report(Path(existing), Console(file=io.StringIO()))
        return Path(existing) / "advise.html"
    tmp = tmp_path_factory.mktemp("advise-browser")
    data = {**QUOTA, "advise": {**QUOTA["advise"], "multipliers": [1]}}
    profile = parse_profile(yaml.safe_dump(data), "quota.yaml")
    advise(profile, "quota.yaml", tmp, Console(file=io.StringIO()), workers=2)
    return next(tmp.glob("*-advise-*")) / "advise.html"


def test_advise_page_renders_in_a_real_browser(page: Path, tmp_path: Path) -> None:
    proc, port = _browser(_chromium(), tmp_path / "chromium")
    try:
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        target = next(p for p in pages if p.get("type") == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            dt = DevTools(ws)
            for domain in ("Runtime", "Log", "Page", "Network"):
                dt.call(f"{domain}.enable")
            dt.call("Page.navigate", url=page.resolve().as_uri())
            dt.wait_for("Page.loadEventFired", timeout=40)
            points = 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not points:
                points = int(
                    dt.evaluate("document.querySelectorAll('#advise-trade-off path.point').length")
                )
                time.sleep(0.2)
            menus = int(
                dt.evaluate(
                    "document.querySelectorAll("
                    "'#advise-trade-off g.updatemenu-header-group').length"
                )
            )
            # switch the y axis to complaints, as a reader would with the menu
            title = dt.evaluate(
                "(() => { const d = document.getElementById('advise-trade-off');"
                " const m = d.layout.updatemenus[1].buttons[2];"
                " Plotly.update(d, m.args[0], m.args[1]);"
                " return d.layout.yaxis.title.text; })()"
            )
            height = int(dt.evaluate("document.documentElement.scrollHeight"))
            dt.evaluate(
                "(() => { const d = document.getElementById('advise-trade-off');"
                " const m = d.layout.updatemenus[1].buttons[0];"
                " Plotly.update(d, m.args[0], m.args[1]); })()"
            )
            dt.call(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=min(height, 3000),
                deviceScaleFactor=1,
                mobile=False,
            )
            time.sleep(0.5)
            shot = dt.call("Page.captureScreenshot", format="png", timeout=60)
            events = list(dt.events)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    png = base64.b64decode(shot["data"])
    out = DOCS_PNG if os.environ.get("PEAKBENCH_DOCS_SCREENSHOT") else tmp_path / "advise.png"
    out.write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000, len(png)
    assert _errors(events) == []
    urls = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert urls and all(u.startswith(("file:", "data:", "blob:")) for u in urls), urls
    doc = json.loads((page.parent / "advise.json").read_text())
    assert points >= len(doc["points"]), points  # every point drawn (plus the star and diamond)
    assert menus == 2 and title == "expected complaints per 1,000 orders"
