"""The mock fleet's admin API under ``/__admin/``: control a running fleet without restarting it.

No auth, never journaled, and only for loopback clients unless the server was started with
remote admin allowed. Per carrier (on its own port, or on a shared port as
``/__admin/carriers/{name}/…``, or with that carrier's Host header)::

    GET  health        {"ok": true, "carrier"}
    GET  counters      {"carrier", "t", "requests", "ok", "throttled", "blocked", "errors",
                        "dropped"}
    POST reset         fresh behaviour state, counters, and registrations (personalities that keep
                       some); the journal file is kept
    GET  behaviours    the behaviour list (JSON array of behaviour specs)
    PUT  behaviours    replace it live (body: JSON array); 400 with one line naming the bad field
    POST behaviours    append one (body: one spec); the list is rebuilt with fresh state
    GET  journal       the carrier's journal as JSONL (flushed first); ``?since=<run seconds>``
    GET  clock         {"t", "epoch", "scale", "start_epoch"}
    GET  openapi.json  an OpenAPI 3.1 document of every admin route

A shared port adds ``GET carriers`` (name → personality, hosts, admin path), and answers
``health``, ``counters``, ``reset``, ``clock`` for the whole fleet when no carrier is named.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qs

from pydantic import ValidationError

from mocks._asgi import TOO_LARGE, Receive, Scope, Send, read_body, send_response
from mocks.admin.openapi import openapi_document
from mocks.admin.specs import list_adapter, spec_adapter, validation_message
from mocks.journal import Journal
from peakbench.config.behaviours import AnyBehaviourSpec
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.clock import Clock

PREFIX = "/__admin/"
MAX_ADMIN_BODY = 1 << 20
"""Largest admin request body, in bytes."""
_JSONL = (b"content-type", b"application/x-ndjson")
_LOOPBACK = ("127.", "::1", "::ffff:127.")


def loopback(scope: Scope) -> bool:
    """Whether the request comes from this machine (or from an in-process transport)."""
    client = scope.get("client")
    return client is None or str(client[0]).startswith(_LOOPBACK)


async def send_json(send: Send, status: int, data: Any, headers: tuple[Any, ...] = ()) -> None:
    await send_response(send, status, json.dumps(data).encode(), headers)


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    await send_json(send, status, {"error": {"code": code, "message": message}})


def clock_json(clock: Clock) -> dict[str, float]:
    t = clock.now()
    spec = clock.spec
    return {
        "t": round(t, 3),
        "epoch": round(spec.start_epoch + t, 3),
        "scale": spec.scale,
        "start_epoch": spec.start_epoch,
    }


class Controlled(Protocol):
    """What the admin API controls of one carrier app (:class:`mocks.app.CarrierApp` is one)."""

    carrier: CarrierSpec
    clock: Clock
    journal: Journal
    specs: tuple[AnyBehaviourSpec, ...]
    admin: CarrierAdmin

    def behaviours(self) -> list[dict[str, Any]]: ...

    def set_behaviours(self, specs: Sequence[AnyBehaviourSpec]) -> None: ...

    def reset(self) -> None: ...


class CarrierAdmin:
    """The admin routes of one carrier app (``remote``: allow non-loopback clients)."""

    def __init__(self, app: Controlled, remote: bool = False) -> None:
        self.app = app
        self.remote = remote

    def counters(self) -> dict[str, Any]:
        journal = self.app.journal
        return {
            "carrier": self.app.carrier.name,
            "t": round(self.app.clock.now(), 3),
            **journal.counters.as_dict(),
            "dropped": journal.dropped,
        }

    async def handle(self, sub: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve admin path ``/__admin/<sub>``."""
        if not (self.remote or loopback(scope)):
            await send_error(send, 403, "forbidden", "the admin API answers loopback clients only")
            return
        if sub.startswith("carriers/"):
            name, _, sub = sub[9:].partition("/")
            if name != self.app.carrier.name:
                await send_error(send, 404, "not_found", f"no carrier {name!r} on this port")
                return
        method: str = scope["method"]
        app = self.app
        if sub in ("health", "counters", "clock", "openapi.json", "journal"):
            if method != "GET":
                await _not_allowed(send, "GET")
            elif sub == "health":
                await send_json(send, 200, {"ok": True, "carrier": app.carrier.name})
            elif sub == "counters":
                await send_json(send, 200, self.counters())
            elif sub == "clock":
                await send_json(send, 200, clock_json(app.clock))
            elif sub == "openapi.json":
                await send_json(send, 200, openapi_document())
            else:
                await self._journal(scope, send)
        elif sub == "reset":
            if method != "POST":
                await _not_allowed(send, "POST")
                return
            app.reset()
            await send_json(send, 200, {"ok": True, "carrier": app.carrier.name})
        elif sub == "behaviours":
            await self._behaviours(method, receive, send)
        else:
            await send_error(send, 404, "not_found", f"no admin route {PREFIX}{sub}")

    async def _behaviours(self, method: str, receive: Receive, send: Send) -> None:
        app = self.app
        if method == "GET":
            await send_json(send, 200, app.behaviours())
            return
        if method not in ("PUT", "POST"):
            await _not_allowed(send, "GET, PUT, POST")
            return
        body = await read_body(receive, MAX_ADMIN_BODY)
        if body is TOO_LARGE or not isinstance(body, bytes):
            await send_error(send, 413, "bad_request", "body too large")
            return
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            await send_error(send, 400, "bad_request", f"body is not valid JSON: {exc}")
            return
        try:
            if method == "PUT":
                if isinstance(data, dict) and "behaviours" in data:
                    data = data["behaviours"]
                specs = list_adapter().validate_python(data)
            else:
                specs = (*app.specs, spec_adapter().validate_python(data))
            app.set_behaviours(specs)
        except ValidationError as exc:
            root = "behaviours" if method == "PUT" else "behaviour"
            await send_error(send, 400, "bad_request", validation_message(exc, data, root))
            return
        except ValueError as exc:  # a spec the behaviours refuse to build
            await send_error(send, 400, "bad_request", " ".join(str(exc).split()))
            return
        await send_json(send, 200, app.behaviours())

    async def _journal(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        since: float | None = None
        if "since" in query:
            try:
                since = float(query["since"][0])
            except ValueError:
                await send_error(send, 400, "bad_request", "since: expected run seconds (a number)")
                return
        await send({"type": "http.response.start", "status": 200, "headers": [_JSONL]})
        for chunk in self.app.journal.export(since):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class FleetAdmin:
    """The admin routes of a shared port: fleet-wide ones, and each carrier's by name."""

    def __init__(self, apps: Mapping[str, Controlled], clock: Clock, remote: bool = False):
        self.apps = apps
        self.clock = clock
        self.remote = remote

    async def handle(
        self, sub: str, scope: Scope, receive: Receive, send: Send, host_app: Controlled | None
    ) -> None:
        """Serve ``/__admin/<sub>``; ``host_app``: the carrier the Host header named, if any."""
        if not (self.remote or loopback(scope)):
            await send_error(send, 403, "forbidden", "the admin API answers loopback clients only")
            return
        if sub.startswith("carriers/"):
            name = sub[9:].partition("/")[0]
            app = self.apps.get(name)
            if app is None:
                known = ", ".join(sorted(self.apps))
                await send_error(send, 404, "not_found", f"no carrier {name!r} (known: {known})")
            else:
                await app.admin.handle(sub, scope, receive, send)
            return
        if host_app is not None:
            await host_app.admin.handle(sub, scope, receive, send)
            return
        routes: dict[str, tuple[str, Callable[[], Any]]] = {
            "health": ("GET", lambda: {"ok": True, "carriers": sorted(self.apps)}),
            "carriers": ("GET", self._carriers),
            "counters": ("GET", self._counters),
            "clock": ("GET", lambda: clock_json(self.clock)),
            "openapi.json": ("GET", openapi_document),
            "reset": ("POST", self._reset),
        }
        route = routes.get(sub)
        if route is None:
            await send_error(send, 404, "not_found", f"no admin route {PREFIX}{sub}")
        elif scope["method"] != route[0]:
            await _not_allowed(send, route[0])
        else:
            await send_json(send, 200, route[1]())

    def _carriers(self) -> dict[str, Any]:
        return {
            name: {
                "personality": app.carrier.personality,
                "hosts": list(app.carrier.host_names),
                "admin": f"{PREFIX}carriers/{name}/",
            }
            for name, app in self.apps.items()
        }

    def _counters(self) -> dict[str, Any]:
        carriers = {name: app.admin.counters() for name, app in self.apps.items()}
        return {"t": round(self.clock.now(), 3), "carriers": carriers}

    def _reset(self) -> dict[str, Any]:
        for app in self.apps.values():
            app.reset()
        return {"ok": True, "carriers": sorted(self.apps)}


async def _not_allowed(send: Send, allow: str) -> None:
    body = {"error": {"code": "method_not_allowed", "message": f"use {allow}"}}
    await send_json(send, 405, body, ((b"allow", allow.encode()),))
