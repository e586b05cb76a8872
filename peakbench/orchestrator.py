"""The composition root of a run: profile → fleet → store → replay → analysis → verdict.

Steps (DESIGN.md "A run"): validate; plan the schedule; start the carrier fleet and the sandbox
store as child processes sharing one clock; replay the schedule with Locust; drain; analyse the
journals; write the results atomically; exit with the gate's code. Against a real WooCommerce
staging store (``target.kind: woocommerce``, preflighted by the caller) no store is started: the
store's own plugin reaches the fleet, and Locust drives the store at ``target.url`` with the
credentials passed in its environment only. Ctrl-C or SIGTERM at any step
ends every child and still writes the partial results, marked partial.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.live import Live

from peakbench.adapters.woocommerce import Credentials
from peakbench.analysis import analyse
from peakbench.children import Child, ChildError
from peakbench.clock import ClockSpec, WallClock
from peakbench.config.profile import Profile
from peakbench.config.targets import WooCommerceTarget
from peakbench.live import LiveFigures
from peakbench.loadgen import Scale, free_port, locust_argv
from peakbench.planner import build_plan
from peakbench.report.console import progress_line, progress_table, render_summary
from peakbench.results import new_run_dir, redact, run_record, write_json
from peakbench.schedule import write_schedule
from peakbench.slo import regate

log = logging.getLogger("peakbench.orchestrator")

EXIT_PASSED, EXIT_SLO_FAILED, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class RunOutcome:
    root: Path
    summary: dict[str, Any]
    exit_code: int


def exit_code_for(summary: dict[str, Any]) -> int:
    if not summary["valid"]:
        return EXIT_INVALID
    return EXIT_PASSED if summary["slo"]["passed"] else EXIT_SLO_FAILED


def _locustfile() -> Path:
    spec = importlib.util.find_spec("loadtests")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "locustfile.py"


class _Stop:
    """Turns SIGINT/SIGTERM into a flag the run loop checks."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.reason = signal.Signals(signum).name

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def __call__(self) -> bool:
        return self.reason is not None


