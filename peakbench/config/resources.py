"""The profile's ``resources:`` section: how a run samples its processes and when growth is a leak.

Sampled and judged by :mod:`peakbench.measure.resources`; slopes are per wall hour."""

from __future__ import annotations

from pydantic import Field

from peakbench.config.base import Spec


class ResourcesSpec(Spec):
    """How a run samples its processes and when growth is a leak (profile key ``resources``).

    Slopes are per *wall* hour: leaks grow with the work done and the time the process lives,
    and a soak runs hours of wall time whatever its clock scale."""

    interval_wall_s: float = Field(default=5.0, ge=0.2, le=600.0)
    """Wall seconds between samples."""
    warmup_wall_s: float = Field(default=60.0, ge=0.0)
    """Samples of the first wall seconds (imports, caches, connection pools filling) are left
    out of the slope."""
    rss_mb_per_hour: float = Field(default=60.0, gt=0)
    """Resident memory growth (MiB per wall hour) above which a process leaks ..."""
    rss_mb_floor: float = Field(default=24.0, ge=0)
    """... when its fitted growth over the window is also above this (MiB)."""
    fds_per_hour: float = Field(default=30.0, gt=0)
    """Open file descriptors per wall hour ..."""
    fds_floor: float = Field(default=8.0, ge=0)
    threads_per_hour: float = Field(default=20.0, gt=0)
    """Threads per wall hour ..."""
    threads_floor: float = Field(default=4.0, ge=0)

    def limit(self, metric: str) -> tuple[float, float]:
        """``(slope per wall hour, floor)`` of ``metric`` (``rss_mb``, ``fds`` or ``threads``)."""
        return {
            "rss_mb": (self.rss_mb_per_hour, self.rss_mb_floor),
            "fds": (self.fds_per_hour, self.fds_floor),
            "threads": (self.threads_per_hour, self.threads_floor),
        }[metric]
