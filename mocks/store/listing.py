"""``GET /orders``: WooCommerce's collection parameters and WordPress's pagination headers.

Parameters (WC_REST_Orders_Controller v3 ``get_collection_params``): ``page`` (≥ 1, default 1),
``per_page`` (1–100, default 10), ``status`` (one, a comma list or ``status[]=…``; default
``any`` = every status but ``trash``), ``after``/``before`` (ISO-8601, exclusive, compared with
``date_created``; without an offset the site's zone, UTC here), ``order`` (``asc``/``desc``,
default ``desc``), ``orderby`` (``date`` default, ``id``, ``modified``, ``include``, ``title``,
``slug``; an order's title and slug are its creation date, so those sort by date; ``include``
sorts by id). A bad value is WordPress's 400 ``rest_invalid_param``.

Headers, as ``WC_REST_CRUD_Controller::get_items`` sends them: ``X-WP-Total``,
``X-WP-TotalPages`` (0 for an empty collection) and one ``Link`` header,
``<…page=N-1>; rel="prev", <…page=N+1>; rel="next"``, whose URLs repeat the request's query with
``page`` replaced. One deliberate difference: credentials (``consumer_key``,
``consumer_secret``, ``oauth_*``) are left out of the links, where WordPress copies them
(a secret in a response header ends up in logs; a used OAuth nonce is useless anyway).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode

from mocks.store.orders import STATUSES, invalid

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
_WP_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
"""``rest_parse_date``'s pattern: the forms WordPress accepts for a date parameter."""
_CREDENTIALS = ("consumer_key", "consumer_secret")


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """A validated ``GET /orders`` query."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    statuses: tuple[str, ...] = ()
    """Empty: ``any`` (all but trash)."""
    after: float | None = None
    """Unix seconds; orders created strictly later (at second precision)."""
    before: float | None = None
    order: Literal["asc", "desc"] = "desc"
    orderby: Literal["date", "id", "modified"] = "date"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _int_param(raw: str | None, name: str, default: int, lo: int, hi: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise invalid(name, f"{name} is not of type integer.") from None
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} (inclusive) and {hi} (inclusive)" if hi else f">= {lo}"
        raise invalid(name, f"{name} must be {bound}")
    return value


def _date_param(raw: str | None, name: str) -> float | None:
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    if not _WP_DATE.match(raw):
        raise invalid(name, "Invalid date.")
    try:
        when = datetime.fromisoformat(raw.replace(" ", "T", 1).replace("t", "T"))
    except ValueError:
        raise invalid(name, "Invalid date.") from None
    if when.tzinfo is None:  # the site's zone
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _statuses(values: Sequence[str]) -> tuple[str, ...]:
    wanted: list[str] = []
    for value in values:
        wanted.extend(s.strip() for s in value.split(",") if s.strip())
    allowed = (*STATUSES, "trash", "checkout-draft", "any")
    bad = [s for s in wanted if s not in allowed]
    if bad:
        where = f"status[{wanted.index(bad[0])}]"
        raise invalid("status", f"{where} is not one of {', '.join(allowed)}.")
    return () if not wanted or "any" in wanted else tuple(dict.fromkeys(wanted))


def parse_order_query(pairs: Sequence[tuple[str, str]]) -> OrderQuery:
    """Validate the query string of ``GET /orders``; raises BadRequest (400)."""
    last = dict(pairs)  # PHP's $_GET: the last value of a repeated name
    status_values = [v for k, v in pairs if k in ("status[]",)] or (
        [last["status"]] if "status" in last else []
    )
    order = last.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid("order", "order is not one of asc, desc.")
    orderby = last.get("orderby") or "date"
    if orderby not in ORDERBY:
        raise invalid("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
    column: Literal["date", "id", "modified"] = (
        "id" if orderby in ("id", "include") else "modified" if orderby == "modified" else "date"
    )
    return OrderQuery(
        page=_int_param(last.get("page"), "page", 1, 1, 10**9),  # offset stays in SQLite range
        per_page=_int_param(last.get("per_page"), "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
        statuses=_statuses(status_values),
        after=_date_param(last.get("after"), "after"),
        before=_date_param(last.get("before"), "before"),
        order="asc" if order == "asc" else "desc",
        orderby=column,
    )


def total_pages(total: int, per_page: int) -> int:
    return math.ceil(total / per_page) if total else 0


def pagination_headers(
    collection_url: str, pairs: Sequence[tuple[str, str]], query: OrderQuery, total: int
) -> dict[str, str]:
    """``X-WP-Total``, ``X-WP-TotalPages`` and (when there is a neighbour page) ``Link``."""
    pages = total_pages(total, query.per_page)
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    kept = {
        k: v for k, v in pairs if k not in _CREDENTIALS and not k.startswith("oauth_")
    }  # one per name, in first-seen order, last value: as WordPress rebuilds it

    def page_url(page: int) -> str:
        return f"{collection_url}?{urlencode({**kept, 'page': str(page)})}"

    links = []
    if query.page > 1:
        links.append(f'<{page_url(min(query.page - 1, pages) or 1)}>; rel="prev"')
    if pages > query.page:
        links.append(f'<{page_url(query.page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers
