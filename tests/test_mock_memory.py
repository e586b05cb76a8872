"""The mock keeps no per-parcel state: 200,000 distinct numbers cost no more memory than 17,000.

Caches are bounded (journeys, rendered fragments), so memory rises until they are full and then
stays flat. Tracing starts before the warm-up that fills them, so that cache entries replaced
later are counted on both sides; what the measured phase adds is then only leaks.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import MutableMapping
from typing import Any

from mocks.app import create_carrier_app
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
BATCH = 40
WARM_UP = 17_000
"""Numbers that fill the bounded caches (16,384 journeys) before the measured phase."""
MEASURED = 25_000  # the 1,000,000-number figure is in benchmarks/bench_mock_memory.py
MAX_GROWTH = 20 * 2**20


def test_many_distinct_numbers_leave_no_per_number_state() -> None:
    fleet = FleetSpec.model_validate(
        {
            "carriers": [
                {
                    "name": "acme",
                    "behaviours": [
                        {"type": "quota", "limit": 10_000, "per": "1s"},
                        {"type": "block", "violations": 5, "within": "1m", "ban": "1m"},
                        {"type": "latency", "distribution": "lognormal"},
                    ],
                }
            ]
        }
    )
    clock = ManualClock(t=0.0, start_epoch=START)
    app = create_carrier_app(fleet.carriers[0], fleet, clock, ["key"], Journal("acme", None))
    headers = [(b"x-api-key", b"key"), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/trackings/batch",
        "headers": headers,
        "client": ("127.0.0.1", 1),
    }
    served = 0

    def bodies(first: int, count: int) -> list[bytes]:
        lanes = ("cross-border", "domestic", "domestic", "domestic", "domestic")
        return [
            json.dumps(
                {
                    "tracking_numbers": [
                        make_tracking_number(START - 86400 - i, lanes[i % 5], i)
                        for i in range(start, start + BATCH)
                    ]
                }
            ).encode()
            for start in range(first, first + count, BATCH)
        ]

    async def pull(batches: list[bytes]) -> None:
        nonlocal served
        sent: list[MutableMapping[str, Any]] = []
        body = b""

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        for body in batches:  # noqa: B007 (receive reads it)
            sent.clear()
            await app(scope, receive, send)
            assert sent[0]["status"] == 200
            served += sent[1]["body"].count(b'"tracking_number"')

    # request bodies are made before tracing: the client's memory is not the server's
    warm_up, measured = bodies(0, WARM_UP), bodies(WARM_UP, MEASURED)
    began = time.monotonic()
    tracemalloc.start()
    try:
        asyncio.run(pull(warm_up))
        baseline, _ = tracemalloc.get_traced_memory()
        asyncio.run(pull(measured))
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert served == WARM_UP + MEASURED
    assert app.journal.counters.ok == (WARM_UP + MEASURED) // BATCH
    growth = after - baseline
    print(
        f"\n{MEASURED:,} numbers: traced {baseline / 2**20:.1f} → {after / 2**20:.1f} MiB "
        f"(growth {growth / 2**20:.2f} MiB, peak {peak / 2**20:.1f} MiB) "
        f"in {time.monotonic() - began:.1f} s"
    )
    assert growth < MAX_GROWTH
