"""Owns the fleet's admin surface under ``/__admin/``: its routes, OpenAPI document, spec checks.

May import ``mocks._asgi``, ``mocks.journal``, peakbench's config and clock; never ``mocks.app``."""
