"""Readouts: what a customer sees for an order, read from a store the way the profile says.

A WooCommerce store shows tracking wherever its plugin puts it, so the profile picks the readout
(``peakbench.config.targets``): a REST JSON route read with small paths (AST/Shipment Tracking
items, TrackShip's ``ts_shipment_status`` meta, a plugin's own meta key), or the customer's HTML
tracking page read with CSS selectors (selectolax). Both give the same :class:`Observation` the
replay measures. Sans-I/O: build the request, parse the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from peakbench.adapters.request import Request
from peakbench.adapters.woocommerce import Observation
from peakbench.config.targets import HtmlReadout, JsonReadout

Readout = HtmlReadout | JsonReadout

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]|\[([^=\]]+)=([^\]]*)\]")


def readout_request(spec: Readout, order_id: int | str, order_key: str = "") -> Request:
    """The GET that shows the order's tracking: the page (no API credentials needed: the order
    key authorises it) or the JSON route (the caller adds credentials)."""
    template = spec.page if isinstance(spec, HtmlReadout) else spec.route
    target = template.format(order_id=order_id, order_key=order_key)
    return Request("GET", target)


def needs_credentials(spec: Readout) -> bool:
    """JSON routes are REST API routes; the customer's page is public."""
    return isinstance(spec, JsonReadout)


def parse_path(path: str) -> list[str | int | tuple[str, str]]:
    """Split ``meta_data[key=ts_shipment_status].value[0].status`` into steps; ValueError on
    anything else."""
    steps: list[str | int | tuple[str, str]] = []
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"bad JSON path {path!r} at {path[pos:]!r}")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append((m.group(3).strip(), m.group(4).strip()))
        pos = m.end()
    return steps


def _decoded(node: Any) -> Any:
    """Plugins often keep JSON text in meta values: look inside it."""
    if isinstance(node, str) and node[:1] in "[{":
        try:
            return json.loads(node)
        except ValueError:
            return node
    return node


def resolve(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data``, or ``None`` where the path does not lead anywhere."""
    node = data
    for step in parse_path(path):
        node = _decoded(node)
        if isinstance(step, str):
            node = node.get(step) if isinstance(node, Mapping) else None
        elif isinstance(step, int):
            ok = isinstance(node, list) and -len(node) <= step < len(node)
            node = node[step] if ok else None
        else:
            key, want = step
            found = (
                [i for i in node if isinstance(i, Mapping) and str(i.get(key)) == want]
                if (isinstance(node, list))
                else []
            )
            node = found[0] if found else None
        if node is None:
            return None
    return _decoded(node)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _newest(times: list[str]) -> str | None:
    """The latest timestamp, compared as instants when they parse, else the last listed."""
    if not times:
        return None
    try:
        return max(times, key=lambda s: datetime.fromisoformat(s.replace(" ", "T")).timestamp())
    except (ValueError, OverflowError):  # unparsable or out-of-range times: keep the order
        return times[-1]


def read_json(spec: JsonReadout, body: Any) -> Observation:
    """Read status, shown events and the newest event time from a JSON body."""
    status = _text(resolve(body, spec.status))
    shown, times = 0, []
    if spec.events:
        events = resolve(body, spec.events)
        if isinstance(events, list):
            shown = len(events)
            if spec.event_time:
                times = [t for e in events if (t := _text(resolve(e, spec.event_time)))]
    newest = _text(resolve(body, spec.newest)) if spec.newest else _newest(times)
    return Observation(shown, newest, status)


def _value(node: LexborNode, attribute: str) -> str | None:
    if attribute == "text":
        return node.text(strip=True) or None
    value = node.attributes.get(attribute)
    return value.strip() or None if isinstance(value, str) else None


def _placeholder(spec: HtmlReadout, node: LexborNode) -> bool:
    if spec.event_exclude and (
        node.css_matches(spec.event_exclude) or node.css_first(spec.event_exclude) is not None
    ):
        return True
    text = spec.event_exclude_text
    return bool(text) and text is not None and text in node.text()


def _event_time(spec: HtmlReadout, node: LexborNode) -> str | None:
    """The event's time as ISO-8601 when ``event_time_format`` reads it, else as shown."""
    attr = spec.event_time_attribute
    if attr is None:
        return None
    if spec.event_time_selector:
        inner = node.css_first(spec.event_time_selector)
        if inner is None:
            return None
        node = inner
    text = _value(node, attr)
    if text is None or spec.event_time_format is None:
        return text
    try:
        local = datetime.strptime(" ".join(text.split()), spec.event_time_format)
    except ValueError:
        return None  # not a time in that format: counted as an event, without a time
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(spec.timezone))
    return local.isoformat()


def read_html(spec: HtmlReadout, page: str) -> Observation:
    """Read the page with the spec's selectors. ValueError when the status element is missing
    (a login page, an error page, a theme that dropped the section). Placeholders
    (``event_exclude``, ``event_exclude_text``) are not events; localized times are read with
    ``event_time_format`` in ``timezone``."""
    tree = LexborHTMLParser(page)
    status_node = tree.css_first(spec.status_selector)
    if status_node is None:
        raise ValueError(f"not a tracking page: nothing matches {spec.status_selector!r}")
    shown, times = 0, []
    if spec.event_selector:
        nodes = [n for n in tree.css(spec.event_selector) if not _placeholder(spec, n)]
        shown = len(nodes)
        times = [t for n in nodes if (t := _event_time(spec, n))]
    return Observation(shown, _newest(times), _value(status_node, spec.status_attribute))


def observe(spec: Readout, body: str) -> Observation:
    """Parse a readout response body (text) according to its spec."""
    if isinstance(spec, HtmlReadout):
        return read_html(spec, body)
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("readout route did not answer JSON") from None
    return read_json(spec, data)
