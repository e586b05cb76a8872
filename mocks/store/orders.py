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
from collections.abc import Mapping
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
WC_VERSION = "9.4.0"


class BadRequest(Exception):
    """A WooCommerce-style 400: ``{"code", "message", "data": {"status": 400, "params"}}``."""

    def __init__(self, code: str, message: str, params: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = dict(params or {})

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": 400}
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
    """``wc_order_`` + 13 random letters and digits, as ``wc_generate_order_key`` makes."""
    return "wc_order_" + "".join(secrets.choice(_KEY_CHARS) for _ in range(13))


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


def _int(value: Any, where: str, minimum: int = 0) -> int:
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
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise invalid(where, f"{where} is not of type object.")
    keys = _ADDRESS if with_email else tuple(k for k in _ADDRESS if k != "email")
    return {k: _text(value.get(k), f"{where}[{k}]") for k in keys}


def _line_items(value: Any, order_id: int) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("line_items", "line_items is not of type array.")
    items = []
    for i, raw in enumerate(value):
        where = f"line_items[{i}]"
        if not isinstance(raw, Mapping):
            raise invalid("line_items", f"{where} is not of type object.")
        product_id = _int(raw.get("product_id", 0), f"{where}[product_id]")
        quantity = _int(raw.get("quantity", 1), f"{where}[quantity]", minimum=1)
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
                "variation_id": _int(raw.get("variation_id", 0), f"{where}[variation_id]"),
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
        "customer_id": _int(body.get("customer_id", 0), "customer_id"),
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
        "is_editable": status in ("pending", "on-hold"),
        "needs_payment": status == "pending",
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


def parse_tracking_body(body: Any, epoch: float) -> tuple[str, str, str]:
    """``(provider, tracking_number, date_shipped)`` from a ``shipment-trackings`` POST body.

    ``date_shipped`` may be ``YYYY-MM-DD`` or a Unix timestamp; it defaults to the store date.
    """
    if not isinstance(body, Mapping):
        raise BadRequest("rest_invalid_json", "The tracking item must be a JSON object.")
    provider = body.get("tracking_provider") or body.get("custom_tracking_provider")
    if not isinstance(provider, str) or not provider.strip():
        raise invalid("tracking_provider", "tracking_provider is a required string.")
    number = body.get("tracking_number")
    if not isinstance(number, str) or not number.strip() or len(number) > 64:
        raise invalid("tracking_number", "tracking_number is a required string.")
    shipped = body.get("date_shipped")
    if shipped in (None, ""):
        date_shipped = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")
    elif isinstance(shipped, int | float) and not isinstance(shipped, bool):
        try:
            date_shipped = datetime.fromtimestamp(float(shipped), UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            raise invalid("date_shipped", "date_shipped is not a timestamp.") from None
    elif isinstance(shipped, str):
        try:
            date_shipped = datetime.strptime(shipped.strip()[:10], "%Y-%m-%d").strftime("%Y-%m-%d")
        except ValueError:
            raise invalid("date_shipped", "date_shipped is not a date (YYYY-MM-DD).") from None
    else:
        raise invalid("date_shipped", "date_shipped is not a date (YYYY-MM-DD).")
    return provider.strip(), number.strip(), date_shipped
