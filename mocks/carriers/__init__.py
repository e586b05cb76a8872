"""Carrier personalities by name: each maps the neutral timeline to one vendor's API."""

from __future__ import annotations

from collections.abc import Callable

from mocks.carriers.base import Personality
from mocks.carriers.generic import GenericPersonality
from peakbench.timeline import TimelineModel

PERSONALITIES: dict[str, Callable[[str, TimelineModel], Personality]] = {
    "generic": GenericPersonality,
}
"""``CarrierSpec.personality`` → factory taking (carrier name, timeline model)."""


def make_personality(name: str, carrier: str, model: TimelineModel) -> Personality:
    """The personality ``name`` serving carrier ``carrier``; ValueError if there is none."""
    factory = PERSONALITIES.get(name)
    if factory is None:
        known = ", ".join(sorted(PERSONALITIES))
        raise ValueError(f"unknown carrier personality {name!r} (known: {known})")
    return factory(carrier, model)
