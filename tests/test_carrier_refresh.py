"""Aggregator refresh cadence on pull APIs: an answer shows what the aggregator fetched on its last
poll of the carrier, so a scan reaches it only on the next poll."""

from __future__ import annotations

import json
from typing import Any

from mocks.carriers import make_personality
from mocks.carriers._refresh import Refresh
from mocks.carriers.aftership import AfterShip, tracking_id
from mocks.carriers.easypost import EasyPost
from peakbench.config.fleet import FleetSpec
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
HOUR = 3600.0


def personality(kind: str, refresh: dict[str, str] | None) -> Any:
    carrier: dict[str, Any] = {"name": "acme", "personality": kind}
    if refresh is not None:
        carrier["refresh"] = refresh
    fleet = FleetSpec.model_validate({"seed": 7, "carriers": [carrier]})
    return make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))


def checkpoints_at(p: AfterShip, number: str, epoch: float) -> int:
    route, argument = p.match("POST", "/tracking/2026-07/trackings")
    p.respond(p.parse(route, argument, json.dumps({"tracking_number": number}).encode()), epoch)
    path = f"/tracking/2026-07/trackings/{tracking_id(number)}"
    route, argument = p.match("GET", path)
    reply = p.respond(p.parse(route, argument, b""), epoch)
    assert reply.status == 200, reply.body
    return len(json.loads(reply.body)["data"]["checkpoints"])


def test_fixed_cadence_shows_the_state_of_the_last_poll() -> None:
    shipped = START - 3 * DAY
    number = make_tracking_number(shipped, "domestic", 1)
    events = journey(personality("aftership", None).model, number)
    current = personality("aftership", None)
    polled = personality("aftership", {"min": "6h", "max": "6h"})
    behind = 0
    for hours in range(0, 72, 5):
        epoch = shipped + hours * HOUR + 1234.0
        last_poll = shipped + (hours * HOUR + 1234.0) // (6 * HOUR) * 6 * HOUR
        now, seen = checkpoints_at(current, number, epoch), checkpoints_at(polled, number, epoch)
        assert now == visible_count(events, epoch)
        assert seen == visible_count(events, last_poll)
        behind += seen < now
    assert behind > 0  # the cadence does hold scans back


def test_random_cadence_lags_but_never_leads_the_carrier() -> None:
    refresh = Refresh("7:acme:refresh", (2 * HOUR, 6 * HOUR))
    lags = []
    for seq in range(40):
        shipped = START - 5 * DAY + seq * 977.0
        number = make_tracking_number(shipped, ("domestic", "cross-border")[seq % 2], seq)
        for k in range(1, 30):
            epoch = shipped + k * 4111.0
            known = refresh.known(number, epoch)
            assert shipped <= known <= epoch
            assert epoch - known < 6 * HOUR or known == shipped
            lags.append(epoch - known)
    assert 0 < sum(lags) / len(lags) < 6 * HOUR
    # the same number and time give the same answer: no per-number state, a pure function
    n = make_tracking_number(START - DAY, "domestic", 3)
    assert refresh.known(n, START) == Refresh("7:acme:refresh", (2 * HOUR, 6 * HOUR)).known(
        n, START
    )


def test_easypost_pull_uses_the_cadence_too() -> None:
    shipped = START - 2 * DAY
    number = make_tracking_number(shipped, "domestic", 2)
    fresh, slow = personality("easypost", None), personality("easypost", {"min": "1d", "max": "1d"})
    assert isinstance(fresh, EasyPost) and isinstance(slow, EasyPost)
    epoch = shipped + DAY - 60.0  # before the first re-poll: only the state at ship time
    details = []
    for p in (fresh, slow):
        route, argument = p.match("POST", "/v2/trackers")
        body = json.dumps({"tracker": {"tracking_code": number, "carrier": "acme"}}).encode()
        reply = p.respond(p.parse(route, argument, body), epoch)
        assert reply.status in (200, 201), reply.body
        details.append(len(json.loads(reply.body)["tracking_details"]))
    events = journey(fresh.model, number)
    assert details == [visible_count(events, epoch), visible_count(events, shipped)]
    assert details[0] > details[1]
