"""How a run starts Locust: one process, ``--processes N``, a master for other hosts, or a worker.

Pure: builds command lines, starts nothing (the orchestrator does). Every mode runs the same
locustfile; in a distributed run the master deals the schedule out by order (``ref % N``) to its
workers and writes the run folder itself (see ``loadtests/cluster.py``).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MASTER_PORT = 5557
"""Locust's own default master port."""


@dataclass(frozen=True, slots=True)
class Scale:
    """How many Locust processes a run uses and where they are (``peakbench run`` flags)."""

    processes: int = 1
    """Worker processes on this machine (``--processes N``, Locust forks them); 1 = one process."""
    master: bool = False
    """Wait for ``expect_workers`` workers started elsewhere (``peakbench run --worker``)."""
    expect_workers: int = 1
    master_bind: str = "*"
    """Interface the master listens on for workers (Locust's ``--master-bind-host``)."""
    master_port: int = DEFAULT_MASTER_PORT
    ui: bool = False
    """Keep Locust's web UI on 127.0.0.1 (the test starts by itself; nothing waits for a click)."""

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError(f"--processes must be at least 1, got {self.processes}")
        if self.master and self.processes > 1:
            raise ValueError("--master and --processes cannot be combined")
        if self.expect_workers < 1:
            raise ValueError(f"--expect-workers must be at least 1, got {self.expect_workers}")

    @property
    def workers(self) -> int:
        """How many processes execute the schedule (1 when there is no master)."""
        if self.master:
            return self.expect_workers
        return self.processes

    @property
    def distributed(self) -> bool:
        return self.master or self.processes > 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def locust_argv(
    python: str,
    locustfile: Path,
    replay_json: Path,
    host: str,
    csv_prefix: Path,
    users: int,
    scale: Scale,
    web_port: int | None = None,
) -> list[str]:
    """The command line of the run's Locust process (the master when distributed).

    ``users`` is raised to one per worker: a worker without users would never run its share.
    The locustfile's load shape decides the users; ``--users`` is its fixed pool only when the
    run folder has no ``run.json`` (``replay.users: auto`` profiles size the pool themselves).
    """
    users = max(users, scale.workers)
    argv = [python, "-m", "locust", "-f", str(locustfile)]
    if scale.ui:
        argv += ["--autostart", "--web-host", "127.0.0.1", "--web-port", str(web_port or 8089)]
    else:
        argv += ["--headless"]
    argv += [
        "--users", str(users), "--spawn-rate", str(users), "--host", host,
        "--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0", "--peakbench-replay", str(replay_json),
    ]  # fmt: skip
    if scale.processes > 1:  # the forked workers dial 127.0.0.1: keep the master there too
        port = str(free_port())  # not Locust's 5557: two runs on one host must not collide
        argv += [
            "--processes", str(scale.processes), "--master-bind-host", "127.0.0.1",
            "--master-bind-port", port, "--master-port", port,
        ]  # fmt: skip
    elif scale.master:
        argv += [
            "--master", "--expect-workers", str(scale.expect_workers),
            "--master-bind-host", scale.master_bind, "--master-bind-port", str(scale.master_port),
            "--expect-workers-max-wait", "300",
        ]  # fmt: skip
    return argv


def worker_argv(
    python: str, locustfile: Path, master_host: str, master_port: int = DEFAULT_MASTER_PORT
) -> list[str]:
    """A worker for a master on another host (``peakbench run --worker --master-host H``)."""
    return [
        python, "-m", "locust", "-f", str(locustfile), "--worker",
        "--master-host", master_host, "--master-port", str(master_port), "--loglevel", "WARNING",
    ]  # fmt: skip
