"""Child processes of a run: started in their own session, awaited until ready, always ended.

Children get their own session so a Ctrl-C in the terminal reaches only the orchestrator, which
then ends them in order and still writes the partial results. Each child also watches its parent
and exits if it dies, so nothing is left behind even after a ``kill -9``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol


class ChildError(RuntimeError):
    """A child process failed to start or died; the message is one line for the user.

    ``child``: the child's name; ``kind``: the fault kind (see :mod:`peakbench.measure.faults`), or
    ``None`` when the run was interrupted (the signal is the fault, not the child)."""

    def __init__(self, message: str, child: str | None = None, kind: str | None = None):
        super().__init__(message)
        self.child = child
        self.kind = kind


class Proc(Protocol):
    """What a child's process offers the run: a :class:`subprocess.Popen`, or a
    :class:`peakbench.run.forked.ForkedProcess`."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | Any: ...
    @property
    def stdin(self) -> IO[bytes] | None: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...


class Child:
    def __init__(
        self,
        name: str,
        argv: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        ready_file: Path | None = None,
        cwd: Path | None = None,
        stdin_pipe: bool = False,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        self.env = env
        self.ready_file = ready_file
        self.cwd = cwd
        self.stdin_pipe = stdin_pipe
        """Give the child a pipe on its stdin, for :meth:`go` (else /dev/null)."""
        self.proc: Proc | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
                start_new_session=True,
            )

    def go(self) -> None:
        """Tell a child that waits on its stdin to go on: one line, then the pipe closes. A child
        that already died is left to be noticed by whoever watches it."""
        if self.proc is None or self.proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.close()

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the child to exit; whether it has."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 1) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        useful = [line for line in text if line.strip()]
        return " | ".join(useful[-lines:])

    def wait_ready(
        self, timeout: float, should_stop: Callable[[], bool] = lambda: False
    ) -> dict[str, Any]:
        """Wait for the child's ready file; raise :class:`ChildError` if it exits or times out."""
        assert self.ready_file is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not should_stop():
            if self.ready_file.exists():
                return dict(json.loads(self.ready_file.read_text()))
            if not self.alive:
                raise ChildError(
                    f"{self.name} exited with code {self.returncode} while starting: "
                    f"{self.log_tail() or 'no output'} (log: {self.log})",
                    self.name,
                    "child_died",
                )
            time.sleep(0.05)
        if should_stop():
            raise ChildError(f"interrupted while {self.name} was starting", self.name)
        raise ChildError(
            f"{self.name} was not ready within {timeout:.0f}s (log: {self.log})", self.name, "hang"
        )

    def stop(self, grace: float = 8.0, hurry: Callable[[], bool] = lambda: False) -> int | None:
        """SIGCONT and SIGTERM, then SIGKILL to the child's whole process group after ``grace``
        seconds or as soon as ``hurry()`` (a second Ctrl-C); returns the exit code.

        SIGCONT first: a stopped (SIGSTOPped, hung) child would never see the SIGTERM. The group
        kill at the end also ends what the child forked (Locust's workers) if it left any."""
        if self.proc is None:
            return None
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # a child still waiting for its go reads the end
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)
                self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.proc.poll() is None and time.monotonic() < deadline and not hurry():
                time.sleep(0.05)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # the leader is gone; anything left in its group (it ran in its own session) goes too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode
