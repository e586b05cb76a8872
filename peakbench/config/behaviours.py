"""Carrier behaviours as data: each spec holds only its own parameters plus the shared fields of
:class:`BehaviourBase`; ``mocks/behaviours`` turns them into running units (toxics).

A carrier's ``behaviours`` is a YAML list discriminated by ``type``::

    - {type: latency, distribution: lognormal, median: 300ms, p99: 2s,
       tail: {share: 0.02, distribution: uniform, min: 5s, max: 20s}}
    - {type: congestion, base: 50ms, per_inflight: 20ms, knee: 8}
    - {type: quota, limit: 5, per: 1s}                          # token bucket
    - {type: quota, limit: 100, per: 1m, window: sliding, scope: ip}
    - {type: quota, limit: 1000, per: 1d, reset_at: "00:00", utc_offset: "-05:00"}
    - {type: concurrency, limit: 8}
    - {type: block, violations: 50, within: 10m, escalate: [10m, 2h, 24h], form: waf}
    - {type: fault, kind: 5xx, status: 503, rate: 0.02}

All durations are store time (``250ms``, ``10s``, ``2h``, ``1d`` or bare seconds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    model_validator,
)

from peakbench.config.base import Duration, Probability, Spec
from peakbench.durations import parse_duration

_CLOCK = re.compile(r"^(\d{1,2}):(\d\d)(?::(\d\d))?$")
_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")


def _time_of_day(value: object) -> float:
    """``"18:00"`` / ``"06:30:15"`` (or bare seconds after midnight) → seconds after midnight."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 86400:
        return float(value)
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day like '18:00', got {value!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _format_time_of_day(seconds: float) -> str:
    s = round(seconds)
    text = f"{s // 3600:02d}:{s // 60 % 60:02d}"
    return text + f":{s % 60:02d}" if s % 60 else text


def _period_offset(value: object) -> float:
    """A time of day (``"18:00"``) or a duration into the period (``"2d"``) → seconds."""
    if isinstance(value, str) and ":" in value:
        return _time_of_day(value)
    return parse_duration(value)


def _format_period_offset(seconds: float) -> str | float:
    return _format_time_of_day(seconds) if seconds < 86400 else seconds


def _utc_offset(value: object) -> float:
    """``"+02:00"``, ``"-0500"``, ``"Z"`` (or bare seconds) → seconds east of GMT."""
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) <= 14 * 3600:
        return float(value)
    if value in ("Z", "z", "UTC", "GMT"):
        return 0.0
    match = _OFFSET.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        raise ValueError(f"expected a UTC offset like '+02:00', got {value!r}")
    sign = -1.0 if match.group(1) == "-" else 1.0
    return sign * (int(match.group(2)) * 3600 + int(match.group(3)) * 60)


def _format_utc_offset(seconds: float) -> str:
    s = round(abs(seconds))
    return f"{'-' if seconds < 0 else '+'}{s // 3600:02d}:{s // 60 % 60:02d}"


TimeOfDay = Annotated[
    float,
    BeforeValidator(_time_of_day),
    PlainSerializer(_format_time_of_day, return_type=str),
    Field(json_schema_extra={"examples": ["00:00", "18:00"]}),
]
"""Seconds after midnight on the store calendar, written ``"HH:MM"`` or ``"HH:MM:SS"``."""

UtcOffset = Annotated[
    float,
    BeforeValidator(_utc_offset),
    PlainSerializer(_format_utc_offset, return_type=str),
    Field(json_schema_extra={"examples": ["+00:00", "-05:00"]}),
]
"""Seconds east of GMT, written ``"+02:00"`` / ``"-05:00"``."""

PeriodOffset = Annotated[
    float,
    BeforeValidator(_period_offset),
    PlainSerializer(_format_period_offset),
    Field(ge=0, json_schema_extra={"examples": ["18:00", "2d"]}),
]
"""Where a recurring window opens in its period: a time of day or a duration."""

Scope = Literal["key", "ip", "global"]
"""Whose requests a stateful behaviour counts together: per API key, per client IP, or all."""


