"""The request object every store adapter builds and every client (Locust, httpx) sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

_UNQUOTED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
"""The characters ``urlencode`` leaves as they are."""


def query_string(params: Mapping[str, str]) -> str:
    """``urlencode(params)``, at a third of its cost when nothing needs quoting (a tracking
    page's ``key=wc_order_…``: the replay builds one a view)."""
    parts = []
    for key, value in params.items():
        if not (_UNQUOTED.issuperset(key) and _UNQUOTED.issuperset(value)):
            return urlencode(dict(params))
        parts.append(f"{key}={value}")
    return "&".join(parts)


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request to the store, relative to its base URL (or absolute)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    """Query parameters."""
    json: Mapping[str, Any] | None = None
    """JSON body, or ``None`` for no body."""
    headers: Mapping[str, str] = field(default_factory=dict)

    def url(self, base_url: str = "") -> str:
        """The absolute URL against ``base_url``, query included."""
        target = self.path if "://" in self.path else base_url.rstrip("/") + self.path
        if self.params:
            target += ("&" if "?" in target else "?") + query_string(self.params)
        return target

    def with_headers(self, headers: Mapping[str, str]) -> Request:
        return replace(self, headers={**self.headers, **headers})

    def with_params(self, params: Mapping[str, str]) -> Request:
        return replace(self, params={**self.params, **params})
