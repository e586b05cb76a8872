"""Webhook push of a carrier personality that pushes (aftership, 17track, easypost, trackship).

An aggregator learns of a carrier scan only on its next poll of the carrier (its *cadence*), and
then POSTs the new state to the store, retrying on non-2xx or timeout with its vendor's schedule.
Defaults per personality follow reference/carriers.md §1; the ones marked [UNV] there are
assumptions, which is why every one of them can be overridden here::

    push:
      url: http://127.0.0.1:8080/wp-json/wc/v1/tracking-webhook   # or a path: /wp-json/...
      cadence: {min: 2h, max: 6h}
      retries: aftership            # a preset name, or a list of delays: [5m, 1h, 6h]
      timeout: 5s
      concurrency: 8
      secret_env: PEAKBENCH_PUSH_SECRET
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from peakbench.config.base import Duration, Spec

HOUR = 3600.0

RetryPreset = Literal[
    "aftership", "trackingmore", "17track", "easypost", "dhl", "track123", "trackship", "none"
]

RETRY_PRESETS: dict[str, tuple[float, ...]] = {
    # 14 tries, the n-th retry 2^n × 30 s after the previous one: ~68 h in all [V]
    "aftership": tuple(30.0 * 2**n for n in range(13)),
    "trackingmore": tuple(30.0 * 2**n for n in range(13)),
    # [UNV]: 17TRACK does not publish its schedule; three retries within about 1.7 h
    "17track": (600.0, 1800.0, 3600.0),
    # [V] "progressive backoff for about 24 h"; the steps themselves are our assumption
    "easypost": (*(60.0 * 2**n for n in range(6)), HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 8 * HOUR),
    # [V] retries 1 h and 6 h after the first try
    "dhl": (HOUR, 5 * HOUR),
    # [V] 7 tries at 0, 10 m, 30 m, 1 h, 4 h, 12 h, 36 h (read as offsets from the first try)
    "track123": (600.0, 1200.0, 1800.0, 3 * HOUR, 8 * HOUR, 24 * HOUR),
    # [UNV]: TrackShip's own retry policy is unpublished; two retries, 5 min and 1 h later
    "trackship": (300.0, HOUR),
    "none": (),
}
"""Retry schedules as the delays (store seconds) from a failed try to the next one."""

DEFAULT_RETRIES: dict[str, str] = {
    "aftership": "aftership",
    "17track": "17track",
    "easypost": "easypost",
    "trackship": "trackship",
    "dhl": "dhl",
}
"""Personality → its vendor's retry preset (``none`` for personalities not listed)."""

DEFAULT_CADENCE: dict[str, tuple[float, float]] = {
    "trackship": (2 * HOUR, 6 * HOUR),  # [V]
    "17track": (6 * HOUR, 12 * HOUR),  # [3P]
    "aftership": (3 * HOUR, 6 * HOUR),  # [UNV] TrackingMore's published 3 h / 6 h
    "easypost": (1 * HOUR, 4 * HOUR),  # [UNV]
}
"""Personality → aggregator poll interval per number, ``(min, max)`` store seconds."""

_FALLBACK_CADENCE = (2 * HOUR, 6 * HOUR)


class CadenceSpec(Spec):
    """The aggregator's poll interval per tracked number: uniform in [``min``, ``max``], seeded."""

    min: Duration = Field(gt=0)
    max: Duration = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> CadenceSpec:
        if self.max < self.min:
            raise ValueError("cadence max must be at least min")
        return self


class PushSpec(Spec):
    """Webhook delivery of one pushing carrier (see the module docstring for an example)."""

    url: str
    """Webhook target: an absolute ``http(s)://`` URL, or a path joined to the store's base URL
    that the fleet server is given at run time (the sandbox store's port is not known before)."""
    cadence: CadenceSpec | None = None
    """Aggregator poll interval per number; default per personality (TrackShip 2–6 h, 17TRACK
    6–12 h, AfterShip 3–6 h [UNV], EasyPost 1–4 h [UNV])."""
    first_poll: Duration = 0.0
    """Store seconds from a number's registration to the aggregator's first poll of it."""
    retries: RetryPreset | tuple[Duration, ...] | None = None
    """Delays (store seconds) between tries after a non-2xx answer or a timeout, or a preset
    name from :data:`RETRY_PRESETS`; default: the personality's vendor preset."""
    timeout: Duration = Field(default=5.0, gt=0)
    """Store seconds to wait for the store's answer (floored at a couple of wall seconds,
    since round trips do not scale)."""
    concurrency: int = Field(default=8, gt=0, le=1024)
    """Most POSTs in flight at once."""
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the environment variable holding the signing secret (never the secret)."""
    store_auth: bool | None = None
    """Send WooCommerce REST auth (Basic ``consumer_key:consumer_secret`` from
    ``PEAKBENCH_STORE_CREDENTIALS``); default: on for ``trackship`` only."""

    ca_file: str | None = None
    """PEM file of a CA the push client trusts for the store's certificate (a staging store's
    local CA, e.g. ``ca.pem`` from ``peakbench mocks ca``), besides the system's."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://", "/")):
            raise ValueError(
                f"expected an http(s):// URL or a path starting with '/', got {value!r}"
            )
        return value

    def cadence_for(self, personality: str) -> tuple[float, float]:
        """``(min, max)`` poll interval in store seconds for a carrier of ``personality``."""
        if self.cadence is not None:
            return self.cadence.min, self.cadence.max
        return DEFAULT_CADENCE.get(personality, _FALLBACK_CADENCE)

    def retry_delays(self, personality: str) -> tuple[float, ...]:
        """Store seconds from each failed try to the next; its length is the number of retries."""
        if isinstance(self.retries, tuple):
            return self.retries
        return RETRY_PRESETS[self.retries or DEFAULT_RETRIES.get(personality, "none")]

    def uses_store_auth(self, personality: str) -> bool:
        """Whether pushes carry the store's WooCommerce REST credentials."""
        return personality == "trackship" if self.store_auth is None else self.store_auth
