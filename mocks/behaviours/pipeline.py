"""The behaviours of one carrier, wrapped with their shared fields and run in a fixed order.

Per request, after authentication, :meth:`Pipeline.admit` runs: ban check (blocks) → quotas →
concurrency limits (a refusal by either is reported to every block as a violation) → quotas
charged → faults that replace the answer. An admitted request counts as in flight until the app
calls :meth:`Pipeline.release` (concurrency limits and congestion read the count). Then
:meth:`Pipeline.delay` (latency and congestion, drawn for every response, refused or not) and
:meth:`Pipeline.mangle` (faults that spoil a good answer). Each behaviour sits in a
:class:`~mocks.behaviours.toxic.Toxic` wrapper that falls through when its shared fields do not
match, like a disabled toxiproxy toxic. A pipeline without behaviours costs one attribute test
per call.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any

from mocks.behaviours.block import Block
from mocks.behaviours.concurrency import Concurrency
from mocks.behaviours.congestion import Congestion
from mocks.behaviours.fault import Fault
from mocks.behaviours.latency import Latency
from mocks.behaviours.quota import Quota
from mocks.behaviours.refusal import PERMANENT_RETRY_AFTER, Mangle, Refusal
from mocks.behaviours.registry import build_behaviour
from mocks.behaviours.toxic import Toxic
from peakbench.config.behaviours import AnyBehaviourSpec, dump_behaviours

__all__ = ["Mangle", "Pipeline", "Refusal", "Toxic", "build_pipeline"]

_NONE: list[Block] = []
"""The blocks that apply when a carrier has none (never appended to)."""


def _caller(scope: str, key: str, ip: str) -> str:
    """Whose counter a request charges: its key label, its client IP, or everyone's (``*``)."""
    return key if scope == "key" else ip if scope == "ip" else "*"