class Run:
    """One run of a profile against the sandbox store or a real WooCommerce staging store
    (``credentials``: that store's, from the environment variables its profile names)."""

    def __init__(
        self,
        profile: Profile,
        source: str,
        results: Path,
        console: Console,
        argv: list[str] | None = None,
        baseline: Path | None = None,
        scale: Scale | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.profile = profile
        self.real = profile.target if isinstance(profile.target, WooCommerceTarget) else None
        if self.real is not None and credentials is None:
            raise ValueError("a woocommerce target needs its credentials")
        self.credentials = credentials
        self.scale = scale or Scale()
        """How many Locust processes replay the schedule, and where (``--processes``, ...)."""
        self.baseline = baseline
        """A baseline run folder for relative SLOs (checked by the caller before the run)."""
        self.source = source
        self.results = results
        self.console = console
        self.argv = argv or []
        self.children: list[Child] = []
        self.problems: list[str] = []

    def _child(
        self, root: Path, name: str, argv: list[str], env: dict[str, str], ready: str | None
    ) -> Child:
        child = Child(
            name, argv, root / "logs" / f"{name}.log", env, root / ready if ready else None
        )
        child.start()
        self.children.append(child)
        return child

    def execute(self) -> RunOutcome:
        profile = self.profile
        plan = build_plan(profile)
        root = new_run_dir(self.results, profile.name)
        write_schedule(root / "schedule.csv", plan.items)
        self.console.print(
            f"[bold]peakbench[/] {profile.name}: {plan.orders:,} orders, {plan.shipments:,} "
            f"shipments, {plan.views:,} views over {profile.clock.duration / 3600:g} h of store "
            f"time at ×{profile.clock.scale:g} (≈{profile.clock.duration / profile.clock.scale:.0f}"
            f" s wall)\n  results: {root}"
        )
        clock = ClockSpec(
            profile.start_epoch, profile.clock.scale, time.time() + profile.replay.warmup_wall_s
        )
        write_json(root / "run.json", run_record(profile, clock, self.source, self.argv))
        write_json(root / "clock.json", clock.to_json())
        write_json(root / "fleet.json", profile.fleet.model_dump(mode="json"))
        if self.credentials is not None:
            # a real store's plugin brings its own carrier keys: the fleet accepts those the
            # caller's PEAKBENCH_CARRIER_KEYS names, or any (docs/staging-wordpress.md)
            c = self.credentials
            creds = {"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret}
            env = {"PEAKBENCH_STORE_CREDENTIALS": json.dumps(creds)}
        else:
            carrier_keys = {c.name: [f"pk_{secrets.token_hex(12)}"] for c in profile.carriers}
            creds = {
                "consumer_key": f"ck_{secrets.token_hex(20)}",
                "consumer_secret": f"cs_{secrets.token_hex(20)}",
            }
            env = {
                "PEAKBENCH_CARRIER_KEYS": json.dumps(carrier_keys),
                "PEAKBENCH_STORE_CREDENTIALS": json.dumps(creds),
            }
        wall = WallClock(clock)
        end = 0.0
        with _Stop() as stop:
            try:
                self._launch(root, env, stop)
                end = self._watch(root, wall, stop)
            except ChildError as exc:
                self.problems.append(str(exc))
                end = max(0.0, min(wall.now(), profile.clock.duration))
            finally:
                for child in reversed(self.children):
                    code = child.stop()
                    if code not in (0, None, -signal.SIGTERM) and not stop():
                        self.console.print(f"[yellow]{child.name} exited with code {code}[/]")
            partial = stop.reason is not None
            summary = analyse(profile, clock, root, end, partial=partial)
        if self.problems:
            summary["valid"] = False
            summary["invalid_reasons"] = [*self.problems, *summary["invalid_reasons"]]
        if self.baseline is not None:
            summary = regate(profile.slo, summary, self.baseline)
        summary = redact(summary)
        write_json(root / "summary.json", summary)
        code = exit_code_for(summary)
        render_summary(self.console, summary)
        self._write_reports(root, summary)
        self.console.print(f"results: {root}")
        return RunOutcome(root, summary, code)

    def _write_reports(self, root: Path, summary: dict[str, Any]) -> None:
        """junit.xml, report.html and summary.md; a renderer's failure never changes the verdict."""
        from peakbench.report.html import write_report  # plotly: imported only when needed
        from peakbench.report.junit import write_junit
        from peakbench.report.markdown import write_markdown

        for name, write in (
            ("junit.xml", lambda: write_junit(root, summary)),
            ("report.html", lambda: write_report(root)),
            ("summary.md", lambda: write_markdown(root)),
        ):
            try:
                write()
            except Exception as exc:  # the summary is written; say what is missing and go on
                log.exception("could not write %s", name)
                self.console.print(f"[yellow]could not write {name}: {exc}[/]")

    def _launch(self, root: Path, env: dict[str, str], stop: _Stop) -> None:
        py = sys.executable
        mocks = self._child(
            root,
            "mocks",
            [
                py,
                "-m",
                "mocks",
                "serve",
                "--config",
                str(root / "fleet.json"),
                "--clock",
                str(root / "clock.json"),
                "--journal-dir",
                str(root / "journals"),
                "--ready-file",
                str(root / "mocks.ready.json"),
                # pushing carriers (push:) learn the store's URL once it listens
                *(
                    ["--store-url", self.real.url]
                    if self.real is not None
                    else ["--store-ready-file", str(root / "store.ready.json")]
                ),
            ],
            env,
            "mocks.ready.json",
        )
        fleet = mocks.wait_ready(20.0, stop)
        base_url = (
            self.real.url if self.real is not None else self._launch_store(root, env, fleet, stop)
        )
        self._start_locust(root, base_url, env)

    def _launch_store(
        self, root: Path, env: dict[str, str], fleet: dict[str, Any], stop: _Stop
    ) -> str:
        """Start the sandbox store, its plugin polling the fleet; its base URL."""
        py = sys.executable
        personalities = {c.name: c.personality for c in self.profile.carriers}
        store_cfg = {
            "plugin": self.profile.target.plugin.model_dump(mode="json"),
            "carriers": {
                name: {"base_url": c["base_url"], "personality": personalities.get(name)}
                for name, c in fleet["carriers"].items()
            },
        }
        write_json(root / "store.json", store_cfg)
        store = self._child(
            root,
            "store",
            [
                py,
                "-m",
                "mocks.store",
                "serve",
                "--config",
                str(root / "store.json"),
                "--clock",
                str(root / "clock.json"),
                "--db",
                str(root / "store.sqlite"),
                "--ready-file",
                str(root / "store.ready.json"),
            ],
            env,
            "store.ready.json",
        )
        return str(store.wait_ready(20.0, stop)["base_url"])

    def _replay_json(self, root: Path) -> dict[str, Any]:
        replay: dict[str, Any] = {
            "clock": json.loads((root / "clock.json").read_text()),
            "schedule": str(root / "schedule.csv"),
            "journal": str(root / "journals" / "replay.jsonl"),
            "progress": str(root / "progress.json"),
            "late_after": self.profile.replay.late_after,
            "drop_after": self.profile.replay.drop_after,
            "users": self.profile.replay.users,
            "workers": self.scale.workers,
        }
        if self.real is not None:
            # the store's settings, never its secrets (Locust gets those in its environment)
            replay["target"] = self.real.model_dump(mode="json")
        return replay

    def _start_locust(self, root: Path, base_url: str, env: dict[str, str]) -> None:
        py = sys.executable
        write_json(root / "replay.json", self._replay_json(root))
        web_port = free_port() if self.scale.ui else None
        argv = locust_argv(
            py,
            _locustfile(),
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

    def _watch(self, root: Path, wall: WallClock, stop: _Stop) -> float:
        """Follow the run until the schedule is done and store time reaches the end."""
        duration = self.profile.clock.duration
        figures = LiveFigures(self.profile, root, wall.spec.start_epoch)
        locust = next(c for c in self.children if c.name == "locust")
        servers = [c for c in self.children if c.name != "locust"]
        tty = self.console.is_terminal
        last_line = 0.0
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
                if tty:
                    live.update(progress_table(snap, wall.spec.scale))
                elif time.monotonic() - last_line >= 10:
                    self.console.print(progress_line(snap), highlight=False)
                    last_line = time.monotonic()
                for server in servers:
                    if not server.alive:
                        raise ChildError(
                            f"{server.name} exited unexpectedly with code "
                            f"{server.returncode}: {server.log_tail()}"
                        )
                if not locust.alive:
                    code = locust.returncode
                    if code not in (0, None):
                        raise ChildError(
                            f"the load generator exited with code {code}: {locust.log_tail()}"
                        )
                    if t >= duration:
                        break
                elif t >= duration + self.profile.replay.late_after + 20.0 * wall.spec.scale:
                    # 20 s of wall time past the last arrival: Locust is stuck, not slow
                    self.problems.append("the load generator did not finish the schedule in time")
                    break
                time.sleep(0.25)
            figures.poll(wall.now())
        return max(0.0, min(wall.now(), duration))
