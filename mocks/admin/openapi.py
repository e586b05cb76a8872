"""The OpenAPI 3.1 document of the mock fleet's admin API (:mod:`mocks.admin.routes`), built once;
behaviour schemas come from the config models, so the document follows them."""

from __future__ import annotations

from functools import cache
from typing import Any

from mocks.admin.specs import spec_adapter  # the admin validates with the same adapter

PREFIX = "/__admin/"

_COUNTERS = {
    "type": "object",
    "properties": {
        "carrier": {"type": "string"},
        "t": {"type": "number", "description": "run seconds (store time)"},
        **{k: {"type": "integer"} for k in ("requests", "ok", "throttled", "blocked", "errors")},
        "dropped": {"type": "integer", "description": "journal lines lost to I/O errors"},
    },
    "required": ["carrier", "t", "requests", "ok", "throttled", "blocked", "errors", "dropped"],
}
_CLOCK = {
    "type": "object",
    "properties": {
        "t": {"type": "number", "description": "run seconds (store time since the run start)"},
        "epoch": {"type": "number", "description": "Unix time on the store calendar"},
        "scale": {"type": "number", "description": "store seconds per wall second"},
        "start_epoch": {"type": "number", "description": "Unix time of run second 0"},
    },
    "required": ["t", "epoch", "scale", "start_epoch"],
}
_OK = {"type": "object", "properties": {"ok": {"const": True}}, "required": ["ok"]}
_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_SPEC_REF = {"$ref": "#/components/schemas/BehaviourSpec"}
_LIST = {"type": "array", "items": _SPEC_REF}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _op(summary: str, schema: dict[str, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": _json_content(schema)},
            "4XX": {"description": "refused", "content": _json_content(_ERROR)},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json_content(body)}
    return op


def _carrier_paths() -> dict[str, dict[str, Any]]:
    journal = {
        "summary": "The carrier's journal as JSON lines (flushed first)",
        "parameters": [
            {
                "name": "since",
                "in": "query",
                "required": False,
                "schema": {"type": "number"},
                "description": "only lines with t >= since (run seconds)",
            }
        ],
        "responses": {
            "200": {
                "description": "one JSON object per line",
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            "4XX": {"description": "refused", "content": _json_content(_ERROR)},
        },
    }
    return {
        "health": {"get": _op("Liveness of the carrier", _OK)},
        "counters": {"get": _op("Requests since start (or reset) by outcome", _COUNTERS)},
        "reset": {"post": _op("Fresh behaviour state, counters and registrations", _OK)},
        "behaviours": {
            "get": _op("The current behaviour list", _LIST),
            "put": _op("Replace the behaviour list live (fresh state)", _LIST, _LIST),
            "post": _op(
                "Append one behaviour (the list restarts with fresh state)", _LIST, _SPEC_REF
            ),
        },
        "journal": {"get": journal},
        "clock": {"get": _op("The store clock", _CLOCK)},
        "openapi.json": {"get": _op("This document", {"type": "object"})},
    }


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API (behaviour schemas from the config models)."""
    spec_schema = spec_adapter().json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(spec_schema.pop("$defs", {}))
    schemas["BehaviourSpec"] = spec_schema
    schemas["Error"] = _ERROR
    paths: dict[str, Any] = {}
    name_param = {"name": "carrier", "in": "path", "required": True, "schema": {"type": "string"}}
    for sub, ops in _carrier_paths().items():
        paths[f"{PREFIX}{sub}"] = ops
        paths[f"{PREFIX}carriers/{{carrier}}/{sub}"] = {"parameters": [name_param], **ops}
    carriers = {"type": "object", "additionalProperties": {"type": "object"}}
    paths[f"{PREFIX}carriers"] = {"get": _op("Carriers on this shared port, with hosts", carriers)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "peakbench mock carrier admin API",
            "version": "1",
            "description": "Control a running mock fleet. Loopback clients only by default; "
            "never journaled. On a shared port, carrier routes also live under "
            "/__admin/carriers/{carrier}/.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