class Pipeline:
    """All behaviours of one carrier, grouped by phase in profile order."""

    __slots__ = (
        "_admits",
        "blocks",
        "faults",
        "inflight",
        "latencies",
        "limits",
        "mangles",
        "quotas",
        "specs",
        "start_epoch",
        "tracks_inflight",
    )

    def __init__(
        self,
        blocks: Iterable[Toxic[Block]] = (),
        quotas: Iterable[Toxic[Quota]] = (),
        latencies: Iterable[Toxic[Latency | Congestion]] = (),
        limits: Iterable[Toxic[Concurrency]] = (),
        faults: Iterable[Toxic[Fault]] = (),
        mangles: Iterable[Toxic[Fault]] = (),
        specs: Iterable[AnyBehaviourSpec] = (),
        start_epoch: float = 0.0,
    ) -> None:
        self.blocks = tuple(blocks)
        self.quotas = tuple(quotas)
        self.latencies = tuple(latencies)
        self.limits = tuple(limits)
        self.faults = tuple(faults)
        """Faults that replace the answer (5xx, reset, hang)."""
        self.mangles = tuple(mangles)
        """Faults that spoil a good answer (malformed, truncated, slow-body)."""
        self.specs = tuple(specs)
        self.start_epoch = start_epoch
        """Unix time of run second 0, for calendar-aligned windows; every admit() refreshes it."""
        self.inflight = 0
        """Requests admitted and not yet released."""
        self.tracks_inflight = bool(self.limits) or any(
            isinstance(x.behaviour, Congestion) for x in self.latencies
        )
        """Whether :meth:`release` does anything (the app must call it regardless)."""
        self._admits = bool(self.blocks or self.quotas or self.faults or self.tracks_inflight)

    def admit(self, route: str, key: str, ip: str, t: float, epoch: float) -> Refusal | None:
        """Decide a request of caller ``key`` (label) / ``ip`` at run second ``t`` (Unix
        ``epoch``): None when it may be answered (its quotas are then charged and it is in
        flight until :meth:`release`), else the refusal."""
        if not self._admits:
            return None
        self.start_epoch = epoch - t
        blocks = (
            [x.behaviour for x in self.blocks if x.applies(route, t, epoch, key, ip)]
            if self.blocks
            else _NONE
        )
        for block in blocks:
            left = block.banned_for(key if block.scope == "key" else ip, t)
            if left > 0:
                retry = PERMANENT_RETRY_AFTER if left == math.inf else math.ceil(left)
                hang = block.hang if block.form == "hang" else 0.0
                return Refusal("ban", block.status, "ban", retry, 0, block.form, hang)
        quotas = [x.behaviour for x in self.quotas if x.applies(route, t, epoch, key, ip)]
        binding: Quota | None = None
        longest = 0.0
        for quota in quotas:
            wait = quota.wait(_caller(quota.scope, key, ip), t, epoch)
            if wait > longest:
                binding, longest = quota, wait
        refusal: Refusal | None = None
        if binding is not None:
            refusal = Refusal("quota", 429, binding.cause, math.ceil(longest), binding.limit)
        else:
            for x in self.limits:
                limit = x.behaviour
                if x.applies(route, t, epoch, key, ip) and limit.full(
                    _caller(limit.scope, key, ip)
                ):
                    retry = math.ceil(limit.retry_after)
                    refusal = Refusal("concurrency", 429, "concurrency", retry, limit.limit)
                    break
        if refusal is not None:
            for block in blocks:
                block.violation(key if block.scope == "key" else ip, t)
            return refusal
        for quota in quotas:
            quota.take(_caller(quota.scope, key, ip), t, epoch)
        for f in self.faults:
            fault = f.behaviour
            if f.applies(route, t, epoch, key, ip) and fault.fires(f.rng):
                return fault.refusal
        if self.tracks_inflight:
            self.inflight += 1
            for c in self.limits:
                if c.matches(route, key, ip):
                    c.behaviour.enter(_caller(c.behaviour.scope, key, ip))
        return None

    def release(self, route: str, key: str, ip: str, t: float) -> None:
        """A request :meth:`admit` let in has been answered (call exactly once per such
        request, on the pipeline that admitted it)."""
        if not self.tracks_inflight:
            return
        if self.inflight > 0:
            self.inflight -= 1
        for x in self.limits:
            if x.matches(route, key, ip):
                x.behaviour.leave(_caller(x.behaviour.scope, key, ip))

    def delay(self, route: str, t: float, key: str | None = None, ip: str | None = None) -> float:
        """Injected latency, in store seconds, for a response to ``route`` at run second ``t``.

        ``key``/``ip`` are needed only by latencies filtered on them (else those never apply).
        """
        if not self.latencies:
            return 0.0
        epoch = self.start_epoch + t
        inflight = self.inflight
        total = 0.0
        for x in self.latencies:
            if x.applies(route, t, epoch, key, ip):
                total += x.behaviour.draw(x.rng, inflight)
        return total

    def mangle(
        self, route: str, t: float, key: str | None = None, ip: str | None = None
    ) -> Mangle | None:
        """How to spoil a good answer to ``route`` at run second ``t``, or None (mostly)."""
        if not self.mangles:
            return None
        epoch = self.start_epoch + t
        for m in self.mangles:
            if m.applies(route, t, epoch, key, ip) and m.behaviour.fires(m.rng):
                return m.behaviour.mangle
        return None

    # -- restart recovery (mocks.recovery) -------------------------------------------------------

    def recall(self, route: str, key: str, ip: str, t: float, epoch: float, outcome: str) -> None:
        """Re-apply what a journaled request did to the quota and ban state, from its recorded
        ``outcome``: an admitted one (``ok``, ``error``) charged the quotas that applied; a
        throttled one counted as a violation for the blocks that applied (which may start a
        ban, as it did then); a ban refusal changed nothing. Only for requests that reached
        :meth:`admit` (a known key). Probability draws are not replayed: a behaviour with a
        ``probability`` below 1 is recalled as if it applied."""
        if outcome == "blocked":
            return
        if outcome == "throttled":
            for x in self.blocks:
                if x.matches(route, key, ip) and x.active_at(t, epoch):
                    block = x.behaviour
                    block.violation(key if block.scope == "key" else ip, t)
            return
        for q in self.quotas:
            if q.matches(route, key, ip) and q.active_at(t, epoch):
                quota = q.behaviour
                quota.take(_caller(quota.scope, key, ip), t, epoch)

    def allowance(
        self, route: str, key: str, ip: str, t: float, epoch: float
    ) -> tuple[int, int, float] | None:
        """``(limit, left, store seconds to reset)`` of the tightest quota on this request
        after it was admitted, None when no quota applies (for ``X-RateLimit-*`` headers)."""
        tightest: tuple[int, int, float] | None = None
        for q in self.quotas:
            if q.matches(route, key, ip) and q.active_at(t, epoch):
                quota = q.behaviour
                left, reset = quota.left(_caller(quota.scope, key, ip), t, epoch)
                if tightest is None or left < tightest[1]:
                    tightest = (quota.limit, max(0, left), reset)
        return tightest

    def memory(self) -> float:
        """Store seconds of past requests the quota and ban state can depend on: the longest
        quota window, and for a block its ``within`` + longest ban + ``cooldown`` (``inf`` with
        permanent bans); 0.0 when the carrier keeps no such state."""
        longest = max((x.behaviour.per for x in self.quotas), default=0.0)
        for x in self.blocks:
            block = x.behaviour
            ban = math.inf if block.permanent else max(block.lengths)
            longest = max(longest, block.within + ban + block.cooldown)
        return longest

    def banned(self, t: float) -> int:
        """Callers banned at run second ``t``, over all blocks."""
        return sum(
            1
            for x in self.blocks
            for entry in x.behaviour.state.callers.entries.values()
            if entry.banned_until > t
        )

    def describe(self) -> list[dict[str, Any]]:
        """The behaviour specs as JSON, in profile syntax (for the admin API)."""
        return dump_behaviours(self.specs)


def build_pipeline(
    specs: Iterable[AnyBehaviourSpec], seed: str, start_epoch: float = 0.0
) -> Pipeline:
    """A pipeline with fresh state from a carrier's behaviour specs.

    ``seed`` (e.g. ``"<fleet seed>:<carrier>"``) seeds each wrapper's generator, with its
    position. ``start_epoch`` (Unix time of run second 0) matters only to recurring windows
    before the first :meth:`Pipeline.admit`, which learns it.
    """
    specs = tuple(specs)
    blocks: list[Toxic[Block]] = []
    quotas: list[Toxic[Quota]] = []
    latencies: list[Toxic[Latency | Congestion]] = []
    limits: list[Toxic[Concurrency]] = []
    faults: list[Toxic[Fault]] = []
    mangles: list[Toxic[Fault]] = []
    for i, spec in enumerate(specs):
        behaviour = build_behaviour(spec)
        rng = random.Random(f"{seed}:{i}")
        if isinstance(behaviour, Block):
            blocks.append(Toxic.wrap(behaviour, spec, rng))
        elif isinstance(behaviour, Quota):
            quotas.append(Toxic.wrap(behaviour, spec, rng))
        elif isinstance(behaviour, Concurrency):
            limits.append(Toxic.wrap(behaviour, spec, rng))
        elif isinstance(behaviour, Fault):
            (faults if behaviour.before else mangles).append(Toxic.wrap(behaviour, spec, rng))
        else:  # Latency or Congestion
            latencies.append(Toxic.wrap(behaviour, spec, rng))
    return Pipeline(blocks, quotas, latencies, limits, faults, mangles, specs, start_epoch)
