"""How a run keeps watch: signals turned into a flag (:class:`Stop`) and the fault detectors
polled once a wall second from the run's loop (:class:`Watch`, docs/faults.md)."""

from __future__ import annotations

import json
import signal
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from peakbench.adapters.woocommerce import Credentials
from peakbench.config.profile import Profile
from peakbench.config.targets import ShopifyTarget, WooCommerceTarget
from peakbench.measure.faults import (
    DISK_FULL,
    HANG,
    OUTPUT_CLOSED,
    WORKER_LOST,
    DiskGuard,
    FaultPolicy,
    LogWatch,
    Probe,
    WorkerWatch,
    dropped_lines,
)
from peakbench.measure.probe_queue import JOURNAL, QueueSampler
from peakbench.plan.clock import WallClock
from peakbench.run.children import Child
from peakbench.run.loadgen import Scale
from peakbench.run.output import on_closed
from peakbench.run.preflight import tls_verify


class Watched(Protocol):
    """What the watch reads from the run it watches and the two calls it makes back
    (:class:`peakbench.run.orchestrator.Run` is one; the watch never imports it)."""

    @property
    def profile(self) -> Profile: ...
    @property
    def policy(self) -> FaultPolicy: ...
    @property
    def scale(self) -> Scale: ...
    @property
    def children(self) -> list[Child]: ...
    @property
    def real(self) -> WooCommerceTarget | ShopifyTarget | None: ...
    @property
    def credentials(self) -> Credentials | None: ...
    @property
    def _store_url(self) -> str | None: ...
    @property
    def _fleet(self) -> dict[str, Any]: ...
    @property
    def _wall(self) -> WallClock | None: ...
    def _remember_tree(self) -> None: ...
    def _fault(
        self, kind: str, child: str | None, detail: str, at: float | None = None
    ) -> None: ...


class Stop:
    """Turns SIGINT/SIGTERM into a flag the run loop checks; remembers each signal with the
    run's phase at that moment. A second one means hurry: children are killed without grace."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.phase = "planning"
        self.count = 0
        self.events: list[tuple[str, str, float, int]] = []
        """(signal name, phase, time.time(), how many so far) not yet recorded as faults;
        the name is ``output_closed`` when standard output's reader went away."""
        self._old: dict[int, Any] = {}
        self._unsubscribe: Callable[[], None] = lambda: None

    def __enter__(self) -> Stop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        self._unsubscribe = on_closed(self._output_closed)
        return self

    def _output_closed(self) -> None:
        """Standard output's reader went away: stop like on a signal, but it is not one
        (``count`` and ``hurry`` are about signals only)."""
        self.reason = self.reason or OUTPUT_CLOSED
        self.events.append((OUTPUT_CLOSED, self.phase, time.time(), self.count))

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.reason = signal.Signals(signum).name
        self.count += 1
        self.events.append((self.reason, self.phase, time.time(), self.count))

    @property
    def hurry(self) -> bool:
        return self.count >= 2

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._unsubscribe()

    def __call__(self) -> bool:
        return self.reason is not None


def exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


class Watch:
    """The run's fault detectors, polled once a wall second from the watch loop: health probes
    of the store and the carriers (hang; journal lines a carrier could not write), the children's
    logs (write failures), free space on the results volume, Locust's local workers."""

    def __init__(self, run: Watched, root: Path, locust: Child) -> None:
        self.run = run
        self.root = root
        policy = run.policy
        now = time.monotonic()
        self.probes: list[tuple[str, Probe]] = []
        if run._store_url is not None:
            self.probes.append(("store", Probe(f"{run._store_url}/__admin/health", policy, now)))
        urls = sorted({c["base_url"] for c in run._fleet.get("carriers", {}).values()})
        tls_dir = run.profile.fleet.listen.tls_dir  # an HTTPS fleet: trust its local CA
        verify: bool | ssl.SSLContext = True
        if tls_dir is not None:
            verify = ssl.create_default_context(cafile=str(Path(tls_dir) / "ca.pem"))
        for url in urls:
            self.probes.append(("mocks", Probe(f"{url}/__admin/counters", policy, now, verify)))
        self.logs = [(c.name, LogWatch(c.log)) for c in run.children]
        self.disk = DiskGuard(root, policy.disk_reserve_bytes)
        processes = run.scale.processes
        self.workers = (
            WorkerWatch(locust.proc.pid, processes)
            if processes > 1 and locust.proc is not None
            else None
        )
        self.locust = locust
        self.queue = queue_sampler(run, root)
        """The real store's queue probe, when the target asks for it."""
        self._next = 0.0
        self._lost: str | None = None

    def poll(self) -> bool:
        """Check every detector (at most once a wall second); whether a fault was recorded."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + 1.0
        run = self.run
        run._remember_tree()
        if self.queue is not None:
            self.queue.poll(now)
        disk = self.disk.check()
        if disk is not None:
            run._fault(DISK_FULL, None, disk)
            return True
        for name, watch in self.logs:
            failed = watch.check()
            if failed is not None:
                run._fault(DISK_FULL, name, failed)
                return True
        for name, probe in self.probes:
            hung, answer = probe.check(time.monotonic())
            if hung is not None:
                run._fault(HANG, name, hung)
                return True
            dropped = dropped_lines(answer)
            if dropped:
                run._fault(DISK_FULL, name, f"{dropped} journal line(s) could not be written")
                return True
        if self.workers is not None and self.locust.alive and not self._replay_finished():
            lost = self.workers.check()
            # workers end by design once their share is done, and the master may write that
            # a second later: a loss counts only if the replay is still unfinished a poll later
            if lost is not None and self._lost is not None:
                run._fault(WORKER_LOST, "locust", self._lost)
                return True
            self._lost = lost
        return False

    def _replay_finished(self) -> bool:
        """Locust's master says the schedule is done (its workers then end by design)."""
        try:
            return bool(json.loads((self.root / "progress.json").read_text()).get("finished"))
        except (OSError, ValueError, AttributeError):
            return False

    def close(self) -> None:
        for _, probe in self.probes:
            probe.close()
        if self.queue is not None:
            self.queue.close()


def queue_sampler(run: Watched, root: Path) -> QueueSampler | None:
    """A queue sampler for a real WooCommerce target whose profile has ``queue_probe``."""
    target = run.real
    if not isinstance(target, WooCommerceTarget) or target.queue_probe is None:
        return None
    if run.credentials is None:
        return None
    wall = run._wall
    if wall is None:
        return None
    return QueueSampler(
        target, run.credentials, root / "journals" / JOURNAL, wall.now, tls_verify(target)
    )
