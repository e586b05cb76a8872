"""The sandbox store's shipment tracking items, where the official Shipment Tracking plugin
and AST serve them.

Under ``wc-shipment-tracking/v3`` and AST's aliases ``wc-ast/v3``, ``wc/v1``, ``wc/v2``,
``wc/v3``: ``orders/{id}/shipment-trackings`` (``GET`` list, ``POST`` add: the shipment is
registered for the plugin), ``…/{tracking_id}`` (``GET``, ``DELETE``), ``…/providers``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mocks.store.auth import Authenticator
from mocks.store.bodies import parse_tracking_body
from mocks.store.db import StoreDB
from mocks.store.orders import BadRequest, mark_completed
from mocks.store.plugin import Plugin
from mocks.store.rest import StoreJSON, StoreRoutes, json_body, no_order
from mocks.store.tables import ShipmentRow
from peakbench.plan.clock import Clock

TRACKING_NAMESPACES = ("wc-shipment-tracking/v3", "wc-ast/v3", "wc/v1", "wc/v2", "wc/v3")
"""Where the official Shipment Tracking plugin and AST serve ``shipment-trackings``."""


def _no_tracking() -> BadRequest:
    return BadRequest(
        "woocommerce_rest_shop_order_shipment_tracking_invalid_id",
        "Invalid shipment tracking ID.",
        status=404,
    )


def _tracking_item(s: ShipmentRow, link: str) -> dict[str, Any]:
    return {
        "tracking_id": s.tracking_id,
        "tracking_provider": s.carrier,
        "tracking_link": link,
        "tracking_number": s.tracking_number,
        "date_shipped": s.date_shipped,
    }


class TrackingRoutes(StoreRoutes):
    """The shipment tracking item handlers; providers are the plugin's carriers."""

    def __init__(self, db: StoreDB, plugin: Plugin, clock: Clock, auth: Authenticator) -> None:
        super().__init__(db, plugin, clock, auth)
        self.providers = {name.lower(): name for name in plugin.carriers}

    async def list_trackings(self, request: Request) -> Response:
        row = self.db.get_order(self.order_id(request))
        if row is None:
            raise no_order()
        link = self.page_link(request, row.id, row.order_key)
        return StoreJSON([_tracking_item(s, link) for s in self.db.shipments_of(row.id)])

    def _find_tracking(self, request: Request) -> tuple[str, ShipmentRow]:
        row = self.db.get_order(self.order_id(request))
        if row is None:
            raise no_order()
        wanted = request.path_params["tracking_id"]
        item = next((s for s in self.db.shipments_of(row.id) if s.tracking_id == wanted), None)
        if item is None:
            raise _no_tracking()
        return self.page_link(request, row.id, row.order_key), item

    async def get_tracking(self, request: Request) -> Response:
        link, item = self._find_tracking(request)
        return StoreJSON(_tracking_item(item, link))

    async def delete_tracking(self, request: Request) -> Response:
        with self.db.transaction():
            link, item = self._find_tracking(request)
            self.db.delete_shipment(item.id)
        return StoreJSON(_tracking_item(item, link))

    async def list_providers(self, request: Request) -> Response:
        base = self.base(request)
        return StoreJSON({"Sandbox": {n: f"{base}/track/{n}/%1$s" for n in self.providers}})

    async def add_tracking(self, request: Request) -> Response:
        oid = self.order_id(request)
        body = await json_body(request)
        provider, number, date_shipped = parse_tracking_body(body, self.epoch_now())
        carrier = self.providers.get(provider.lower())
        if carrier is None:
            raise BadRequest(
                "woocommerce_rest_invalid_tracking_provider",
                f"Unknown tracking provider {provider!r}.",
                {"tracking_provider": f"one of {', '.join(sorted(self.providers))}"},
            )
        with self.db.transaction():
            row = self.db.get_order(oid)
            if row is None:
                raise no_order()
            existing = self.db.shipment(number)
            if existing is not None and existing.order_id != row.id:
                raise BadRequest(
                    "woocommerce_rest_duplicate_tracking_number",
                    "This tracking number belongs to another order.",
                    {"tracking_number": "already used"},
                )
            shipped = existing is None
            if shipped:  # a retried POST gets the same item back
                now = self.clock.now()
                tracking_id = uuid.uuid4().hex
                self.db.add_shipment(row.id, carrier, number, now, tracking_id, date_shipped)
                self.db.save_order(row.id, "completed", mark_completed(row.data, self.epoch_now()))
            item = self.db.shipment(number)
        assert item is not None
        if shipped:  # saas-push registers the number with the aggregator, synchronously
            await self.plugin.on_ship(row.id, number)
        link = self.page_link(request, row.id, row.order_key)
        return StoreJSON(_tracking_item(item, link), 201)

    def routes(self) -> list[Route]:
        api = self.api
        routes: list[Route] = []
        for ns in TRACKING_NAMESPACES:
            items = f"/wp-json/{ns}/orders/{{id:int}}/shipment-trackings"
            routes += [
                Route(items, api(self.list_trackings, "list"), methods=["GET"]),
                Route(items, api(self.add_tracking, "create"), methods=["POST"]),
                Route(f"{items}/providers", api(self.list_providers, "list"), methods=["GET"]),
                Route(f"{items}/{{tracking_id}}", api(self.get_tracking, "view"), methods=["GET"]),
                Route(
                    f"{items}/{{tracking_id}}",
                    api(self.delete_tracking, "delete"),
                    methods=["DELETE"],
                ),
            ]
        return routes
