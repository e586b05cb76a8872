"""The run's child processes: the virtual world, or the carrier mocks, the sandbox store and
Locust; started, watched once a wall second, and ended (with every process below them).

:class:`Processes` is the part of :class:`peakbench.run.orchestrator.Run` that owns children;
the attributes and steps it reads from the run are declared here and set by ``Run``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live

from peakbench.adapters.woocommerce import Credentials
from peakbench.config.profile import Profile
from peakbench.config.targets import ShopifyTarget, WooCommerceTarget
from peakbench.measure.faults import (
    CHILD_DIED,
    DISK_FULL,
    HANG,
    WRITE_FAILURE,
    FaultLog,
    FaultPolicy,
    sweep,
)
from peakbench.measure.live import LiveFigures
from peakbench.measure.resources import ResourceSampler
from peakbench.measure.results import write_json
from peakbench.plan.clock import ClockSpec, WallClock
from peakbench.plan.schedule import Item
from peakbench.report.console import progress_line, progress_table
from peakbench.run import forked
from peakbench.run.children import Child
from peakbench.run.launch import locustfile, mocks_argv, replay_config, store_argv, store_config
from peakbench.run.loadgen import Scale, free_port, locust_argv
from peakbench.run.watch import Stop, Watch, exit_text

log = logging.getLogger("peakbench.run.orchestrator")

WORLD_MODULE = "mocks.virtual.world"
"""The virtual-time world's module: its ``main(argv, environ)`` is ``python -m mocks.virtual``.
Named, never imported here (``peakbench`` does not import ``mocks``): a child runs it."""


def preload_world() -> None:
    """Import the world's modules into this process now, so that a run whose ``fork_world`` is
    on forks its world from here instead of starting a new interpreter for it."""
    forked.preload(WORLD_MODULE)


def prepare_world(profile: Profile, items: Iterable[Item]) -> None:
    """In a process that forks its worlds (it preloaded them): render now what every world of
    this schedule will serve, so each forked world inherits it instead of rendering it again
    (``mocks.virtual.world.prepare``). Elsewhere, nothing: a new process would not inherit it."""
    if forked.preloaded(WORLD_MODULE) is None:
        return
    prepare = sys.modules[WORLD_MODULE].prepare
    prepare(profile.fleet, [(i.carrier, i.tracking_number) for i in items if i.kind == "ship"])


def real_url(target: WooCommerceTarget | ShopifyTarget) -> str:
    """A real store's base URL (a Shopify store's ``https://<shop>``)."""
    return target.url if isinstance(target, WooCommerceTarget) else f"https://{target.shop}"


def _warm_up_reports() -> None:
    """:func:`peakbench.report.html.warm_up`, in a thread; a failure here is the report's to
    raise later, in its own words."""
    with contextlib.suppress(Exception):
        from peakbench.report.html import warm_up

        warm_up()


class WorldProgress:
    """The console's view of a virtual run while its world runs: the progress table on a
    terminal, a progress line every 2 wall seconds otherwise, from the files the world wrote."""

    def __init__(self, profile: Profile, root: Path, console: Console) -> None:
        self.figures = LiveFigures(profile, root, profile.start_epoch)
        self.console = console
        self.tty = console.is_terminal
        self._last_line = 0.0
        self._live = Live(
            progress_table(self.figures.poll(0.0), None),
            console=console,
            refresh_per_second=4,
            transient=True,
            auto_refresh=self.tty,
        )

    def __enter__(self) -> WorldProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.__exit__(*exc)

    def show(self, t: float) -> None:
        """The figures up to store second ``t``."""
        snap = self.figures.poll(t)
        if self.tty:
            self._live.update(progress_table(snap, None))
        elif time.monotonic() - self._last_line >= 2:
            self.console.print(progress_line(snap), highlight=False)
            self._last_line = time.monotonic()

    def last(self, end: float) -> None:
        """The figures at the end the world reached (a last line without a terminal)."""
        snap = self.figures.poll(end)
        if not self.tty:
            self.console.print(progress_line(snap), highlight=False)


