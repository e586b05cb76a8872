"""The queue probe: a real store's background queue sampled during a run.

Stale tracking on a real WordPress store is most often a backed-up Action Scheduler queue, or
WP-Cron firing late on a quiet site. The must-use plugin ``wordpress/peakbench-queue-probe.php``
exposes the counts read-only behind the REST keys; the run reads them every ``every`` (wall
seconds) from its watch loop and journals one line per sample in ``RUN/journals/queue.jsonl``,
which the analysis and the report read like the sandbox store's queue samples.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from peakbench.adapters import woocommerce as wc
from peakbench.adapters.request import Request
from peakbench.config.targets import WooCommerceTarget

JOURNAL = "queue.jsonl"


def parse_sample(t: float, body: Any) -> dict[str, Any]:
    """One journal line from the route's JSON at run second ``t`` (ValueError when it is not
    the probe's answer)."""
    if not isinstance(body, dict) or not isinstance(body.get("action_scheduler"), dict):
        raise ValueError("not a queue probe answer (is peakbench-queue-probe.php installed?)")
    actions, cron = body["action_scheduler"], body.get("wp_cron") or {}
    now = body.get("now")
    next_due = cron.get("next_due")
    return {
        "t": round(t, 3),
        "pending": int(actions.get("pending") or 0),
        "past_due": int(actions.get("past_due") or 0),
        "running": int(actions.get("running") or 0),
        "failed": int(actions.get("failed") or 0),
        "oldest_past_due_s": actions.get("oldest_past_due_s"),
        "cron_disabled": bool(cron.get("disabled")),
        "cron_next_due_in_s": (
            next_due - now if isinstance(next_due, int) and isinstance(now, int) else None
        ),
        "cron_past_due": int(cron.get("past_due") or 0),
        "hooks": {
            h: int(c.get("past_due") or 0)
            for h, c in (actions.get("hooks") or {}).items()
            if isinstance(c, dict) and c.get("past_due")
        },
    }


class QueueSampler:
    """Reads the queue route every ``target.queue_probe.every`` wall seconds and journals it;
    a failed read is a line with its ``error``, and the run goes on."""

    def __init__(
        self,
        target: WooCommerceTarget,
        creds: wc.Credentials,
        journal: Path,
        now_run: Callable[[], float],
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        assert target.queue_probe is not None
        self.target = target
        self.spec = target.queue_probe
        self.creds = creds
        self.journal = journal
        self.now_run = now_run
        self._client = httpx.Client(timeout=self.spec.timeout, trust_env=False, verify=verify)
        self._next = 0.0

    def poll(self, wall: float) -> None:
        """Sample when one is due (``wall``: monotonic seconds)."""
        if wall < self._next:
            return
        self._next = wall + self.spec.every
        request = wc.authorize(
            Request("GET", self.spec.route), self.target.url, self.creds, self.target.auth
        )
        t = self.now_run()
        try:
            response = self._client.get(request.url(self.target.url), headers=request.headers)
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code} {wc.error_code(_json(response))}")
            line = parse_sample(t, response.json())
        except (httpx.HTTPError, ValueError) as exc:
            line = {"t": round(t, 3), "error": f"{type(exc).__name__}: {exc}"[:300]}
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._client.close()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def read_queue_journal(journal_dir: Path) -> list[dict[str, Any]]:
    """The samples of a run's queue journal (lines with an ``error`` left out)."""
    path = journal_dir / JOURNAL
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "error" not in row:
            rows.append(row)
    return rows


def queue_tuples(journal_dir: Path) -> list[tuple[float, int, int, int]]:
    """``(t, pending, past_due, running)`` per sample: the shape of the sandbox's samples."""
    return [
        (float(r["t"]), int(r["pending"]), int(r["past_due"]), int(r["running"]))
        for r in read_queue_journal(journal_dir)
    ]


def queue_summary(journal_dir: Path) -> dict[str, Any] | None:
    """``summary.json``'s ``queue`` for a real store (``None`` when it was not sampled)."""
    path = journal_dir / JOURNAL
    if not path.exists():
        return None
    rows = read_queue_journal(journal_dir)
    errors = sum(1 for line in path.read_text(encoding="utf-8").splitlines()) - len(rows)
    ages = [r["oldest_past_due_s"] for r in rows if r.get("oldest_past_due_s") is not None]
    return {
        "source": "queue-probe",
        "samples": len(rows),
        "errors": errors,
        "max_pending": max((r["pending"] for r in rows), default=0),
        "max_due": max((r["past_due"] for r in rows), default=0),
        "max_failed": max((r["failed"] for r in rows), default=0),
        "max_oldest_past_due_s": max(ages, default=None),
        "cron_disabled_samples": sum(1 for r in rows if r.get("cron_disabled")),
    }
