"""How every report writes a duration, an instant, a share and an amount of money.

One way each, everywhere (console, ``summary.md``, ``report.html``, the explanation):

- a duration: ``250 ms``, ``4.5 s``, ``12 s``, ``4 min 40 s``, ``8 h 38 min``, ``1 d 7 h``
  (two units at most, rounded to the smaller one);
- an instant: store calendar time in GMT, ``Fri 27 Nov 17:00 GMT`` (a quota resets at 00:00
  GMT, so GMT is the clock the carriers keep);
- a share: a percentage, ``41%`` (one decimal below 10%: ``9.1%``, ``0.5%``);
- money: ``$8.01`` for USD, ``8.01 EUR`` for any other currency.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

DASH = "–"
_STEPS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
SYMBOLS = {"USD": "$"}


def duration(seconds: float | None) -> str:
    """``seconds`` of store time for people: ``8 h 38 min``; ``–`` for no value."""
    if seconds is None:
        return DASH
    if seconds != seconds:  # NaN
        return "n/a"
    if seconds < 0:
        return "-" + duration(-seconds)
    for i, (unit, size) in enumerate(_STEPS[:-1]):
        small_unit, small = _STEPS[i + 1]
        total = round(seconds / small)  # rounded to the smaller unit shown
        if total * small >= size:
            big, rest = divmod(total, size // small)
            return f"{big} {unit}" + (f" {rest} {small_unit}" if rest else "")
    if seconds == 0:
        return "0 s"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10 and round(seconds, 1) != round(seconds):
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"


def instant(epoch: float) -> str:
    """A Unix time as store calendar time in GMT: ``Fri 27 Nov 17:00 GMT``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%a %d %b %H:%M GMT")


def start_epoch(summary: dict[str, Any]) -> float | None:
    """Unix time of run second 0, from ``summary["clock"]["start_iso"]`` (``None`` if absent)."""
    text = (summary.get("clock") or {}).get("start_iso")
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def at(summary: dict[str, Any], t: float) -> str:
    """Run second ``t`` as an instant (``+{duration}`` into the run when the start is unknown)."""
    start = start_epoch(summary)
    return f"+{duration(t)}" if start is None else instant(start + t)


def share(value: float | None) -> str:
    """A share in [0, 1] as a percentage: ``41%``, ``9.1%``, ``0.5%``, ``0%``."""
    if value is None:
        return DASH
    pct = 100 * value
    if 0 < abs(pct) < 9.95:
        return f"{pct:.1f}%"
    return f"{pct:.0f}%"


def money(amount: float | None, currency: str = "USD") -> str:
    """``$167.40`` for USD, ``167.40 EUR`` otherwise; whole units from 1,000 up."""
    if amount is None:
        return DASH
    text = f"{amount:,.0f}" if abs(amount) >= 1000 else f"{amount:,.2f}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
