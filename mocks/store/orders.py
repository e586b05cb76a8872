"""WooCommerce-shaped orders and tracking items as pure functions: validate bodies, build JSON.

Field names follow the WooCommerce REST v3 order schema (developer.woocommerce.com/docs/apis/
rest-api/) and the Shipment Tracking plugin's ``shipment-trackings`` items (carriers.md §3), so a
client written against a real store parses the sandbox. The site's timezone is UTC, so
``date_created`` equals ``date_created_gmt``. Money is a string with two decimals, as WooCommerce
prints it. Invalid input raises :class:`BadRequest`, which the app turns into a 400.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
_ADDRESS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "email",
    "phone",
)
_KEY_CHARS = string.ascii_letters + string.digits
_KEY_SPACE = len(_KEY_CHARS) ** 13
WC_VERSION = "9.4.0"


class BadRequest(Exception):
    """A WooCommerce-style error (400 unless told): ``{"code", "message", "data": {"status",
    "params"}}``; ``params`` is a mapping (invalid values) or a list (missing ones)."""

    def __init__(
        self,
        code: str,
        message: str,
        params: Mapping[str, str] | Sequence[str] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params: dict[str, str] | list[str] = (
            dict(params) if isinstance(params, Mapping) else list(params or ())
        )
        self.status = status

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.params:
            data["params"] = self.params
        return {"code": self.code, "message": self.message, "data": data}


def invalid(param: str, why: str) -> BadRequest:
    return BadRequest("rest_invalid_param", f"Invalid parameter(s): {param}", {param: why})


def wc_date(epoch: float | None) -> str | None:
    """WooCommerce's REST date format: ISO-8601 without offset, second precision."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def new_order_key() -> str:
    """``wc_order_`` + 13 random letters and digits, as ``wc_generate_order_key`` makes: one
    draw below 62¹³, written in base 62 (every key equally likely, as 13 draws of a character
    would make it, for a thirteenth of the calls)."""
    n = secrets.randbelow(_KEY_SPACE)
    chars = []
    for _ in range(13):
        n, digit = divmod(n, len(_KEY_CHARS))
        chars.append(_KEY_CHARS[digit])
    return "wc_order_" + "".join(chars)


def _money(value: float) -> str:
    return f"{value:.2f}"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise invalid(where, f"{where} is not a number.")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise invalid(where, f"{where} is not a number.") from None
    if out != out or out < 0 or out == float("inf"):
        raise invalid(where, f"{where} must be a non-negative number.")
    return out


def integer(value: Any, where: str, minimum: int = 0) -> int:
    """``value`` as an integer ≥ ``minimum`` (digits in a string too); raises BadRequest."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(where, f"{where} is not of type integer.")
    try:
        out = int(value)
    except ValueError:
        raise invalid(where, f"{where} is not of type integer.") from None
    if out < minimum:
        raise invalid(where, f"{where} must be greater than or equal to {minimum}.")
    return out


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise invalid(where, f"{where} is not of type string.")
    return str(value)


def _address(value: Any, where: str, with_email: bool) -> dict[str, str]:
    keys = _ADDRESS if with_email else tuple(k for k in _ADDRESS if k != "email")
    return {k: "" for k in keys} | _address_patch(value, where, with_email)


def _address_patch(value: Any, where: str, with_email: bool) -> dict[str, str]:
    """The address fields ``value`` sets (unknown fields are ignored, as WordPress does)."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise invalid(where, f"{where} is not of type object.")
    keys = _ADDRESS if with_email else tuple(k for k in _ADDRESS if k != "email")
    return {k: _text(value.get(k), f"{where}[{k}]") for k in keys if k in value}


def _line_items(value: Any, order_id: int, first: int = 0) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("line_items", "line_items is not of type array.")
    items = []
    for i, raw in enumerate(value, start=first):
        where = f"line_items[{i - first}]"
        if not isinstance(raw, Mapping):
            raise invalid("line_items", f"{where} is not of type object.")
        product_id = integer(raw.get("product_id", 0), f"{where}[product_id]")
        quantity = integer(raw.get("quantity", 1), f"{where}[quantity]", minimum=1)
        if "price" in raw:
            price = _number(raw["price"], f"{where}[price]")
        else:  # no catalogue: a stable made-up price per product
            price = 5.0 + (product_id % 20) * 2.5
        total = _number(raw["total"], f"{where}[total]") if "total" in raw else price * quantity
        subtotal = _number(raw.get("subtotal", total), f"{where}[subtotal]")
        items.append(
            {
                "id": order_id * 100 + i + 1,
                "name": _text(raw.get("name"), f"{where}[name]") or f"Product {product_id}",
                "product_id": product_id,
                "variation_id": integer(raw.get("variation_id", 0), f"{where}[variation_id]"),
                "quantity": quantity,
                "tax_class": "",
                "subtotal": _money(subtotal),
                "subtotal_tax": "0.00",
                "total": _money(total),
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
                "sku": _text(raw.get("sku"), f"{where}[sku]"),
                "price": price,
                "image": {"id": "", "src": ""},
                "parent_name": None,
            }
        )
    return items


