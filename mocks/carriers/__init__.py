"""Carrier personalities by name: each maps the neutral timeline to one vendor's API.

A personality lives in its own module exposing ``make(carrier, model)``; :data:`MODULES` maps
``CarrierSpec.personality`` to that module, imported on first use so a fleet pays only for the
vendors it speaks. May import ``mocks.push.schedule`` (when a push is due) and peakbench's
timeline, config, clock and durations; never the servers that serve them.
"""

from __future__ import annotations

import importlib

from mocks.carriers.base import Personality
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import TimelineModel

MODULES: dict[str, str] = {
    "generic": "mocks.carriers.generic",
    "17track": "mocks.carriers.seventeentrack",
    "aftership": "mocks.carriers.aftership",
    "easypost": "mocks.carriers.easypost",
    "ups": "mocks.carriers.ups",
    "fedex": "mocks.carriers.fedex",
    "usps": "mocks.carriers.usps",
    "dhl": "mocks.carriers.dhl",
    "trackship": "mocks.carriers.trackship",
}
"""``CarrierSpec.personality`` → module whose ``make(carrier, model)`` builds the personality."""


def make_personality(carrier: CarrierSpec, model: TimelineModel) -> Personality:
    """The personality ``carrier.personality`` serving ``carrier``; ValueError if there is none."""
    module = MODULES.get(carrier.personality)
    if module is None:
        known = ", ".join(sorted(MODULES))
        raise ValueError(f"unknown carrier personality {carrier.personality!r} (known: {known})")
    factory = importlib.import_module(module).make
    personality: Personality = factory(carrier, model)
    return personality
