"""``summary.json`` ``shopify``: how a Shopify run's orders were created and how its GraphQL
calls fared under the store's cost limit, from ``journals/shopify.jsonl`` (one line per call
the replay made, :func:`peakbench.adapters.shopify_pacer.call_line`) and the replay journal.

``orders.mode`` says whether orders were created at their scheduled instants (``create``) or
before the measured window (``precreate``); pre-created orders' creation is not part of the
measured peak, and any order whose creation still ran at or after run second 0 is counted in
``created_in_window``. ``graphql`` counts the replay's calls per operation, the ``THROTTLED``
answers it got and honoured, and the store seconds it waited for the bucket and the create rate.
``app`` (the sandbox) counts the tracking app's own calls the same way, from
``journals/shopify-app.jsonl`` (its write-backs under its own bucket, ``shopify_plan``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peakbench.measure.journals import SkipCounter, replay_records

SETTINGS_FILE = "shopify-replay.json"
REPLAY_JOURNAL = "shopify.jsonl"
APP_JOURNAL = "shopify-app.jsonl"
PRECREATE_NOTE = (
    "orders were created before the measured window; their creation is not part of the "
    "measured peak (the window measures fulfilment and tracking views)"
)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("op"), str):
                yield line


def _calls(path: Path) -> dict[str, Any]:
    """Calls, THROTTLED answers, failures and waits of one GraphQL journal, per operation."""
    ops: dict[str, dict[str, Any]] = {}
    waited = 0.0
    lowest: float | None = None
    for line in _lines(path):
        row = ops.setdefault(line["op"], {"calls": 0, "throttled": 0, "failed": 0, "waited_s": 0.0})
        row["calls"] += 1
        row["throttled"] += bool(line.get("throttled"))
        row["failed"] += bool(line.get("error")) and not line.get("throttled")
        row["waited_s"] += float(line.get("waited", 0.0))
        waited += float(line.get("waited", 0.0))
        available = line.get("available")
        if isinstance(available, int | float):
            lowest = available if lowest is None else min(lowest, available)
    for row in ops.values():
        row["waited_s"] = round(row["waited_s"], 3)
    return {
        "calls": sum(row["calls"] for row in ops.values()),
        "throttled": sum(row["throttled"] for row in ops.values()),
        "waited_s": round(waited, 3),
        "lowest_available": lowest,
        "by_operation": {k: ops[k] for k in sorted(ops)},
    }


def shopify_summary(root: Path) -> dict[str, Any] | None:
    """The ``shopify`` section of the run in ``root``, or ``None`` when it spoke no Shopify."""
    try:
        settings = json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(settings, dict):
        return None
    mode = str(settings.get("orders", "create"))
    graphql = _calls(root / "journals" / REPLAY_JOURNAL)
    created = [
        r for r in replay_records(root / "journals" / "replay.jsonl", SkipCounter())
        if r.kind == "order"
    ]  # fmt: skip
    ok = [r for r in created if r.ok]
    before = [r for r in ok if r.start < 0]
    orders: dict[str, Any] = {
        "mode": mode,
        "create_per_minute": settings.get("create_per_minute"),
        "created": len(ok),
        "failed": len(created) - len(ok),
        "created_before_window": len(before),
        "created_in_window": len(ok) - len(before),
    }
    if mode == "precreate":
        orders["note"] = PRECREATE_NOTE
        if before:
            orders["precreated_from"] = round(min(r.start for r in before), 3)
            orders["precreated_to"] = round(max(r.end for r in before), 3)
    graphql["bucket"] = {
        "size": settings.get("bucket_size"),
        "restore_rate": settings.get("restore_rate"),
    }
    section: dict[str, Any] = {
        "target": "real" if settings.get("real") else "sandbox",
        "orders": orders,
        "graphql": graphql,
    }
    app = root / "journals" / APP_JOURNAL
    if app.exists():  # the sandbox's tracking app (a real store's app is not ours to count)
        section["app"] = _calls(app)
    return section


def shopify_lines(summary: dict[str, Any]) -> list[str]:
    """Plain sentences for the console, summary.md and report.html (empty: not a Shopify run)."""
    s = summary.get("shopify")
    if not isinstance(s, dict):
        return []
    o, g = s["orders"], s["graphql"]
    rate = o.get("create_per_minute")
    pace = f" at ≤{rate:g}/min" if rate else ""
    if o["mode"] == "precreate":
        first = (
            f"Shopify orders: {o['created_before_window']:,} pre-created before the window{pace}"
            f" (not part of the measured peak), {o['created_in_window']:,} created in it"
        )
    else:
        first = f"Shopify orders: {o['created']:,} created at their scheduled instants{pace}"
    if o["failed"]:
        first += f", {o['failed']:,} failed"
    ops = ", ".join(
        f"{name} {row['calls']:,}"
        + (f" ({row['throttled']:,} THROTTLED)" if row["throttled"] else "")
        for name, row in g["by_operation"].items()
    )
    second = (
        f"Replay GraphQL calls: {g['calls']:,} — {ops or 'none'}; {g['throttled']:,} THROTTLED "
        f"answers honoured, {g['waited_s']:,.1f} s (store) waited for the cost bucket and the "
        "create rate"
    )
    lines = [first, second]
    app = s.get("app")
    if isinstance(app, dict) and app.get("calls"):
        lines.append(
            f"Tracking app GraphQL calls: {app['calls']:,}, {app.get('throttled', 0):,} THROTTLED "
            f"by the store, {app.get('waited_s', 0.0):,.1f} s (store) waited for the app's own "
            "cost bucket (shopify_plan)"
        )
    return lines