class ActiveWindow(Spec):
    """When a behaviour is active, in store time.

    ``start``/``end``: run seconds (end exclusive). Optionally recurring: with ``every`` set, the
    behaviour is active only ``for`` store seconds ``from`` a time of day (or offset into the
    period) in each period of ``every``, aligned to the store calendar (GMT + ``utc_offset``):
    ``{every: 1d, from: "18:00", for: 4h}`` is every evening 18:00–22:00 GMT.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: Duration = 0.0
    end: Duration | None = None
    every: Duration | None = Field(default=None, gt=0)
    from_: PeriodOffset = Field(default=0.0, alias="from")
    for_: Duration | None = Field(default=None, alias="for")
    utc_offset: UtcOffset = 0.0

    @model_validator(mode="after")
    def _recurring_complete(self) -> ActiveWindow:
        if self.every is not None and self.for_ is None:
            raise ValueError("a recurring window ('every') needs 'for', e.g. for: 4h")
        if self.every is None and self.for_ is not None:
            raise ValueError("'for' needs 'every', e.g. every: 1d")
        if self.end is not None and self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


class BehaviourBase(Spec):
    """Fields every behaviour shares (its toxic wrapper applies them; else it falls through)."""

    name: str | None = None
    probability: Probability = 1.0
    """Share of requests the behaviour applies to (seeded draws)."""
    routes: tuple[str, ...] | None = None
    """Route names (e.g. ``track``, ``batch``) it applies to; all when omitted."""
    keys: tuple[str, ...] | None = None
    """Caller key labels (``k0``, ``k1``, ``anon``) it applies to; all when omitted."""
    ips: tuple[str, ...] | None = None
    """Client IPs it applies to; all when omitted."""
    active: ActiveWindow | None = None


Distribution = Literal["fixed", "uniform", "lognormal"]


class DelaySpec(Spec):
    """A delay distribution (store seconds): ``fixed`` waits ``delay``; ``uniform`` draws from
    [``min``, ``max``]; ``lognormal`` is pinned by its ``median`` and 99th percentile ``p99``."""

    distribution: Distribution = "fixed"
    delay: Duration = 0.0
    min: Duration = 0.0
    max: Duration = 0.0
    median: Duration = 0.3
    p99: Duration = 2.0

    @model_validator(mode="after")
    def _consistent(self) -> DelaySpec:
        if self.distribution == "lognormal" and self.p99 < self.median:
            raise ValueError("p99 must be at least the median")
        if self.distribution == "uniform" and self.max < self.min:
            raise ValueError("max must be at least min")
        return self


class TailSpec(DelaySpec):
    """The slow tail of a latency: a ``share`` of requests draws from this distribution instead."""

    share: Probability


class LatencySpec(BehaviourBase, DelaySpec):
    """Delay before answering (every response, refused or not), with an optional slow tail."""

    type: Literal["latency"]
    tail: TailSpec | None = None


class CongestionSpec(BehaviourBase):
    """Load-dependent delay: ``base + per_inflight × max(0, inflight − knee)``, at most ``max``.

    ``inflight``: requests to this carrier admitted and not yet answered, this one included.
    """

    type: Literal["congestion"]
    base: Duration = 0.0
    per_inflight: Duration = Field(gt=0)
    knee: int = Field(default=0, ge=0)
    max: Duration | None = None


class QuotaSpec(BehaviourBase):
    """At most ``limit`` requests ``per`` window, counted per ``scope``.

    ``window``: ``bucket`` refills continuously (``limit`` tokens per ``per``); ``sliding``
    counts the requests of the last ``per``; ``fixed`` windows of ``per`` open at the caller's
    first request; ``calendar`` windows reset at fixed boundaries of the store calendar
    (GMT + ``utc_offset``, shifted by ``reset_at``): ``per: 1d`` resets at 00:00 GMT like DHL
    and FedEx daily quotas. Default: ``calendar`` when ``reset_at``/``utc_offset`` is given or
    ``per`` is an hour or more, else ``bucket``.
    """

    type: Literal["quota"]
    limit: int = Field(gt=0)
    per: Duration = Field(gt=0)
    window: Literal["bucket", "sliding", "fixed", "calendar"] | None = None
    scope: Scope = "key"
    reset_at: TimeOfDay | None = None
    utc_offset: UtcOffset | None = None

    @property
    def effective_window(self) -> str:
        if self.window is not None:
            return self.window
        if self.reset_at is not None or self.utc_offset is not None or self.per >= 3600:
            return "calendar"
        return "bucket"


class ConcurrencySpec(BehaviourBase):
    """At most ``limit`` requests in flight per ``scope``; more get 429 with ``retry_after``."""

    type: Literal["concurrency"]
    limit: int = Field(gt=0)
    scope: Scope = "global"
    retry_after: Duration = 1.0


class BlockSpec(BehaviourBase):
    """Ban escalation: after ``violations`` refused requests (quota or concurrency) within
    ``within``, the caller is banned; during a ban every request gets ``status`` in ``form``.

    Ban lengths: ``escalate`` lists them for the 1st, 2nd, … ban (the last repeats), else every
    ban lasts ``ban``; with ``permanent``, the ban after the list is used up never ends. Past
    bans are forgotten ``cooldown`` after the last ban ended. ``form``: ``reply`` (the
    personality's blocked answer), ``waf`` (HTML denial page), ``reset`` (connection closed),
    ``hang`` (nothing sent for ``hang``).
    """

    type: Literal["block"]
    violations: int = Field(gt=0)
    within: Duration = Field(gt=0)
    ban: Duration | None = Field(default=None, gt=0)
    escalate: tuple[Duration, ...] = ()
    permanent: bool = False
    cooldown: Duration = 86400.0
    status: Literal[401, 403, 429] = 403
    scope: Literal["key", "ip"] = "key"
    form: Literal["reply", "waf", "reset", "hang"] = "reply"
    hang: Duration = 30.0

    @model_validator(mode="after")
    def _has_length(self) -> BlockSpec:
        if self.ban is None and not self.escalate:
            raise ValueError("a block needs 'ban' (e.g. ban: 2h) or 'escalate' (e.g. [10m, 2h])")
        if any(length <= 0 for length in self.escalate):
            raise ValueError("escalate: ban lengths must be positive")
        return self

    @property
    def lengths(self) -> tuple[float, ...]:
        """Ban lengths in order, store seconds."""
        return self.escalate or ((self.ban or 0.0),)


class FaultSpec(BehaviourBase):
    """An injected fault on a ``rate`` share of requests (times the wrapper's ``probability``).

    Before answering: ``5xx`` (HTTP ``status``), ``reset`` (connection closed, no response),
    ``hang`` (nothing sent for ``hang``). On an otherwise good answer: ``malformed`` (invalid
    JSON), ``truncated`` (only ``cut`` of the body; ``honest: false`` promises the full length
    and closes early), ``slow-body`` (body dribbled over ``body``).
    """

    type: Literal["fault"]
    kind: Literal["5xx", "reset", "hang", "malformed", "truncated", "slow-body"]
    rate: Probability = 1.0
    status: int = Field(default=503, ge=500, le=599)
    hang: Duration = 30.0
    body: Duration = 20.0
    cut: float = Field(default=0.5, ge=0.0, lt=1.0)
    honest: bool = True
    """``truncated``: Content-Length matches the cut body (else the full length is promised)."""


AnyBehaviourSpec = (
    LatencySpec | CongestionSpec | QuotaSpec | ConcurrencySpec | BlockSpec | FaultSpec
)

BehaviourSpec = Annotated[AnyBehaviourSpec, Field(discriminator="type")]

_LIST: TypeAdapter[tuple[BehaviourSpec, ...]] = TypeAdapter(tuple[BehaviourSpec, ...])


def parse_behaviours(data: Iterable[Any]) -> tuple[AnyBehaviourSpec, ...]:
    """Validate a JSON/YAML list of behaviours (e.g. from the admin API); raises
    ``pydantic.ValidationError`` with every error at once."""
    return _LIST.validate_python(list(data))


def dump_behaviours(specs: Iterable[AnyBehaviourSpec]) -> list[dict[str, Any]]:
    """Specs as JSON-ready dicts in profile syntax (fields left at their default omitted)."""
    return [s.model_dump(mode="json", by_alias=True, exclude_defaults=True) for s in specs]
