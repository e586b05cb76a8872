"""What a fleet's pushing carriers need from their process: webhook signing secrets and the
store's credentials from the environment, the store's URL (given, or read from the sandbox
store's ready file once it listens), and one push loop per carrier with ``push:``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocks.app import CarrierApp
from peakbench.config.fleet import FleetSpec
from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES
from peakbench.plan.clock import Clock


@dataclass(frozen=True, slots=True)
class PushWiring:
    """What pushing carriers need from the process environment (read by the entry point)."""

    secrets: Mapping[str, str] = field(default_factory=dict)
    """Carrier name → webhook signing secret (from the env var its ``push.secret_env`` names)."""
    store_credentials: Mapping[str, str] | None = None
    """Parsed ``PEAKBENCH_STORE_CREDENTIALS``, for WooCommerce REST auth on pushes."""
    store_url: str | Callable[[], str | None] | None = None
    """The store's base URL, or a resolver of it (the store starts after the fleet)."""
    transport: Any = None
    """An ``httpx.AsyncBaseTransport`` that reaches the store (the virtual-time world's
    in-process one); ``None``: sockets."""


def start_pushes(
    apps: Sequence[CarrierApp],
    fleet: FleetSpec,
    clock: Clock,
    journal_dir: Path,
    wiring: PushWiring,
    stop: asyncio.Event,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
) -> list[asyncio.Task[None]]:
    """Start the push loop of every carrier with ``push:`` (none: no HTTP client is loaded)."""
    pushing = [app for app in apps if getattr(app.carrier, "push", None) is not None]
    if not pushing:
        return []
    from mocks.push.runner import run_push  # only fleets that push pay for the HTTP client

    tasks = []
    for app in pushing:
        name = app.carrier.name
        coro = run_push(
            app.carrier, app.personality, clock, journal_dir / f"push-{name}.jsonl",  # type: ignore[arg-type]
            wiring.secrets.get(name), wiring.store_credentials, stop,
            seed=fleet.seed, base_url=wiring.store_url, segment_bytes=segment_bytes, keep=keep,
            transport=wiring.transport,
        )  # fmt: skip
        tasks.append(asyncio.create_task(coro, name=f"push-{name}"))
    return tasks


def push_wiring(
    fleet: FleetSpec, environ: Mapping[str, str], store_url: str | None, store_ready: Path | None
) -> PushWiring:
    """Secrets, store credentials and store URL for the fleet's pushing carriers, from the
    environment and the command line; ValueError if PEAKBENCH_STORE_CREDENTIALS is bad."""
    secrets = {}
    for carrier in fleet.carriers:
        spec = getattr(carrier, "push", None)
        env = getattr(spec, "secret_env", None)
        if env and environ.get(env):
            secrets[carrier.name] = environ[env]
    credentials = None
    if raw := environ.get("PEAKBENCH_STORE_CREDENTIALS"):
        try:
            credentials = json.loads(raw)
        except ValueError:
            raise ValueError("PEAKBENCH_STORE_CREDENTIALS is not JSON") from None
        if isinstance(credentials, dict) and "access_token" in credentials:
            if not {"consumer_key", "consumer_secret"} <= set(credentials):
                credentials = None  # a real Shopify store: pushes go to its app, no REST keys
        elif not isinstance(credentials, dict) or not {"consumer_key", "consumer_secret"} <= set(
            credentials
        ):
            raise ValueError(
                'PEAKBENCH_STORE_CREDENTIALS must look like {"consumer_key", "consumer_secret"}'
            )
    url: str | Callable[[], str | None] | None = store_url
    if url is None and store_ready is not None:
        from mocks.push.runner import ready_file_url

        url = ready_file_url(store_ready)
    return PushWiring(secrets, credentials, url)
