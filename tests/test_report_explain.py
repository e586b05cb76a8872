"""The explanation: why a run passed or failed, in words, from summaries built here."""

from __future__ import annotations

from typing import Any

import pytest

from peakbench.measure.explain import explain

HOUR = 3600.0


def _summary(**changes: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "profile": "bf",
        "target": "sandbox",
        "plugin": {"strategy": "direct-polling", "interval": 900.0, "on_throttle": "ignore"},
        "clock": {
            "scale": 1200.0,
            "start": 0.0,
            "end": 48 * HOUR,
            "start_iso": "2026-11-27T05:00:00Z",
        },
        "views": {"scheduled": 100, "done": 100, "late": 0, "failed": 0},
        "staleness_s": {"count": 100, "p95": 1500.0},
        "outages": [],
        "carriers": {"generic": {"requests": 900, "ok": 900, "throttled": 0, "blocked": 0}},
        "complaints": {
            "expected_per_1000_orders": 20.9,
            "display_lag_share": 0.41,
            "transport_delay_share": 0.59,
        },
        "support": {"cost_per_1000_orders": 167.41, "currency": "USD"},
        "stale_after_s": HOUR,
        "slo": {
            "passed": True,
            "checks": [
                {"name": "staleness_p95_s", "threshold": HOUR, "value": 1500.0, "passed": True}
            ],
        },
        "valid": True,
        "invalid_reasons": [],
    }
    s.update(changes)
    return s


def _quota_then_ban(**changes: Any) -> dict[str, Any]:
    # the daily quota runs out at 16:10 GMT (11 h 10 min in), a ban follows at 16:25
    start = 11 * HOUR + 600
    outage = {
        "carrier": "generic",
        "start": start,
        "end": start + 8 * HOUR + 38 * 60,
        "cause": "ban",
        "first_cause": "quota:1d",
        "causes": [
            {"cause": "quota:1d", "from": start, "refused": 40},
            {"cause": "ban", "from": start + 900, "refused": 3000},
        ],
        "refused": 3040,
        "open": False,
        "orders_affected": 48,
        "views_affected": 56,
    }
    failed = {"name": "longest_outage_s", "threshold": 1800.0, "value": 31080.0, "passed": False}
    return _summary(outages=[outage], slo={"passed": False, "checks": [failed]}, **changes)


def test_quota_then_ban_names_the_first_and_last_cause_and_whose_side() -> None:
    text = explain(_quota_then_ban())
    assert text == (
        "Tracking froze for 8 h 38 min from Fri 27 Nov 16:10 GMT, when the carrier's daily quota "
        "ran out; the plugin kept calling (on_throttle: ignore) until the carrier banned it at "
        "Fri 27 Nov 16:25 GMT. Expect 20.9 complaints per 1,000 orders ($167.41 of support): "
        "59% are transport delay, which is the carrier's side; 41% are display lag, which is "
        "the plugin's."
    )


def test_display_lag_majority_comes_first_and_is_the_plugins_side() -> None:
    comp = {"expected_per_1000_orders": 8.0, "display_lag_share": 0.7, "transport_delay_share": 0.3}
    text = explain(_summary(complaints=comp))
    assert text.endswith(
        "70% are display lag, which is the plugin's side; 30% are transport delay, which is "
        "the carrier's."
    )
    # a tie reads display lag first
    tie = {"expected_per_1000_orders": 8.0, "display_lag_share": 0.5, "transport_delay_share": 0.5}
    assert "50% are display lag, which is the plugin's side; 50% are transport" in explain(
        _summary(complaints=tie)
    )
    # all on one side: no "0% are …"
    one = {"expected_per_1000_orders": 8.0, "display_lag_share": 0.0, "transport_delay_share": 1.0}
    assert explain(_summary(complaints=one)).endswith(
        "all are transport delay, which is the carrier's side."
    )


def test_a_passing_run_without_outages_gets_a_sentence_too() -> None:
    text = explain(_summary())
    assert text.startswith(
        "The one SLO check passed: 95% of customer views were at most 25 min behind the carrier, "
        "and no carrier refused the plugin."
    )
    assert "Expect 20.9 complaints per 1,000 orders ($167.41 of support)" in text
    assert explain(_summary(slo={"passed": True, "checks": []})).startswith("No SLOs are set: ")


def test_zero_complaints_and_zero_views_are_said_plainly() -> None:
    none = {"expected_per_1000_orders": 0.0, "display_lag_share": 0.0, "transport_delay_share": 0.0}
    assert explain(_summary(complaints=none)).endswith(
        "No complaints are expected: no customer saw a page stall long enough to complain."
    )
    no_views = _summary(views={"scheduled": 10, "done": 0, "late": 0, "failed": 10})
    assert explain(no_views).endswith(
        "No customer views were measured, so no complaints can be estimated."
    )


