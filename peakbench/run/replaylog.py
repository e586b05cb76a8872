"""The replay journal's line format: one JSON line per executed schedule item.

Both executors of a schedule write it (Locust's replay in wall time, the virtual-time world's
replay) and the analysis reads it; freshness is measured from these lines, never from Locust's
stats. :func:`line_text` is byte for byte ``json.dumps(line, separators=(",", ":"))``.
"""

from __future__ import annotations

import json
from typing import Literal, NotRequired, TypedDict


class JournalLine(TypedDict):
    """One executed item. Times are run seconds (store time since the run's start)."""

    kind: Literal["order", "ship", "view", "probe"]
    ref: int
    due: float
    start: float
    end: float
    ok: bool
    status: int
    """HTTP status, 0 when the request never got a response (refused, reset, timeout)."""
    late: bool
    """The item started more than ``late_after`` store seconds after ``due``."""
    error: str | None
    tracking_number: NotRequired[str]
    """Views (and probe reads, which carry the same fields) only, from the schedule item."""
    shown: NotRequired[int | None]
    """Views only: how many events the tracking page showed (null when the view failed)."""
    newest: NotRequired[str | None]
    """Views only: ``occurred_at`` of the newest event shown."""
    page_status: NotRequired[str | None]
    """Views only: the status the page headlined."""
    dropped: NotRequired[bool]
    """Present (true) when the item was not sent: it could not start within ``drop_after``."""


def _json_str(text: str) -> str:
    """``json.dumps(text)``, without the encoder for the usual plain ASCII text."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def _json_opt(text: str | None) -> str:
    return "null" if text is None else _json_str(text)


View = tuple[str, int | None, str | None, str | None]
"""What a view showed: ``(tracking_number, shown, newest, page_status)``."""
Row = tuple[str, int, float, float, float, bool, int, bool, str | None, View | None, bool]
"""The arguments of :func:`line_text` for one line, as :meth:`Journal.write_row` buffers them."""


def line_text(
    kind: str,
    ref: int,
    due: float,
    start: float,
    end: float,
    ok: bool,
    status: int,
    late: bool,
    error: str | None,
    view: View | None = None,
    dropped: bool = False,
) -> str:
    """One :class:`JournalLine` as compact JSON, byte for byte what ``json.dumps(line,
    separators=(",", ":"))`` writes, at a fraction of its cost (it runs once per request).

    Times are rounded to 3 decimals here; ``view`` is ``(tracking_number, shown, newest,
    page_status)`` for views.
    """
    text = (
        f'{{"kind":"{kind}","ref":{ref},"due":{round(due, 3)!r},"start":{round(start, 3)!r},'
        f'"end":{round(end, 3)!r},"ok":{"true" if ok else "false"},"status":{status},'
        f'"late":{"true" if late else "false"},"error":{_json_opt(error)}'
    )
    if view is not None:
        number, shown, newest, page_status = view
        text += (
            f',"tracking_number":{_json_str(number)},"shown":{"null" if shown is None else shown},'
            f'"newest":{_json_opt(newest)},"page_status":{_json_opt(page_status)}'
        )
    return text + (',"dropped":true}' if dropped else "}")


def lines_text(buffered: list[str | Row]) -> list[str]:
    """The lines of a buffer of rows (:data:`Row`) and lines already formatted."""
    return [x if isinstance(x, str) else line_text(*x) for x in buffered]
