"""The push loop of one pushing carrier: registrations → polls → pushes → deliveries.

:class:`Pusher` composes a personality that pushes (the :class:`Pushing` protocol), the poll
schedule and the delivery. :meth:`Pusher.step` does everything due at the clock's current time
without waiting, so tests drive it with a ManualClock; :meth:`Pusher.run` loops over it on the
wall clock; :func:`run_push` is what the fleet server starts for each carrier with ``push:``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

import httpx

from mocks.push.delivery import Delivery, Headers
from mocks.push.journal import PushJournal
from mocks.push.schedule import PollSchedule
from peakbench.config.fleet import CarrierSpec
from peakbench.config.push import PushSpec
from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES
from peakbench.plan.clock import Clock
from peakbench.plan.timeline import TimelineModel

log = logging.getLogger("mocks.push")

TICK_WALL_S = 0.1
"""Longest wall sleep of the loop: how soon a new registration starts being polled."""
FLUSH_WALL_S = 1.0
"""Wall seconds between journal flushes."""
VIRTUAL_IDLE_S = 10.0
"""Store seconds between looks for new registrations under a virtual clock."""
_JSON = (b"content-type", b"application/json")
MIN_TIMEOUT_WALL_S = 2.0
"""A push timeout never scales below this many wall seconds: round trips do not scale."""


class Pushing(Protocol):
    """The push side of a personality (the team's push protocol); pure, no I/O."""

    def registered(self) -> Iterable[str]:
        """Numbers registered so far (a snapshot is fine)."""
        ...

    def push_body(self, number: str, epoch: float) -> bytes | None:
        """The vendor's webhook body for ``number``'s state at Unix time ``epoch``."""
        ...

    def push_headers(self, body: bytes, secret: str) -> Headers:
        """Headers of a push of ``body`` (content type, signature, ...)."""
        ...


def basic_auth(credentials: Mapping[str, str]) -> tuple[bytes, bytes]:
    """WooCommerce REST auth header from ``{"consumer_key", "consumer_secret"}``."""
    pair = f"{credentials['consumer_key']}:{credentials['consumer_secret']}".encode()
    return b"authorization", b"Basic " + base64.b64encode(pair)


def join_url(url: str, base_url: str | None) -> str | None:
    """``url`` if absolute, else joined to ``base_url`` (None while that is unknown)."""
    if url.startswith(("http://", "https://")):
        return url
    return None if base_url is None else base_url.rstrip("/") + url


def ready_file_url(path: Path) -> Callable[[], str | None]:
    """A resolver of the store's base URL from its ready file (``{"base_url": ...}``, e.g.
    ``RUN/store.ready.json``): None until the file exists (the store starts after the fleet)."""

    def resolve() -> str | None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        url = doc.get("base_url") if isinstance(doc, dict) else None
        return url if isinstance(url, str) and url else None

    return resolve


class Pusher:
    """Pushes of one carrier: call :meth:`step` whenever time moved, :meth:`drain` to wait for
    the deliveries it started (tests), or :meth:`run` to loop until stopped."""

    def __init__(
        self,
        carrier: str,
        personality_name: str,
        spec: PushSpec,
        personality: Pushing,
        model: TimelineModel,
        clock: Clock,
        journal: PushJournal,
        client: httpx.AsyncClient,
        secret: str | None = None,
        store_credentials: Mapping[str, str] | None = None,
        seed: str = "0",
        base_url: str | Callable[[], str | None] | None = None,
        min_timeout_wall: float = MIN_TIMEOUT_WALL_S,
    ) -> None:
        self.carrier = carrier
        self.spec = spec
        self.personality = personality
        self.clock = clock
        self.journal = journal
        self.secret = secret or ""
        self._auth: Headers = ()
        if store_credentials and spec.uses_store_auth(personality_name):
            self._auth = (basic_auth(store_credentials),)
        self._base_url = base_url
        self._url: str | None = None
        self.schedule = PollSchedule(
            model,
            clock.spec.start_epoch,
            spec.cadence_for(personality_name),
            f"{seed}:{carrier}",
            spec.first_poll,
        )
        timeout_wall = (
            spec.timeout  # store seconds: the in-process transport times out on them
            if clock.virtual
            else max(spec.timeout / max(clock.spec.scale, 1e-9), min_timeout_wall)
        )
        self.delivery = Delivery(
            self,
            client,
            self.url,
            clock,
            journal,
            spec.retry_delays(personality_name),
            timeout_wall,
            spec.concurrency,
        )

    # -- what delivery asks ----------------------------------------------------------------------

    def url(self) -> str | None:
        """The webhook target, once known (a base URL may come from a resolver)."""
        if self._url is None:
            base = self._base_url() if callable(self._base_url) else self._base_url
            self._url = join_url(self.spec.url, base)
        return self._url

    def payload(self, number: str) -> tuple[bytes, Headers, int] | None:
        state = self.schedule.state(number)
        if state is None:
            return None
        epoch, count = state
        try:
            body = self.personality.push_body(number, epoch)
            headers = self.personality.push_headers(body, self.secret) if body is not None else ()
        except Exception:  # a personality bug costs this push, not the loop
            log.exception("push body of %s failed", number)
            body = None
        if body is None:
            self.schedule.abandon(number)
            return None
        if not any(name.lower() == b"content-type" for name, _ in headers):
            headers = (_JSON, *headers)  # every vendor pushes JSON; not all say so in push_headers
        return body, headers + self._auth, count

    def finished(self, number: str, count: int, delivered: bool) -> bool:
        return self.schedule.finished(number, count, delivered)

    # -- the loop --------------------------------------------------------------------------------

    def step(self) -> int:
        """Take in new registrations, run the polls and retries due now, start deliveries;
        returns how many pushes became due."""
        t = self.clock.now()
        self.schedule.sync(self.personality.registered(), t)
        due = self.schedule.due(t)
        for number in due:
            self.delivery.submit(number)
        self.delivery.release(t)
        self.delivery.pump()
        return len(due)

    def next_t(self) -> float:
        """Run second of the next poll or retry (inf when nothing waits)."""
        return min(self.schedule.next_t(), self.delivery.next_t())

    async def drain(self) -> None:
        """Wait for the deliveries started so far, including immediate re-pushes."""
        await self.delivery.drain()

    async def run(self, stop: asyncio.Event) -> None:
        """Step until ``stop`` is set, sleeping on the store clock in between; cancels the
        tries in flight and flushes the journal at the end."""
        scale = max(self.clock.spec.scale, 1e-9)
        flushed = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception:  # a bug must cost pushes, never the fleet server
                    log.exception("push step of %s failed", self.carrier)
                if time.monotonic() - flushed >= FLUSH_WALL_S:
                    self.journal.flush()
                    flushed = time.monotonic()
                wait = self.next_t() - self.clock.now()
                if self.clock.virtual:
                    # store time costs nothing: sleep to what is due, and look for new
                    # registrations every VIRTUAL_IDLE_S (far below any aggregator's cadence)
                    wall = min(max(wait, 0.001), VIRTUAL_IDLE_S)
                else:
                    # never a busy loop: a bug that keeps a poll due must not spin the CPU
                    wall = min(TICK_WALL_S, max(0.005, wait / scale))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wall)
        finally:
            await self.delivery.close()
            self.journal.flush()


