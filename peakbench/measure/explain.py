"""Why a run passed or failed, in two sentences a manager can read: ``summary["explanation"]``.

A pure function of ``summary.json``: the first sentence says what happened to tracking (the
longest throttle outage with its first and last cause, pushes that never arrived, a plugin that
never called, the failing SLOs, or what a passing run achieved), the second whose side the
expected complaints are on and what they cost the support team. For example:

    Tracking froze for 8 h 38 min from Fri 27 Nov 16:10 GMT, when the carrier's daily quota ran
    out; the plugin kept calling (on_throttle: ignore) until the carrier banned it at Fri 27 Nov
    16:25 GMT. Expect 20.9 complaints per 1,000 orders ($167.41 of support): 59% are transport
    delay, which is the carrier's side; 41% are display lag, which is the plugin's.

Display lag (the carrier had newer events than the page showed) is the plugin's side; transport
delay (the parcel really had not moved) is the carrier's (DESIGN.md, "Truth and observation").
"""

from __future__ import annotations

from typing import Any

from peakbench.measure.labels import check_label, check_value
from peakbench.measure.units import at, duration, money, share

QUOTA_WORDS = {
    "1d": "daily quota",
    "24h": "daily quota",
    "1h": "hourly quota",
    "1m": "per-minute rate limit",
    "60s": "per-minute rate limit",
    "1s": "per-second rate limit",
}


def explain(summary: dict[str, Any]) -> str:
    """Two sentences (three when webhook pushes failed) on why the run came out as it did."""
    if not summary.get("valid", False):
        return _invalid(summary)
    parts = [_push(summary), _what_happened(summary), _complaints(summary)]
    return " ".join(p for p in parts if p)


def _invalid(summary: dict[str, Any]) -> str:
    reasons = [str(r) for r in summary.get("invalid_reasons") or []] or ["no reason recorded"]
    more = f" (and {_count(len(reasons) - 1, 'more reason')})" if len(reasons) > 1 else ""
    return (
        f"This run cannot be trusted, so it neither passes nor fails: {reasons[0]}{more}. "
        "Fix that and run it again before reading its figures."
    )


def _push(summary: dict[str, Any]) -> str:
    """A sentence per pushing carrier none of whose webhook pushes reached the store."""
    out = []
    for carrier, p in sorted((summary.get("push") or {}).items()):
        attempts = int(p.get("attempts") or 0)
        if attempts == 0 or int(p.get("delivered") or 0) > 0:
            continue
        statuses = p.get("statuses") or {}
        top = max(statuses.items(), key=lambda kv: kv[1])[0] if statuses else None
        given_up = int(p.get("given_up") or 0)
        out.append(
            f"Every webhook push from {carrier} to the store failed ({attempts:,} attempts"
            + (f", HTTP {top}" if top else "")
            + (f", {given_up:,} updates given up" if given_up else "")
            + "), so those updates never reached the tracking page."
        )
    return " ".join(out)


def _what_happened(summary: dict[str, Any]) -> str:
    outages = summary.get("outages") or []
    carriers = summary.get("carriers") or {}
    calls = sum(int(c.get("requests") or 0) for c in carriers.values())
    if carriers and calls == 0 and summary.get("target") == "sandbox":
        return "The plugin never called a carrier, so no tracking page could ever move."
    if outages:
        return _outage(summary, max(outages, key=lambda o: o["end"] - o["start"]), len(outages))
    failed = [c for c in (summary.get("slo") or {}).get("checks", []) if not c.get("passed")]
    if failed:
        return "No carrier refused the plugin, but " + _failures(summary, failed) + "."
    checks = (summary.get("slo") or {}).get("checks", [])
    stale = (summary.get("staleness_s") or {}).get("p95")
    head = _all_passed(len(checks)) if checks else "No SLOs are set"
    fresh = (
        f": 95% of customer views were at most {duration(stale)} behind the carrier"
        if stale is not None
        else ""
    )
    return f"{head}{fresh}, and no carrier refused the plugin."


