"""How a Shopify replay creates its orders (``replay.shopify`` in a profile).

A Shopify development store accepts at most five ``orderCreate`` calls a minute (shopify.dev,
``orderCreate``: "If you're using the orderCreate mutation with a trial or development store,
then you can create a maximum of five new orders per minute"). A real-store replay therefore
either creates its orders gently, at their scheduled instants under ``create_per_minute``
(``orders: create``), or creates every scheduled order before the measured window and then
fulfils and views them on schedule (``orders: precreate``). The summary says which
(``summary.json`` ``shopify.orders``): pre-created orders' creation is not part of the measured
peak. All rates are per minute of store time (a real store runs at ``clock.scale: 1``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from peakbench.config.base import Spec

DEV_STORE_CREATES_PER_MINUTE = 5.0
"""``orderCreate`` calls a development or trial store accepts per minute (shopify.dev)."""


class ShopifyReplaySpec(Spec):
    """``replay.shopify``: how a Shopify replay gets the orders it fulfils and views."""

    orders: Literal["create", "precreate"] = "create"
    """``create``: each order is created at its scheduled instant (paced by
    ``create_per_minute``; an order that must wait for a slot starts late and is counted late).
    ``precreate``: every scheduled order is created before run second 0 (paced the same way),
    and the window measures fulfilment and tracking views only."""
    create_per_minute: float | None = Field(default=None, gt=0, le=100_000)
    """``orderCreate`` calls per store minute the replay allows itself. ``None``: 5 on a real
    Shopify store (a development store's limit), no limit but the cost bucket on the sandbox."""
    precreate_margin: float = Field(default=1.25, ge=1.0, le=10.0)
    """``precreate``: the pre-creation phase is planned this many times longer than the pace
    alone needs (round trips and throttles take time too)."""


def create_rate(spec: ShopifyReplaySpec, real: bool) -> float | None:
    """``orderCreate`` calls per store minute the replay keeps to (``None``: unpaced)."""
    if spec.create_per_minute is not None:
        return spec.create_per_minute
    return DEV_STORE_CREATES_PER_MINUTE if real else None
