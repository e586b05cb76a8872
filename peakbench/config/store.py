"""The target store and, for the sandbox, its reference logistics plugin."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from peakbench.config.base import Duration, Spec


class PluginSpec(Spec):
    """The sandbox's reference plugin, modelled on direct-polling plugins (carriers.md §2).

    Every ``interval`` it enqueues one action per ``batch_size`` open shipments; a queue runner
    with Action Scheduler's semantics fires every ``tick``, claims up to ``claim_batch`` due
    actions and runs them ``concurrency`` at a time until ``time_limit`` has passed.
    """

    strategy: Literal["direct-polling"] = "direct-polling"
    interval: Duration = Field(default=3600.0, gt=0)
    batch_size: int = Field(default=35, gt=0, le=1000)
    concurrency: int = Field(default=1, gt=0, le=64)
    claim_batch: int = Field(default=25, gt=0)
    time_limit: Duration = Field(default=30.0, gt=0)
    tick: Duration = Field(default=60.0, gt=0)
    request_timeout: Duration = Field(default=10.0, gt=0)
    on_throttle: Literal["ignore", "stop-run", "backoff"] = "ignore"
    """On a 429/403: ``ignore`` logs it and moves on (like most plugins), ``stop-run`` ends the
    queue run, ``backoff`` postpones the action by Retry-After (or doubles its delay)."""


class SandboxTarget(Spec):
    kind: Literal["sandbox"] = "sandbox"
    plugin: PluginSpec = PluginSpec()
