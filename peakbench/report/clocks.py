"""How a report names the clock a run ran under (DESIGN.md "Time")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def pace(clock: Mapping[str, Any]) -> str:
    """``virtual time`` for a virtual-time run, ``×1200`` for a wall-time run at that scale."""
    if clock.get("mode") == "virtual" or clock.get("scale") is None:
        return "virtual time"
    return f"×{clock['scale']:g}"


def pace_phrase(clock: Mapping[str, Any]) -> str:
    """``in virtual time`` or ``at ×1200``, to follow "… of store time"."""
    text = pace(clock)
    return f"in {text}" if text == "virtual time" else f"at {text}"


def pace_sentence(clock: Mapping[str, Any]) -> str:
    """One sentence on what the clock means for the figures."""
    if clock.get("mode") == "virtual" or clock.get("scale") is None:
        return (
            "The run executed in virtual store time: modelled latency is the only latency, and "
            "the same profile and seed give the same figures on any machine."
        )
    return f"One wall second was {clock['scale']:g} store seconds."
