"""The composition root of a run: profile → fleet → store → replay → analysis → verdict.

Steps (DESIGN.md "A run"): validate; plan the schedule; start the carrier fleet and the sandbox
store as child processes sharing one clock; replay the schedule with Locust; drain; analyse the
journals; write the results atomically; exit with the gate's code. Against a real WooCommerce
staging store (``target.kind: woocommerce``, preflighted by the caller) no store is started: the
store's own plugin reaches the fleet, and Locust drives the store at ``target.url`` with the
credentials passed in its environment only. Ctrl-C or SIGTERM at any step
ends every child and still writes the partial results, marked partial.

Faults during a run (docs/faults.md): a child that dies, a child that stops answering its health
probe, a lost Locust worker, a write failure or free space under the reserve, a signal: each is
recorded as data (``RUN/faults.jsonl`` → ``summary.json`` ``faults``), the run stops, every
process it started ends, what was measured is analysed, and the run exits 3 with the reason.
``RUN/phase.json`` says which step the run is in.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from peakbench.adapters.woocommerce import Credentials
from peakbench.config.profile import Profile
from peakbench.config.targets import ShopifyTarget, WooCommerceTarget
from peakbench.measure.explain import explain
from peakbench.measure.faults import (
    CHILD_DIED,
    DISK_FULL,
    FAULTS_FILE,
    MEASURING,
    OUTPUT_CLOSED,
    OUTPUT_CLOSED_DETAIL,
    SIGNAL,
    WRITE_FAILURE,
    DiskGuard,
    Fault,
    FaultLog,
    FaultPolicy,
    apply_faults,
)
from peakbench.measure.results import new_run_dir, redact, run_record, write_json
from peakbench.measure.slo import regate
from peakbench.plan.clock import ClockSpec, WallClock
from peakbench.plan.planner import Plan, build_plan
from peakbench.plan.schedule import write_schedule
from peakbench.report.console import render_summary
from peakbench.run.children import Child, ChildError
from peakbench.run.loadgen import Scale
from peakbench.run.processes import Processes
from peakbench.run.shopify_run import SETTINGS_FILE, precreate_wall_s, speaks_shopify
from peakbench.run.shopify_run import plan as shopify_plan
from peakbench.run.watch import Stop

log = logging.getLogger("peakbench.run.orchestrator")

EXIT_PASSED, EXIT_SLO_FAILED, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class RunOutcome:
    root: Path
    summary: dict[str, Any]
    exit_code: int
    interrupted: bool = False
    """SIGINT/SIGTERM arrived: a caller running several (candidates) should stop too."""


def exit_code_for(summary: dict[str, Any]) -> int:
    if not summary["valid"]:
        return EXIT_INVALID
    return EXIT_PASSED if summary["slo"]["passed"] else EXIT_SLO_FAILED


class Run(Processes):
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
        policy: FaultPolicy | None = None,
        shopify_token: str | None = None,
    ) -> None:
        self.profile = profile
        target = profile.target
        self.real = target if isinstance(target, WooCommerceTarget | ShopifyTarget) else None
        if isinstance(target, WooCommerceTarget) and credentials is None:
            raise ValueError("a woocommerce target needs its credentials")
        if isinstance(target, ShopifyTarget) and not shopify_token:
            raise ValueError("a shopify target needs its access token")
        self.credentials = credentials
        self.shopify_token = shopify_token
        """A real Shopify store's Admin API token (environment only, never a file)."""
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
        self.policy = policy or FaultPolicy.from_env(os.environ)
        """Health probes, hang timeout and disk reserve (``PEAKBENCH_DISK_RESERVE``, ...)."""
        self.faults = FaultLog(Path(os.devnull))
        self.phase = "planning"
        self._root: Path | None = None
        self._stop: Stop | None = None
        self._wall: WallClock | None = None
        self._tree: dict[int, Any] = {}
        """Every process seen below a child (psutil), ended at the end whatever happened."""
        self._fleet: dict[str, Any] = {}
        self._store_url: str | None = None
        self._signals_measured = 0
        """Signals received by the end of the measurement (later ones skip the reports)."""

    def execute(self) -> RunOutcome:
        with Stop() as stop:
            self._stop = stop
            return self._execute(stop)

    def _execute(self, stop: Stop) -> RunOutcome:
        profile = self.profile
        root = new_run_dir(self.results, profile.name)
        self._root = root
        self.faults = FaultLog(root / FAULTS_FILE)
        self._phase("planning")
        env = self._child_env()
        if profile.virtual and not self._world_forks():
            self._start_world(root, env)  # its imports overlap the planning; it waits for go
        # (a forked world has nothing to import: it starts once planned, inheriting the plan's
        # renders, see prepare_world)
        try:
            plan = self._plan(profile)
        except BaseException:  # nothing was planned, so nothing was measured: leave no folder
            self._end_children(stop)
            shutil.rmtree(root, ignore_errors=True)
            self._root = None
            raise
        write_schedule(root / "schedule.csv", plan.items)
        shopify = shopify_plan(profile, plan.items) if speaks_shopify(profile) else None
        if shopify is not None:  # the Shopify replay's settings (mocks/virtual, loadtests)
            write_json(root / SETTINGS_FILE, {**shopify.settings, "lead": shopify.lead})
        pace = (
            "in virtual time"
            if profile.virtual
            else f"at ×{profile.clock.scale:g} "
            f"(≈{profile.clock.duration / profile.clock.scale:.0f} s wall)"
        )
        self.console.print(
            f"[bold]peakbench[/] {profile.name}: {plan.orders:,} orders, {plan.shipments:,} "
            f"shipments, {plan.views:,} views over {profile.clock.duration / 3600:g} h of store "
            f"time {pace}\n  results: {root}"
        )
        if profile.virtual:  # store time is the world's loop time: no wall anchor, scale 1
            clock = ClockSpec(profile.start_epoch, 1.0, 0.0)
        else:
            # orders pre-created for a Shopify store are created before run second 0
            early = precreate_wall_s(shopify, profile.clock.scale) if shopify else 0.0
            clock = ClockSpec(
                profile.start_epoch,
                profile.clock.scale,
                time.time() + profile.replay.warmup_wall_s + early,
            )
        write_json(root / "run.json", run_record(profile, clock, self.source, self.argv))
        write_json(root / "clock.json", clock.to_json())
        write_json(root / "fleet.json", profile.fleet.model_dump(mode="json"))
        wall = WallClock(clock)
        self._wall = wall
        end = 0.0
        self._check_disk(root)
        try:
            if not stop() and not self.faults.faults:
                if profile.virtual:
                    end = self._run_world(root, env, stop)
                else:
                    self._launch(root, env, stop)
                    end = self._watch(root, wall, stop)
        except ChildError as exc:
            if exc.kind is not None and not stop():
                kind = exc.kind
                if kind == CHILD_DIED and WRITE_FAILURE.search(str(exc)):
                    kind = DISK_FULL  # it died because a write failed
                self._fault(kind, exc.child, str(exc))
            end = self._world_end(root) if profile.virtual else self._wall_end(wall)
        finally:
            self._end_children(stop)
        self._signals_measured = stop.count
        self._note_signals()
        self._phase("analysis")
        # a signal during the analysis leaves the measurement whole: not partial, still invalid
        partial = any(f.phase in MEASURING for f in self.faults.faults)
        from peakbench.measure.analysis import analyse  # numpy: loaded while the world ran

        summary = analyse(profile, clock, root, end, partial=partial)
        if self.problems:
            summary["valid"] = False
            summary["invalid_reasons"] = [*self.problems, *summary["invalid_reasons"]]
        if self.baseline is not None:
            summary = regate(profile.slo, summary, self.baseline)
        summary = redact(summary)
        self._note_signals()
        summary = apply_faults(summary, [asdict(f) for f in self.faults.faults])
        summary["explanation"] = explain(summary)  # validity, gate and faults are final now
        self._write_summary(root, summary)
        self._phase("reports")
        render_summary(self.console, summary)
        if summary.get("distortion", {}).get("warning"):
            self.console.print(
                f"[bold yellow]distortion:[/] {summary['distortion']['warning']}", soft_wrap=True
            )
        self._write_reports(root, summary)
        if self._note_signals():  # a signal while the reports were written
            summary = apply_faults(summary, [asdict(f) for f in self.faults.faults])
            summary["explanation"] = explain(summary)
            self._write_summary(root, summary)
        self._phase("done")
        code = exit_code_for(summary)
        self.console.print(f"results: {root}")
        if code == EXIT_INVALID:
            reasons = summary["invalid_reasons"]
            more = f" (+{len(reasons) - 1} more in summary.json)" if len(reasons) > 1 else ""
            sys.stderr.write(f"run invalid: {reasons[0] if reasons else 'unknown'}{more}\n")
            sys.stderr.flush()
        return RunOutcome(root, summary, code, stop.count > 0)

    def _plan(self, profile: Profile) -> Plan:
        """The run's schedule (a subclass whose process runs many runs of one schedule may
        keep plans)."""
        return build_plan(profile)

    def _child_env(self) -> dict[str, str]:
        """The secrets the children get through their environment (never a file): a real
        store's credentials, or fresh carrier keys and store credentials for the sandbox."""
        if self.credentials is not None or self.shopify_token is not None:
            # a real store's plugin brings its own carrier keys: the fleet accepts those the
            # caller's PEAKBENCH_CARRIER_KEYS names, or any (docs/staging-wordpress.md)
            c = self.credentials
            creds = (
                {"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret}
                if c is not None
                else {"access_token": str(self.shopify_token)}
            )
            return {"PEAKBENCH_STORE_CREDENTIALS": json.dumps(creds)}
        carrier_keys = {c.name: [f"pk_{secrets.token_hex(12)}"] for c in self.profile.carriers}
        creds = {
            "consumer_key": f"ck_{secrets.token_hex(20)}",
            "consumer_secret": f"cs_{secrets.token_hex(20)}",
        }
        if speaks_shopify(self.profile):  # the Shopify-shaped sandbox: the replay's and the app's
            creds["access_token"] = f"shpat_{secrets.token_hex(16)}"
            creds["app_token"] = f"shpat_{secrets.token_hex(16)}"
            creds["app_secret"] = secrets.token_hex(16)
        return {
            "PEAKBENCH_CARRIER_KEYS": json.dumps(carrier_keys),
            "PEAKBENCH_STORE_CREDENTIALS": json.dumps(creds),
        }

    # -- faults ---------------------------------------------------------------------------

    def _phase(self, name: str) -> None:
        """Enter a step of the run; ``RUN/phase.json`` tells an observer (and the tests) which."""
        self.phase = name
        if self._stop is not None:
            self._stop.phase = name
        if self._root is not None:
            # on a full disk the phase is a courtesy; the summary is what matters
            with contextlib.suppress(OSError):
                write_json(self._root / "phase.json", {"phase": name, "pid": os.getpid()})

    def _run_t(self, at: float | None = None) -> float:
        """Run seconds now, or at wall time ``at`` (``time.time()``)."""
        if self._wall is None:
            return 0.0
        now = self._wall.now()
        if at is not None:
            now -= (time.time() - at) * self._wall.spec.scale
        return round(now, 3)

    def _fault(self, kind: str, child: str | None, detail: str, at: float | None = None) -> None:
        fault = self.faults.record(Fault(self._run_t(at), kind, child, self.phase, detail))
        self._announce(fault)

    def _announce(self, fault: Fault) -> None:
        self.console.print(
            f"[red]fault[/] {fault.reason()} — stopping, keeping what was measured",
            highlight=False,
            soft_wrap=True,
        )

    def _note_signals(self) -> bool:
        """Record the signals received since the last call as faults; whether there were any."""
        stop = self._stop
        if stop is None or not stop.events:
            return False
        events, stop.events = stop.events, []
        for name, at_phase, at, nth_signal in events:
            nth = " again: children killed without their grace period" if nth_signal > 1 else ""
            fault = Fault(self._run_t(at), SIGNAL, None, at_phase, f"{name} received{nth}")
            if name == OUTPUT_CLOSED:  # not a signal: stdout's reader went away (| head)
                fault = Fault(self._run_t(at), name, None, at_phase, OUTPUT_CLOSED_DETAIL)
            self._announce(self.faults.record(fault))
        return True

    def _check_disk(self, root: Path) -> bool:
        detail = DiskGuard(root, self.policy.disk_reserve_bytes).check()
        if detail is not None:
            self._fault(DISK_FULL, None, detail)
        return detail is not None

    def _write_summary(self, root: Path, summary: dict[str, Any]) -> None:
        try:
            write_json(root / "summary.json", summary)
        except OSError as exc:
            self.console.print(f"[red]could not write summary.json: {exc}[/]")
            (root / ".summary.json.tmp").unlink(missing_ok=True)

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
            stop = self._stop
            if stop is not None and (stop.hurry or stop.count > self._signals_measured):
                # asked to stop after the measurement: summary.json is written, leave the rest
                self.console.print(f"[yellow]interrupted: {name} not written[/]")
                continue
            try:
                write()
            except Exception as exc:  # the summary is written; say what is missing and go on
                log.debug("could not write %s", name, exc_info=True)
                self.console.print(f"[yellow]could not write {name}: {exc}[/]")
                (root / f".{name}.tmp").unlink(missing_ok=True)  # a disk full leaves half of one

    def _wall_end(self, wall: WallClock) -> float:
        return max(0.0, min(wall.now(), self.profile.clock.duration))

    def _world_end(self, root: Path) -> float:
        """How far the virtual world got: its own last word, else its last progress file."""
        for name in ("world.done.json", "progress.json"):
            try:
                doc = json.loads((root / name).read_text(encoding="utf-8"))
                return max(
                    0.0,
                    min(float(doc["end" if name[0] == "w" else "t"]), self.profile.clock.duration),
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return 0.0