def _shipping_lines(value: Any, order_id: int) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise invalid("shipping_lines", "shipping_lines is not an array of objects.")
    return [
        {
            "id": order_id * 100 + 90 + i,
            "method_title": _text(raw.get("method_title"), f"shipping_lines[{i}][method_title]"),
            "method_id": _text(raw.get("method_id"), f"shipping_lines[{i}][method_id]"),
            "instance_id": "",
            "total": _money(_number(raw.get("total", 0), f"shipping_lines[{i}][total]")),
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
        }
        for i, raw in enumerate(value)
    ]


def _meta(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("meta_data", "meta_data is not of type array.")
    out = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
            raise invalid("meta_data", f"meta_data[{i}][key] is a required string.")
        out.append({"id": i + 1, "key": raw["key"], "value": raw.get("value")})
    return out


def build_order(order_id: int, order_key: str, body: Any, epoch: float) -> dict[str, Any]:
    """The order JSON for a ``POST /orders`` body, created at Unix time ``epoch``."""
    if not isinstance(body, Mapping):
        raise BadRequest("rest_invalid_json", "The order must be a JSON object.")
    set_paid = body.get("set_paid", False)
    if not isinstance(set_paid, bool):
        raise invalid("set_paid", "set_paid is not of type boolean.")
    status = body.get("status") or ("processing" if set_paid else "pending")
    if status not in STATUSES:
        raise invalid("status", f"status is not one of {', '.join(STATUSES)}.")
    currency = _text(body.get("currency", "USD"), "currency").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid("currency", "currency is not a 3-letter ISO code.")
    line_items = _line_items(body.get("line_items"), order_id)
    shipping_lines = _shipping_lines(body.get("shipping_lines"), order_id)
    shipping_total = sum(float(s["total"]) for s in shipping_lines)
    total = sum(float(li["total"]) for li in line_items) + shipping_total
    created = wc_date(epoch)
    return {
        "id": order_id,
        "parent_id": 0,
        "status": status,
        "currency": currency,
        "version": WC_VERSION,
        "prices_include_tax": False,
        "date_created": created,
        "date_modified": created,
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": _money(shipping_total),
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": _money(total),
        "total_tax": "0.00",
        "customer_id": integer(body.get("customer_id", 0), "customer_id"),
        "order_key": order_key,
        "billing": _address(body.get("billing"), "billing", with_email=True),
        "shipping": _address(body.get("shipping"), "shipping", with_email=False),
        "payment_method": _text(body.get("payment_method"), "payment_method"),
        "payment_method_title": _text(body.get("payment_method_title"), "payment_method_title"),
        "transaction_id": _text(body.get("transaction_id"), "transaction_id"),
        "customer_ip_address": "",
        "customer_user_agent": "",
        "created_via": "rest-api",
        "customer_note": _text(body.get("customer_note"), "customer_note"),
        "date_completed": None,
        "date_paid": created if set_paid else None,
        "cart_hash": "",
        "number": str(order_id),
        "meta_data": _meta(body.get("meta_data")),
        "line_items": line_items,
        "tax_lines": [],
        "shipping_lines": shipping_lines,
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "payment_url": "",
        **_status_flags(status),
        "needs_processing": True,
        "date_created_gmt": created,
        "date_modified_gmt": created,
        "date_completed_gmt": None,
        "date_paid_gmt": created if set_paid else None,
        "currency_symbol": "$" if currency == "USD" else currency,
    }


def mark_completed(order: dict[str, Any], epoch: float) -> dict[str, Any]:
    """The order after it shipped: ``completed`` at Unix time ``epoch`` (first time only)."""
    now = wc_date(epoch)
    out = dict(
        order,
        status="completed",
        date_modified=now,
        date_modified_gmt=now,
        is_editable=False,
        needs_payment=False,
    )
    if not out.get("date_completed"):
        out.update(date_completed=now, date_completed_gmt=now)
    return out


def _status_flags(status: str) -> dict[str, Any]:
    return {"is_editable": status in ("pending", "on-hold"), "needs_payment": status == "pending"}


def _merge_meta(old: list[dict[str, Any]], value: Any) -> list[dict[str, Any]]:
    """WooCommerce's meta update: an item with a known ``id`` or ``key`` replaces its value,
    any other item is added."""
    patch = _meta(value)
    out = [dict(m) for m in old]
    next_id = max((int(m.get("id") or 0) for m in out), default=0) + 1
    raw_items = value if isinstance(value, list) else []
    for raw, item in zip(raw_items, patch, strict=True):
        target = next((m for m in out if raw.get("id") and m.get("id") == raw["id"]), None)
        target = target or next((m for m in out if m["key"] == item["key"]), None)
        if target is not None:
            target.update(key=item["key"], value=item["value"])
        else:
            out.append({"id": next_id, "key": item["key"], "value": item["value"]})
            next_id += 1
    return out


def _merge_line_items(order_id: int, old: list[dict[str, Any]], value: Any) -> list[dict[str, Any]]:
    """Items with a known ``id`` change quantity (0 removes them); items without one are
    added."""
    if not isinstance(value, list):
        raise invalid("line_items", "line_items is not of type array.")
    out = [dict(li) for li in old]
    added = []
    for i, raw in enumerate(value):
        if isinstance(raw, Mapping) and raw.get("id"):
            item = next((li for li in out if li["id"] == raw["id"]), None)
            if item is None:
                raise invalid("line_items", f"line_items[{i}][id] is not an item of the order.")
            quantity = integer(raw.get("quantity", item["quantity"]), f"line_items[{i}][quantity]")
            if quantity == 0:
                out.remove(item)
                continue
            total = item["price"] * quantity
            item.update(quantity=quantity, total=_money(total), subtotal=_money(total))
        else:
            added.append(raw)
    first = max((li["id"] - order_id * 100 for li in old), default=0)
    return out + _line_items(added, order_id, first)


def update_order(order: dict[str, Any], body: Any, epoch: float) -> dict[str, Any]:
    """The order after a ``PUT /orders/{id}`` with ``body`` at Unix time ``epoch``.

    Sets ``status``, ``billing``/``shipping`` (field by field), ``customer_note``,
    ``payment_method(_title)``, ``transaction_id``, ``customer_id``, ``currency``; merges
    ``meta_data``; changes or adds ``line_items``; adds ``shipping_lines``; ``set_paid`` pays a
    pending order (→ ``processing``). Unknown fields are ignored, as WordPress does.
    """
    if not isinstance(body, Mapping):
        raise BadRequest("rest_invalid_json", "The order must be a JSON object.")
    oid = int(order["id"])
    now = wc_date(epoch)
    out = dict(order)
    for name in ("billing", "shipping"):
        if name in body:
            patch = _address_patch(body[name], name, with_email=name == "billing")
            out[name] = {**order[name], **patch}
    for name in ("customer_note", "payment_method", "payment_method_title", "transaction_id"):
        if name in body:
            out[name] = _text(body[name], name)
    if "customer_id" in body:
        out["customer_id"] = integer(body["customer_id"], "customer_id")
    if "currency" in body:
        currency = _text(body["currency"], "currency").upper()
        if len(currency) != 3 or not currency.isalpha():
            raise invalid("currency", "currency is not a 3-letter ISO code.")
        out["currency"] = currency
    if "meta_data" in body:
        out["meta_data"] = _merge_meta(order.get("meta_data") or [], body["meta_data"])
    if "line_items" in body:
        out["line_items"] = _merge_line_items(oid, order["line_items"], body["line_items"])
    if "shipping_lines" in body:
        extra = _shipping_lines(body["shipping_lines"], oid)
        out["shipping_lines"] = order["shipping_lines"] + [
            dict(line, id=line["id"] + len(order["shipping_lines"])) for line in extra
        ]
    status = body.get("status") or order["status"]
    if status not in STATUSES:
        raise invalid("status", f"status is not one of {', '.join(STATUSES)}.")
    set_paid = body.get("set_paid", False)
    if not isinstance(set_paid, bool):
        raise invalid("set_paid", "set_paid is not of type boolean.")
    if set_paid and not order.get("date_paid"):
        out.update(date_paid=now, date_paid_gmt=now)
        if not body.get("status") and order["status"] in ("pending", "on-hold", "failed"):
            status = "processing"
    if status == "completed" and not order.get("date_completed"):
        out.update(date_completed=now, date_completed_gmt=now)
    shipping_total = sum(float(x["total"]) for x in out["shipping_lines"])
    total = sum(float(li["total"]) for li in out["line_items"]) + shipping_total
    out.update(
        status=status,
        shipping_total=_money(shipping_total),
        total=_money(total),
        date_modified=now,
        date_modified_gmt=now,
        **_status_flags(status),
    )
    return out