def test_a_failed_run_without_outage_names_its_checks_in_words() -> None:
    checks = [
        {"name": "staleness_p95_s", "threshold": HOUR, "value": 6420.0, "passed": False},
        {"name": "stale_views_share", "threshold": 0.1, "value": 0.125, "passed": False},
        {"name": "complaints_per_1000_orders", "threshold": 5, "value": 20.9, "passed": False},
    ]
    text = explain(_summary(slo={"passed": False, "checks": checks}))
    assert text.startswith(
        "No carrier refused the plugin, but staleness p95 was 1 h 47 min against a "
        "limit of 1 h and views stale for over 1 h was 12% against a limit of 10% "
        "(1 more check failed)."
    )


def test_an_open_quota_outage_at_one_of_several_carriers() -> None:
    outage = {
        "carrier": "ups",
        "start": 30 * HOUR,
        "end": 48 * HOUR,
        "cause": "quota:1d",
        "first_cause": "quota:1d",
        "causes": [{"cause": "quota:1d", "from": 30 * HOUR, "refused": 9}],
        "open": True,
    }
    short = {**outage, "carrier": "dhl", "start": HOUR, "end": 2 * HOUR, "open": False}
    carriers = {"ups": {"requests": 5}, "dhl": {"requests": 5}}
    text = explain(_summary(outages=[short, outage], carriers=carriers, plugin=None))
    assert text.startswith(
        "The one SLO check passed, though tracking at ups froze for 18 h from Sat 28 Nov 11:00 "
        "GMT, when the carrier's daily quota ran out; the plugin kept calling, and it was still "
        "down when the run ended (one shorter outage too)."
    )


def test_older_summaries_without_causes_still_explain() -> None:
    outage = {"carrier": "generic", "start": 0.0, "end": 7200.0, "cause": "ban", "open": False}
    failed = {"passed": False, "checks": []}
    assert explain(_summary(outages=[outage], slo=failed)).startswith(
        "Tracking froze for 2 h from Fri 27 Nov 05:00 GMT, when the carrier banned the plugin "
        "for calling too often."
    )


def test_an_invalid_run_says_it_cannot_be_trusted_and_why() -> None:
    s = _quota_then_ban(valid=False, invalid_reasons=["the harness fell behind", "x"])
    assert explain(s) == (
        "This run cannot be trusted, so it neither passes nor fails: the harness fell behind "
        "(and 1 more reason). Fix that and run it again before reading its figures."
    )


@pytest.mark.parametrize(
    ("push", "said"),
    [
        (
            {
                "aftership": {
                    "attempts": 25,
                    "delivered": 0,
                    "failed": 25,
                    "given_up": 4,
                    "statuses": {"401": 25},
                }
            },
            "Every webhook push from aftership to the store failed (25 attempts, HTTP 401, "
            "4 updates given up), so those updates never reached the tracking page.",
        ),
        ({"aftership": {"attempts": 25, "delivered": 20, "failed": 5}}, None),
        ({"aftership": {"attempts": 0, "delivered": 0}}, None),
    ],
)
def test_pushes_that_never_arrived_lead_the_explanation(
    push: dict[str, Any], said: str | None
) -> None:
    text = explain(_summary(push=push))
    if said is None:
        assert "webhook" not in text
    else:
        assert text.startswith(said)


def test_a_plugin_that_never_called_a_carrier_is_named() -> None:
    carriers = {"generic": {"requests": 0, "ok": 0, "throttled": 0, "blocked": 0}}
    assert explain(_summary(carriers=carriers)).startswith(
        "The plugin never called a carrier, so no tracking page could ever move."
    )


def test_a_passing_run_with_a_short_outage_says_both() -> None:
    s = _quota_then_ban()
    s["slo"] = {"passed": True, "checks": [{**s["slo"]["checks"][0], "passed": True}]}
    assert explain(s).startswith(
        "The one SLO check passed, though tracking froze for 8 h 38 min from Fri 27 Nov 16:10 GMT"
    )


def test_what_the_plugin_did_follows_its_on_throttle() -> None:
    plugin = {"strategy": "well-behaved", "on_throttle": "backoff"}
    text = explain(_quota_then_ban(plugin=plugin))
    assert (
        "daily quota ran out; the plugin backed off and retried (on_throttle: backoff) until "
        in (text)
    )
    other = _quota_then_ban()
    other["outages"][0]["causes"] = [{"cause": "concurrency", "from": 0.0, "refused": 3}]
    other["outages"][0]["first_cause"] = "concurrency"
    other["outages"][0]["cause"] = "concurrency"
    assert ", when the carrier refused the plugin (concurrency)." in explain(other)