def _failures(summary: dict[str, Any], failed: list[dict[str, Any]]) -> str:
    said = []
    for c in failed[:2]:
        name = str(c["name"])
        if c.get("value") is None or c.get("samples") == 0:
            said.append(f"{check_label(name, summary)} had nothing to measure")
        else:
            said.append(
                f"{check_label(name, summary)} was {check_value(name, c['value'])} against a "
                f"limit of {check_value(name, c.get('threshold'))}"
            )
    more = f" ({_count(len(failed) - 2, 'more check')} failed)" if len(failed) > 2 else ""
    return " and ".join(said) + more


def _outage(summary: dict[str, Any], o: dict[str, Any], count: int) -> str:
    several = len(summary.get("carriers") or {}) > 1
    where = f" at {o['carrier']}" if several else ""
    causes = o.get("causes") or [{"cause": o["cause"], "from": o["start"]}]
    first = str(o.get("first_cause") or causes[0]["cause"])
    last = str(o["cause"])
    kept = _plugin_did(summary.get("plugin") or {})
    ban_at = next((c["from"] for c in causes if c["cause"] == "ban"), o["start"])
    if first.startswith("quota:") and last == "ban":
        story = (
            f", when the carrier's {_quota(first)} ran out; {kept} until the carrier banned it "
            f"at {at(summary, ban_at)}"
        )
    elif first.startswith("quota:"):
        story = f", when the carrier's {_quota(first)} ran out; {kept}" + (
            "" if o.get("open") else " until it reset"
        )
    elif first == "ban":
        story = ", when the carrier banned the plugin for calling too often"
    elif last == "ban":
        story = f", when the carrier refused the plugin ({first}); {kept} until it was banned"
    else:
        story = f", when the carrier refused the plugin ({first})"
    if o.get("open"):
        story += ", and it was still down when the run ended"
    others = f" ({count - 1} shorter outages too)" if count > 2 else ""
    others = " (one shorter outage too)" if count == 2 else others
    slo = summary.get("slo") or {}
    checks = slo.get("checks") or []
    lead = (
        f"{_all_passed(len(checks))}, though tracking"
        if checks and slo.get("passed")
        else "Tracking"
    )
    return (
        f"{lead}{where} froze for {duration(o['end'] - o['start'])} from "
        f"{at(summary, o['start'])}{story}{others}."
    )


def _plugin_did(plugin: dict[str, Any]) -> str:
    """What the plugin did about refusals, from its ``on_throttle`` (a real store's: unknown)."""
    policy = plugin.get("on_throttle")
    if policy == "backoff":
        return "the plugin backed off and retried (on_throttle: backoff)"
    if policy == "stop-run":
        return (
            "the plugin stopped each queue run and called again at the next (on_throttle: stop-run)"
        )
    if policy:
        return f"the plugin kept calling (on_throttle: {policy})"
    return "the plugin kept calling"


def _all_passed(n: int) -> str:
    return "The one SLO check passed" if n == 1 else f"All {n} SLO checks passed"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _quota(cause: str) -> str:
    per = cause.removeprefix("quota:")
    return QUOTA_WORDS.get(per, f"quota per {per}")


def _complaints(summary: dict[str, Any]) -> str:
    if int((summary.get("views") or {}).get("done") or 0) == 0:
        return "No customer views were measured, so no complaints can be estimated."
    comp = summary.get("complaints") or {}
    per_1000 = float(comp.get("expected_per_1000_orders") or 0.0)
    if per_1000 <= 0:
        return "No complaints are expected: no customer saw a page stall long enough to complain."
    support = summary.get("support") or {}
    cost = (
        f" ({money(support['cost_per_1000_orders'], support.get('currency', 'USD'))} of support)"
        if support.get("cost_per_1000_orders") is not None
        else ""
    )
    lag = float(comp.get("display_lag_share") or 0.0)
    transport = float(comp.get("transport_delay_share") or 0.0)
    sides = [
        (lag, "display lag", "the plugin's side", "the plugin's"),
        (transport, "transport delay", "the carrier's side", "the carrier's"),
    ]
    sides.sort(key=lambda s: -s[0])  # the bigger share first; display lag first on a tie
    (a, a_name, a_side, _), (b, b_name, _, b_short) = sides
    head = f"Expect {per_1000:.1f} complaints per 1,000 orders{cost}: "
    if share(b) == "0%":
        return f"{head}all are {a_name}, which is {a_side}."
    return (
        f"{head}{share(a)} are {a_name}, which is {a_side}; "
        f"{share(b)} are {b_name}, which is {b_short}."
    )
