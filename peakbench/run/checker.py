"""The target check's parts: steps and their verdict, secrets kept out of output, the staging rule.

:class:`Checker` runs named steps and records each as a :class:`Step`; :func:`refusal` is the
one rule that keeps a run off a store not marked as staging; credentials come from the
environment only."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from rich.console import Console

from peakbench.adapters import shopify as sh
from peakbench.adapters import woocommerce as wc
from peakbench.config.targets import (
    ShopifyTarget,
    WooCommerceTarget,
    host_looks_like_staging,
)

EXIT_OK, EXIT_REFUSED, EXIT_FAILED = 0, 2, 3
Outcome = Literal["ok", "warn", "fail"]


class TargetRefused(Exception):
    """The check will not touch this target (not staging, missing credentials): exit 2."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a check: its outcome, a one-line detail and how long it took (wall s)."""

    name: str
    outcome: Outcome
    detail: str
    seconds: float


class Secrets:
    """Every secret value in play; :meth:`scrub` blanks them (and signed query values) in text."""

    _QUERY = re.compile(r"(consumer_key|consumer_secret|oauth_signature)=[^&\s'\"]+")

    def __init__(self, *values: str) -> None:
        self._values = sorted({v for v in values if v}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return self._QUERY.sub(r"\1=***", text)


def refusal(target: WooCommerceTarget | ShopifyTarget, allow_production: bool) -> str | None:
    """Why a real target must not be checked or loaded, or ``None``; one line."""
    if allow_production:
        return None
    if not target.staging:
        return (
            f"refusing {target.host}: the profile does not mark it as staging "
            "(set target.staging: true, or pass --allow-production)"
        )
    if isinstance(target, WooCommerceTarget) and not host_looks_like_staging(target.host):
        return (
            f"refusing {target.host}: it looks like a production host (no staging, dev or test "
            "in its name); pass --allow-production if it really is a staging store"
        )
    return None


def _env(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "")
    if not value.strip():
        raise TargetRefused(f"missing credentials: set the environment variable {name} ({what})")
    return value.strip()


def woocommerce_credentials(target: WooCommerceTarget, env: Mapping[str, str]) -> wc.Credentials:
    """The consumer key and secret from the variables the profile names; TargetRefused."""
    key = _env(env, target.key_env, "the WooCommerce consumer key, ck_…")
    return wc.Credentials(key, _env(env, target.secret_env, "the WooCommerce consumer secret"))


def shopify_token(target: ShopifyTarget, env: Mapping[str, str]) -> str:
    return _env(env, target.token_env, "the Shopify Admin API access token, shpat_…")


class Checker:
    """Runs steps in order, prints each as it ends, stops at the first failure."""

    def __init__(self, console: Console, secrets_: Secrets) -> None:
        self.console = console
        self.secrets = secrets_
        self.steps: list[Step] = []

    @property
    def failed(self) -> bool:
        return any(s.outcome == "fail" for s in self.steps)

    def record(self, name: str, outcome: Outcome, detail: str, seconds: float) -> None:
        step = Step(name, outcome, self.secrets.scrub(detail), seconds)
        self.steps.append(step)
        mark = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}[outcome]
        self.console.print(
            f"  {mark} {name:<14} {seconds * 1000:7.0f} ms  ",
            end="",
            highlight=False,
        )
        self.console.print(step.detail, markup=False, highlight=False, soft_wrap=True)

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """``with checker.step("shipped") as s: s["detail"] = …`` — an exception fails the
        step with its message; ``s["outcome"] = "warn"`` marks a warning."""
        state: dict[str, Any] = {"outcome": "ok", "detail": ""}
        began = time.perf_counter()
        try:
            yield state
        except (httpx.HTTPError, ValueError, sh.ShopifyError, KeyError, TypeError) as exc:
            kind = type(exc).__name__
            self.record(name, "fail", f"{kind}: {exc}", time.perf_counter() - began)
            raise _StepFailed from None
        self.record(name, state["outcome"], state["detail"], time.perf_counter() - began)
        if state["outcome"] == "fail":
            raise _StepFailed


class _StepFailed(Exception):
    pass


def exit_code(steps: list[Step]) -> int:
    return EXIT_FAILED if any(s.outcome == "fail" for s in steps) else EXIT_OK
