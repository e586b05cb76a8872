"""Sizes in bytes as people write them in flags and environment variables: ``65536``, ``64K``,
``64KiB``, ``16MB``, ``1.5G``. Every unit is a power of 1024 (a journal segment or a disk reserve
is counted in the units ``ls -h`` and ``df -h`` show)."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_bytes(text: str) -> int:
    """``"64M"`` → 67108864; plain digits are bytes. ValueError naming the input otherwise."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"expected a size like 64M, 16MiB or 65536, got {text!r}")
    power = " KMGTP".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * (1 << (10 * power)))
