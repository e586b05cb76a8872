"""The sandbox store's tracking page read by byte search: the full parse's answer, cheaper.

:func:`peakbench.adapters.woocommerce.parse_tracking_page` reads any page the contract allows
(attributes in any order, any quoting, extra classes) with a tag regex and an attribute parse per
tag, then compares every event's time as a datetime: ~10 µs a view, more than the rest of the
harness's own work per view. The sandbox store (``mocks/store/page.py``) always writes the same
canonical bytes, so :func:`read` finds them with ``bytes.find``/``bytes.count`` and answers only
when it can prove the full parse would give the same :class:`Observation`; otherwise it answers
``None`` and the caller runs the full parse. The proof, in short:

- every tag the full parse looks at has ``tracking-`` in its attributes; the page has no
  ``tracking-`` outside four canonical contexts (the status ``<p>``, the event ``<li>``s, the
  ``<ol>`` list, the ``<section>`` with ``data-tracking-number``), so no other tag can count;
- each of those contexts follows a ``>`` (and whitespace), so no tag is open there: the full
  parse's tag regex (a tag ends at its first ``>``) sees each ``<li>``/``<p>`` as a tag of its own
  and the same first attributes; attribute values are plain ASCII;
- the newest event is the first when its time is the greatest string among same-shape,
  same-offset ISO-8601 times (the store's order); any other case compares datetimes exactly
  like the full parse.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from peakbench.adapters.woocommerce import Observation

_ANY = b"tracking-"
# One alternative per canonical context; each holds "tracking-" once (unless a value does, and
# then the count below disagrees and the page is declined).
_CONTEXT = re.compile(
    rb'>\s*<(p class="tracking-status" data-status="([^"<>]*)"'
    rb'|li class="tracking-event" data-status="[^"<>]*" data-occurred="([^"<>]*)"'
    rb'|ol class="tracking-events"(?=>)'
    rb'|section class="shipment" data-tracking-number="[^"<>]*")'
)
_P, _LI = ord("p"), ord("l")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)")


def _value(raw: bytes) -> str:
    """An attribute value as the full parse reads it (unescaped, stripped); ASCII ``raw``."""
    text = raw.decode("ascii")
    return (html.unescape(text) if "&" in text else text).strip()


def _newest(occurred: list[str]) -> str:
    """The latest timestamp, exactly as the full parse picks it (``occurred`` is not empty)."""
    first = occurred[0]
    if len(occurred) == 1:
        return first
    shape, offset = len(first), first[-6:]
    if all(
        len(s) == shape and s[-6:] == offset and s <= first and _ISO.fullmatch(s) for s in occurred
    ):
        # Same layout and offset: string order is time order, and the first is the latest. (If
        # one is not a real date, the full parse falls back to the first as well.)
        return first
    try:
        return max(occurred, key=lambda s: datetime.fromisoformat(s).timestamp())
    except ValueError:
        return first


def read(body: bytes) -> Observation | None:
    """What the sandbox page shows, or ``None`` when the page is not canonical (use the full parse).

    Events are counted from ``<li class="tracking-event" data-status="…" data-occurred="…"``, the
    status from the single ``<p class="tracking-status" data-status="…"``.
    """
    found = _CONTEXT.findall(body)
    if len(found) != body.count(_ANY):
        return None  # "tracking-" somewhere else: a tag the full parse might count
    status: list[bytes] = []
    occurred: list[str] = []
    events = 0
    for context, shown, when in found:
        tag = context[0]
        if tag == _LI:
            events += 1
            if when:
                if not when.isascii():
                    return None
                value = _value(when)
                if value:
                    occurred.append(value)
        elif tag == _P:
            status.append(shown)
    if len(status) != 1 or not status[0].isascii():
        return None  # the full parse raises, or may decode the page differently
    newest = _newest(occurred) if occurred else None
    return Observation(events, newest, _value(status[0]) or None)