async def run_push(
    carrier: CarrierSpec,
    personality: Pushing,
    clock: Clock,
    journal_path: Path | None,
    secret: str | None,
    store_credentials: Mapping[str, str] | None,
    stop: asyncio.Event,
    *,
    model: TimelineModel | None = None,
    seed: int | str = 0,
    base_url: str | Callable[[], str | None] | None = None,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Push ``carrier``'s tracking updates to the store until ``stop`` is set.

    ``personality``: the carrier's personality (the one its app serves, so registrations are
    shared); ``journal_path``: ``RUN/journals/push-<carrier>.jsonl``; ``secret``: the signing
    secret (from the env var ``carrier.push.secret_env``); ``store_credentials``: parsed
    ``PEAKBENCH_STORE_CREDENTIALS`` for WooCommerce REST auth; ``model``: the carrier's truth
    model (default: ``personality.model``); ``seed``: the fleet seed (fixes the poll jitter);
    ``base_url``: the store's base URL, or a resolver returning it once known, for a relative
    ``push.url``; ``segment_bytes`` / ``keep``: the journal's segment size and retention;
    ``transport``: how the store is reached (default: sockets).
    """
    spec = carrier.push
    if spec is None:
        raise ValueError(f"carrier {carrier.name!r} has no push: section")
    model = model or getattr(personality, "model", None)
    if not isinstance(model, TimelineModel):
        raise ValueError(f"carrier {carrier.name!r}: run_push needs the carrier's TimelineModel")
    journal = PushJournal(carrier.name, journal_path, segment_bytes=segment_bytes, keep=keep)
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    try:
        verify: bool | ssl.SSLContext = True
        if spec.ca_file:
            verify = ssl.create_default_context()
            verify.load_verify_locations(cafile=spec.ca_file)
        async with httpx.AsyncClient(
            limits=limits, trust_env=False, verify=verify, transport=transport
        ) as client:
            pusher = Pusher(
                carrier.name,
                carrier.personality,
                spec,
                personality,
                model,
                clock,
                journal,
                client,
                secret,
                store_credentials,
                str(seed),
                base_url,
            )
            await pusher.run(stop)
    finally:
        journal.close()
