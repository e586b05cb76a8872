"""report.html in a real headless browser (Debian's chromium): plots render, no console errors,
nothing fetched from the network. Driven over the DevTools protocol with the websockets package.

``PEAKBENCH_REPORT_RUN=<run folder>`` renders an existing run instead of making a short one;
``PEAKBENCH_DOCS_SCREENSHOT=1`` saves the screenshot to docs/img/report.png (else to tmp).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from _profiles import small
from websockets.sync.client import ClientConnection, connect

from peakbench.report.html import write_report

DOCS_PNG = Path(__file__).resolve().parent.parent / "docs" / "img" / "report.png"
INSTALL = (
    "chromium is required for the report's browser test and was not found on PATH: install it "
    "with `sudo apt-get update && sudo apt-get install -y chromium` (Debian/Ubuntu), or point "
    "PEAKBENCH_CHROMIUM at a Chrome/Chromium binary"
)
PROFILE: dict[str, Any] = small("browser", interval="10m")


def _chromium() -> str:
    found = os.environ.get("PEAKBENCH_CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        pytest.fail(INSTALL, pytrace=False)
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of a short real run (or of ``PEAKBENCH_REPORT_RUN``)."""
    existing = os.environ.get("PEAKBENCH_REPORT_RUN")
    if existing:
        return write_report(Path(existing))
    tmp = tmp_path_factory.mktemp("browser")
    (tmp / "p.yaml").write_text(yaml.safe_dump(PROFILE))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(tmp / "p.yaml"), "--results", str(tmp)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    runs = sorted(tmp.glob("*-browser-*"))
    assert runs and (runs[-1] / "summary.json").exists(), proc.stdout + proc.stderr
    return write_report(runs[-1])


class DevTools:
    """The smallest DevTools protocol client: numbered commands, events kept in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._id = 0

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == self._id:
                assert "error" not in msg, (method, msg["error"])
                return dict(msg.get("result") or {})
            self.events.append(msg)
        raise TimeoutError(method)

    def wait_for(self, event: str, timeout: float = 30.0) -> None:
        if any(e.get("method") == event for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(msg)
            if msg.get("method") == event:
                return
        raise TimeoutError(event)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")


def _browser(chromium: str, profile_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = profile_dir / "DevToolsActivePort"
    port_file.unlink(missing_ok=True)  # a stale one from an earlier browser names a dead port
    proc = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile_dir}",
            "--window-size=1280,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().split()[0])
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{chromium} did not open its DevTools port within 30 s", pytrace=False)


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params") or {}
        if method == "Runtime.exceptionThrown":
            out.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(json.dumps(params.get("args"))[:500])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.append(params["entry"].get("text", "")[:500])
    return out


def test_report_renders_in_a_real_browser_without_errors(report: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    proc, port = _browser(chromium, tmp_path / "chromium")
    try:
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        target = next(p for p in pages if p.get("type") == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            dt = DevTools(ws)
            for domain in ("Runtime", "Log", "Page", "Network"):
                dt.call(f"{domain}.enable")
            dt.call("Page.navigate", url=report.resolve().as_uri())
            dt.wait_for("Page.loadEventFired", timeout=40)
            # plotly draws asynchronously after load: wait for every figure's svg
            deadline = time.monotonic() + 20
            counts: dict[str, int] = {}
            while time.monotonic() < deadline:
                counts = dt.evaluate(
                    "({plots: document.querySelectorAll('.js-plotly-plot').length,"
                    " svgs: document.querySelectorAll('.js-plotly-plot svg.main-svg').length,"
                    " bars: document.querySelectorAll('#fig-carriers g.point').length,"
                    " traces: document.querySelectorAll('#fig-rates g.trace').length,"
                    " divs: document.querySelectorAll('div.figure').length})"
                )
                if counts["divs"] and counts["plots"] == counts["divs"] and counts["bars"]:
                    break
                time.sleep(0.2)
            height = int(dt.evaluate("document.documentElement.scrollHeight"))
            dt.call(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=min(height, 8000),
                deviceScaleFactor=1,
                mobile=False,
            )
            time.sleep(0.5)  # responsive plots re-lay out at the new size
            shot = dt.call("Page.captureScreenshot", format="png", timeout=60)
            events = list(dt.events)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    # nothing went wrong, and nothing was fetched from the network: the page is self-contained
    assert _errors(events) == []
    urls = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert urls and all(u.startswith(("file:", "data:", "blob:")) for u in urls), urls
    import base64

    png = base64.b64decode(shot["data"])
    out = DOCS_PNG if os.environ.get("PEAKBENCH_DOCS_SCREENSHOT") else tmp_path / "report.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000, len(png)

    # every figure became a plotly plot with its svg layers drawn
    assert counts["divs"] >= 4, counts
    assert counts["plots"] == counts["divs"], counts
    assert counts["svgs"] >= counts["plots"], counts
    assert counts["bars"] > 0 and counts["traces"] >= 5, counts
    assert height > 2000, height
