"""The sandbox store's order routes: WooCommerce REST ``wc/v3/orders`` and their notes.

``POST`` create, ``GET`` list (:mod:`mocks.store.listing`); ``orders/{id}``: ``GET``,
``PUT``/``POST``/``PATCH`` update, ``DELETE`` (trash, or ``?force=true``); ``orders/batch``
(create/update/delete, ≤ 100 items); ``orders/{id}/notes`` (``GET``, ``POST``). Every write is
one SQLite transaction.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mocks.store.bodies import note_json, parse_batch, parse_note
from mocks.store.listing import pagination_headers, parse_order_query
from mocks.store.orders import BadRequest, build_order, new_order_key, update_order
from mocks.store.rest import MAX_ID, StoreJSON, StoreRoutes, json_body, no_order


class OrderRoutes(StoreRoutes):
    """The order and note handlers."""

    def create(self, body: Any) -> dict[str, Any]:
        key = new_order_key()
        with self.db.transaction():
            oid = self.db.insert_order(key, "pending", self.clock.now())
            order = build_order(oid, key, body, self.epoch_now())  # raises → rollback
            self.db.save_order(oid, order["status"], order)
        return order

    def update(self, oid: Any, body: Any) -> dict[str, Any]:
        text = str(oid)
        if isinstance(oid, bool) or not isinstance(oid, int | str) or not text.isdigit():
            raise no_order(400)
        if not text.isascii() or len(text) > 19:  # '²' is a digit to isdigit(), not to int()
            raise no_order(400)
        with self.db.transaction():
            row = self.db.get_order(int(oid)) if 0 < int(oid) <= MAX_ID else None
            if row is None:
                raise no_order(400)  # WooCommerce: an update of a missing order is a 400
            order = update_order(row.data, body, self.epoch_now())
            self.db.save_order(row.id, order["status"], order)
        return order

    def delete(self, oid: int, force: bool) -> dict[str, Any]:
        with self.db.transaction():
            row = self.db.get_order(oid) if 0 < oid <= MAX_ID else None
            if row is None:
                raise no_order()
            if force:
                self.db.delete_order(oid)
                return row.data
            order = dict(row.data, status="trash")
            self.db.save_order(oid, "trash", order)
        return order

    async def create_order(self, request: Request) -> Response:
        return StoreJSON(self.create(await json_body(request)), 201)

    async def get_order(self, request: Request) -> Response:
        row = self.db.get_order(self.order_id(request))
        if row is None:
            raise no_order()
        return StoreJSON(row.data)

    async def update_order(self, request: Request) -> Response:
        return StoreJSON(self.update(self.order_id(request, 400), await json_body(request)))

    async def delete_order(self, request: Request) -> Response:
        force = request.query_params.get("force", "").lower() in ("1", "true", "yes")
        return StoreJSON(self.delete(self.order_id(request), force))

    async def list_orders(self, request: Request) -> Response:
        pairs = request.query_params.multi_items()
        query = parse_order_query(pairs)
        start = self.clock.spec.start_epoch
        total, rows = self.db.list_orders(
            query.statuses,
            None if query.after is None else math.floor(query.after) + 1 - start,
            None if query.before is None else math.ceil(query.before) - start,
            query.orderby,
            query.order == "desc",
            query.per_page,
            query.offset,
        )
        collection = str(request.url.replace(query=""))
        headers = pagination_headers(collection, pairs, query, total)
        return StoreJSON([r.data for r in rows], headers=headers)

    async def batch(self, request: Request) -> Response:
        create, update, delete = parse_batch(await json_body(request))
        out: dict[str, list[Any]] = {}
        for body in create:
            try:
                out.setdefault("create", []).append(self.create(body))
            except BadRequest as exc:
                out.setdefault("create", []).append({"id": 0, "error": exc.body()})
        for body in update:
            oid = body.get("id") if isinstance(body, dict) else None
            try:
                out.setdefault("update", []).append(self.update(oid, body))
            except BadRequest as exc:
                out.setdefault("update", []).append({"id": oid, "error": exc.body()})
        for oid in delete:
            if oid == 0:
                continue  # WooCommerce skips a zero id
            try:
                out.setdefault("delete", []).append(self.delete(oid, force=True))
            except BadRequest as exc:
                out.setdefault("delete", []).append({"id": oid, "error": exc.body()})
        return StoreJSON(out or [])  # PHP's empty array prints as []

    async def add_note(self, request: Request) -> Response:
        oid = self.order_id(request)
        note, customer_note, by_user = parse_note(await json_body(request))
        author = "peakbench" if by_user else "system"
        with self.db.transaction():
            if self.db.get_order(oid) is None:
                raise no_order()
            nid = self.db.add_note(oid, self.clock.now(), author, note, customer_note)
        return StoreJSON(note_json(nid, note, customer_note, author, self.epoch_now()), 201)

    async def list_notes(self, request: Request) -> Response:
        oid = self.order_id(request)
        if self.db.get_order(oid) is None:
            raise no_order()
        start = self.clock.spec.start_epoch
        notes = [
            note_json(nid, note, customer, author, start + t)
            for nid, t, author, note, customer in self.db.notes_of(oid)
        ]
        return StoreJSON(notes)

    def routes(self) -> list[Route]:
        api = self.api
        orders, one = "/wp-json/wc/v3/orders", "/wp-json/wc/v3/orders/{id:int}"
        return [
            Route(orders, api(self.create_order, "create"), methods=["POST"]),
            Route(orders, api(self.list_orders, "list"), methods=["GET"]),
            Route(f"{orders}/batch", api(self.batch, "batch"), methods=["POST", "PUT", "PATCH"]),
            Route(one, api(self.get_order, "view"), methods=["GET"]),
            Route(one, api(self.update_order, "edit"), methods=["PUT", "POST", "PATCH"]),
            Route(one, api(self.delete_order, "delete"), methods=["DELETE"]),
            Route(f"{one}/notes", api(self.add_note, "create"), methods=["POST"]),
            Route(f"{one}/notes", api(self.list_notes, "list"), methods=["GET"]),
        ]