class Processes:
    """Child processes of a run (mixed into :class:`peakbench.run.orchestrator.Run`)."""

    profile: Profile
    console: Console
    scale: Scale
    policy: FaultPolicy
    children: list[Child]
    faults: FaultLog
    real: WooCommerceTarget | ShopifyTarget | None
    credentials: Credentials | None
    _fleet: dict[str, Any]
    _store_url: str | None
    _tree: dict[int, Any]
    _wall: WallClock | None
    _world: Child | None = None
    """The virtual-time world's process, once :meth:`_start_world` started it."""
    warm_reports = True
    """Load the report's machinery on the spare core while the world runs (a run that
    renders no page, or whose other core is busy, turns it off)."""
    fork_world = False
    """Start the virtual world by forking this process (:mod:`peakbench.run.forked`), when this
    process has preloaded the world (:func:`preload_world`) and runs no other thread; otherwise,
    and by default, as a new ``python -m mocks.virtual`` process. Either runs the same world."""
    live_display = True
    """Show a virtual run's figures on the console while its world runs (a run whose console
    nobody reads turns it off; what decides the run, the faults, the disk checks and the
    resource samples of ``resources.jsonl``, goes on either way)."""

    if TYPE_CHECKING:

        def _phase(self, name: str) -> None: ...
        def _fault(
            self, kind: str, child: str | None, detail: str, at: float | None = None
        ) -> None: ...
        def _check_disk(self, root: Path) -> bool: ...
        def _world_end(self, root: Path) -> float: ...

    def _child(
        self,
        root: Path,
        name: str,
        argv: list[str],
        env: dict[str, str],
        ready: str | None,
        stdin_pipe: bool = False,
        entry: forked.Entry | None = None,
    ) -> Child:
        """Start a child, logging to ``RUN/logs/NAME.log``: a new process running ``argv``, or,
        given an ``entry``, this process forked to run ``entry(argv, environ)``."""
        log = root / "logs" / f"{name}.log"
        child = (
            Child(name, argv, log, env, root / ready if ready else None, stdin_pipe=stdin_pipe)
            if entry is None
            else forked.ForkedChild(name, entry, argv, log, env, stdin_pipe=stdin_pipe)
        )
        child.start()
        self.children.append(child)
        return child

    def _remember_tree(self) -> None:
        """Note every process below each child (psutil), to end it at the end if it is left."""
        import psutil

        for child in self.children:
            if child.proc is None or child.proc.pid in self._tree:
                continue
            try:
                self._tree[child.proc.pid] = psutil.Process(child.proc.pid)
            except psutil.Error:
                continue
        for proc in list(self._tree.values()):
            try:
                for sub in proc.children(recursive=True):
                    self._tree.setdefault(sub.pid, sub)
            except psutil.Error:
                continue

    def _end_children(self, stop: Stop) -> None:
        """End every child (in reverse start order), then anything they left behind."""
        self._phase("stopping")
        self._remember_tree()
        hung = {f.child for f in self.faults.faults if f.kind == HANG}
        for child in reversed(self.children):
            grace = 2.0 if child.name in hung else 8.0
            code = child.stop(grace, lambda: stop.hurry)
            if code not in (0, None, -signal.SIGTERM) and not stop():
                self.console.print(f"[yellow]{child.name} exited with code {code}[/]")
        left = sweep(list(self._tree.values()))
        if left:
            log.warning("ended %d process(es) the children left behind: %s", len(left), left)

    def _world_forks(self) -> bool:
        """Whether this run's world will be this process forked (see :attr:`fork_world`)."""
        return self.fork_world and forked.preloaded(WORLD_MODULE) is not None and forked.can_fork()

    def _start_world(self, root: Path, env: dict[str, str]) -> Child:
        """Start the virtual-time world's process; it waits on its stdin for
        :meth:`_run_world`'s go, and a parent that never says go ends it by closing the pipe. A
        new process is started before the run folder holds its inputs, to import (about half a
        second) while the plan is made; a forked world (:meth:`_world_forks`) has nothing to
        import and is started once planned, to inherit what :func:`prepare_world` rendered."""
        args = ["--run", str(root), "--wait", *self._world_args()]
        entry = forked.preloaded(WORLD_MODULE)
        if entry is not None and self._world_forks():
            self._world = self._child(root, "world", args, env, None, True, entry)
        else:
            argv = [sys.executable, "-m", "mocks.virtual", *args]
            self._world = self._child(root, "world", argv, env, None, stdin_pipe=True)
        return self._world

    def _world_args(self) -> list[str]:
        """Arguments the world gets besides its run folder (none here)."""
        return []

    def _write_world_inputs(self, root: Path) -> None:
        """``store.json`` and ``world.json``: what the world reads besides the fleet."""
        profile = self.profile
        names = {c.name: {"base_url": "", "personality": c.personality} for c in profile.carriers}
        write_json(root / "store.json", store_config(profile, {"carriers": names}))
        write_json(root / "world.json", {"duration": profile.clock.duration, "seed": profile.seed})

    def _run_world(self, root: Path, env: dict[str, str], stop: Stop) -> float:
        """Run the sandbox world in virtual store time (one child, no sockets, no Locust) and
        follow it; the store time it reached."""
        profile = self.profile
        self._write_world_inputs(root)
        world = self._world or self._start_world(root, env)
        world.go()
        # the other core loads what the analysis and the report need while the world runs
        if self.warm_reports:
            threading.Thread(target=_warm_up_reports, name="warm-up", daemon=True).start()
        self._phase("replay")
        sampler = ResourceSampler(
            root, WallClock(ClockSpec(profile.start_epoch, 1.0, time.time())), profile.resources
        )
        progress = WorldProgress(profile, root, self.console) if self.live_display else None
        with progress or contextlib.nullcontext():
            while world.alive and not stop():
                if progress is not None:
                    progress.show(self._world_end(root))
                sampler.poll(self.children)
                if self._check_disk(root):
                    break
                world.wait(0.25)  # a quarter of a second, or less when the world ends
        if stop():
            world.stop(8.0, lambda: stop.hurry)
        code = world.returncode if not world.alive else None
        if code not in (0, None) and not stop():
            kind = DISK_FULL if WRITE_FAILURE.search(world.log_tail(5)) else CHILD_DIED
            self._fault(
                kind,
                "world",
                f"the virtual-time world exited with {exit_text(code)} "
                f"(last log line: {world.log_tail() or 'none'})",
            )
        end = self._world_end(root)
        if progress is not None:
            progress.last(end)
        return end

    def _launch(self, root: Path, env: dict[str, str], stop: Stop) -> None:
        store_url = real_url(self.real) if self.real is not None else None
        mocks = self._child(
            root, "mocks", mocks_argv(sys.executable, root, store_url), env, "mocks.ready.json"
        )
        self._phase("mocks")
        fleet = mocks.wait_ready(20.0, stop)
        self._fleet = fleet
        if self.real is None:
            self._phase("store")
        base_url = (
            real_url(self.real)
            if self.real is not None
            else self._launch_store(root, env, fleet, stop)
        )
        self._phase("locust")
        self._start_locust(root, base_url, env)

    def _launch_store(
        self, root: Path, env: dict[str, str], fleet: dict[str, Any], stop: Stop
    ) -> str:
        """Start the sandbox store, its plugin polling the fleet; its base URL."""
        write_json(root / "store.json", store_config(self.profile, fleet))
        argv = store_argv(sys.executable, root)
        store = self._child(root, "store", argv, env, "store.ready.json")
        self._store_url = str(store.wait_ready(20.0, stop)["base_url"])
        return self._store_url

    def _start_locust(self, root: Path, base_url: str, env: dict[str, str]) -> None:
        py = sys.executable
        write_json(root / "replay.json", replay_config(root, self.profile, self.scale, self.real))
        web_port = free_port() if self.scale.ui else None
        argv = locust_argv(
            py,
            locustfile(),
            root / "replay.json",
            base_url,
            root / "locust",
            self.profile.replay.users,
            self.scale,
            web_port,
        )
        self._child(root, "locust", argv, env, None)
        if web_port is not None:
            self.console.print(f"  Locust web UI: http://127.0.0.1:{web_port}", highlight=False)
        if self.scale.master:
            self.console.print(
                f"  Locust master: waiting for {self.scale.expect_workers} worker(s) on port "
                f"{self.scale.master_port} (peakbench run --worker --master-host THIS_HOST)",
                highlight=False,
            )

    def _watch(self, root: Path, wall: WallClock, stop: Stop) -> float:
        """Follow the run until the schedule is done and store time reaches the end."""
        duration = self.profile.clock.duration
        figures = LiveFigures(self.profile, root, wall.spec.start_epoch)
        sampler = ResourceSampler(root, wall, self.profile.resources)
        locust = next(c for c in self.children if c.name == "locust")
        servers = [c for c in self.children if c.name != "locust"]
        tty = self.console.is_terminal
        last_line = 0.0
        self._phase("replay")
        watch = Watch(self, root, locust)
        with Live(
            progress_table(figures.poll(wall.now()), wall.spec.scale),
            console=self.console,
            refresh_per_second=2,
            transient=True,
            auto_refresh=tty,
        ) as live:
            while not stop():
                t = wall.now()
                snap = figures.poll(t)
                sampler.poll(self.children)
                if tty:
                    live.update(progress_table(snap, wall.spec.scale))
                elif time.monotonic() - last_line >= 10:
                    self.console.print(progress_line(snap), highlight=False)
                    last_line = time.monotonic()
                dead = next((s for s in servers if not s.alive), None)
                if dead is not None:
                    self._fault(
                        DISK_FULL if WRITE_FAILURE.search(dead.log_tail(5)) else CHILD_DIED,
                        dead.name,
                        f"exited unexpectedly with {exit_text(dead.returncode)} "
                        f"(last log line: {dead.log_tail() or 'none'})",
                    )
                    break
                if not locust.alive:
                    code = locust.returncode
                    if code not in (0, None):
                        self._fault(
                            CHILD_DIED,
                            "locust",
                            f"the load generator exited with {exit_text(code)} "
                            f"(last log line: {locust.log_tail() or 'none'})",
                        )
                        break
                    if t >= duration:
                        break
                elif t >= duration + self.profile.replay.late_after + 20.0 * wall.spec.scale:
                    # 20 s of wall time past the last arrival: Locust is stuck, not slow
                    self._fault(HANG, "locust", "did not finish the schedule in time")
                    break
                if watch.poll():
                    break
                time.sleep(0.25)
            figures.poll(wall.now())
        watch.close()
        return max(0.0, min(wall.now(), duration))
