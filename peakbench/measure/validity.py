"""Whether a run measured what it set out to: the reasons that make a run invalid (exit 3).

A run is invalid when its figures cannot stand for the peak it replayed: the harness fell
behind the schedule or dropped arrivals, the target was unreachable, the run stopped early,
or nothing that the figures are about happened at all: the plugin never reached the carrier
fleet although parcels shipped, or every webhook push of a carrier failed (a wrong signing
secret or store credentials: the store never heard from that carrier). Each reason is one
sentence naming the real cause. An SLO that cannot be judged on a valid run fails its check
instead (see :func:`peakbench.measure.slo.judge`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from peakbench.config.profile import Profile
from peakbench.measure.journals import PushRecord

KINDS = ("orders", "ships", "views")


def push_summary(records: Iterable[PushRecord]) -> dict[str, dict[str, Any]]:
    """``summary["push"]``: per pushing carrier, ``attempts``, ``delivered`` (attempts that got a
    2xx), ``failed`` (attempts that did not, retries included), ``given_up`` (pushes abandoned
    after their last try) and ``statuses`` (attempts per HTTP status; ``"none"`` when no answer
    came: timeout, refused connection)."""
    out: dict[str, dict[str, Any]] = {}
    statuses: dict[str, Counter[str]] = {}
    for r in records:
        row = out.setdefault(r.carrier, {"attempts": 0, "delivered": 0, "failed": 0, "given_up": 0})
        row["attempts"] += 1
        if r.delivered:
            row["delivered"] += 1
        else:
            row["failed"] += 1
            row["given_up"] += r.given_up
        status = "none" if r.status is None else str(r.status)
        statuses.setdefault(r.carrier, Counter())[status] += 1
    for carrier, row in out.items():
        counts = statuses[carrier]
        row["statuses"] = {k: counts[k] for k in sorted(counts)}
    return out


def partial_reason(faults: list[dict[str, Any]]) -> str:
    """Why the figures cover only part of the schedule, named by its real cause: a signal is an
    interruption; a crash, a hang or a full disk is not."""
    signals = [str(f.get("detail", "")).split()[0] for f in faults if f.get("kind") == "signal"]
    if signals:
        return f"the run was interrupted ({signals[0]}); figures cover only the part that ran"
    causes = []
    for f in faults:
        who = f" in {f['child']}" if f.get("child") else ""
        cause = f"{f.get('kind', 'fault')}{who}"
        if cause not in causes:
            causes.append(cause)
    if causes:
        return (
            f"partial run: it stopped early ({', '.join(causes)}); figures cover only the "
            "part that ran"
        )
    return "partial run: it stopped early; figures cover only the part that ran"


def invalid_reasons(
    profile: Profile,
    s: dict[str, Any],
    unreachable: int,
    partial: bool,
    faults: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Every reason the run in summary ``s`` is invalid (``[]``: valid)."""
    reasons = []
    if partial:
        reasons.append(partial_reason(faults or []))
    executed = sum(s[k]["done"] + s[k]["failed"] for k in KINDS)
    scheduled = sum(s[k]["scheduled"] for k in KINDS)
    late = sum(s[k]["late"] for k in KINDS)
    if executed and late / executed > profile.replay.max_late_share:
        reasons.append(
            f"the harness fell behind the schedule: {late / executed:.1%} of arrivals started more "
            f"than {profile.replay.late_after:g}s (store) late, limit "
            f"{profile.replay.max_late_share:.0%}"
        )
    dropped = sum(s[k].get("dropped", 0) for k in KINDS)
    if dropped:
        reasons.append(
            f"the harness dropped {dropped} arrivals it could not start within replay.drop_after"
        )
    if not partial and executed + dropped < scheduled:
        reasons.append(f"{scheduled - executed - dropped} scheduled arrivals never ran")
    if executed and unreachable / executed > 0.05:
        reasons.append(f"the target was unreachable for {unreachable} of {executed} requests")
    reasons += _nothing_happened(profile, s)
    return reasons


def _nothing_happened(profile: Profile, s: dict[str, Any]) -> list[str]:
    reasons = []
    shipped = s["ships"]["done"]
    requests = sum(int(c.get("requests", 0)) for c in s.get("carriers", {}).values())
    if shipped and not requests:
        where = (
            "is the store's plugin redirected to the mock fleet? docs/staging-wordpress.md"
            if profile.target.kind != "sandbox"
            else "the plugin never polled, registered or called any carrier"
        )
        reasons.append(
            f"the plugin never reached the carrier fleet: 0 carrier requests while {shipped:,} "
            f"parcels shipped ({where}); nothing about the carriers was measured"
        )
    for carrier, p in (s.get("push") or {}).items():
        if p["attempts"] and not p["delivered"]:
            codes = ", ".join(
                f"{'no answer' if k == 'none' else f'HTTP {k}'} ×{n:,}"
                for k, n in p["statuses"].items()
            )
            reasons.append(
                f"every webhook push of {carrier} failed: {p['attempts']:,} attempts, 0 "
                f"delivered ({codes}), {p['given_up']:,} pushes given up; the store never "
                f"received that carrier's updates by push ({_push_hint(carrier, p['statuses'])})"
            )
    return reasons


def _push_hint(carrier: str, statuses: dict[str, int]) -> str:
    """Where to look, from the most common answer the store gave."""
    status = max(statuses, key=lambda k: statuses[k])
    if status in ("401", "403"):
        return f"check carriers.{carrier}.push.secret_env and the store's credentials"
    if status in ("404", "405"):
        return f"check carriers.{carrier}.push.url: the store has no webhook route there"
    if status == "none":
        return "the store did not answer: is it up, and is push.timeout long enough?"
    return f"the store answered HTTP {status}"
