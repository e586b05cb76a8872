"""What every server child of a run does the same way (the child-process contract).

Bind a free port on loopback ourselves and hand the socket to uvicorn; announce readiness with an
atomically written ready file; notice when the parent (the orchestrator) is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

PARENT_POLL_S = 0.2
"""Wall seconds between checks that the parent process is alive."""


def listen(host: str) -> socket.socket:
    """A bound, listening, non-blocking TCP socket on a port the OS picks."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def base_url(host: str, port: int, tls: bool = False) -> str:
    """``http(s)://host:port`` (IPv6 hosts bracketed); https when the server speaks TLS."""
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def write_ready_file(path: Path, data: Mapping[str, object]) -> None:
    """Write JSON atomically (``X.tmp`` then ``os.replace``): readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def server_config(app: Any, grace_s: float, tls: tuple[Path, Path] | None = None) -> uvicorn.Config:
    """uvicorn as every child runs it: uvloop, httptools, quiet, ``grace_s`` to drain.

    ``tls``: ``(certificate, private key)`` PEM files (``peakbench mocks ca`` writes them) to
    serve HTTPS instead of plain HTTP; one certificate covers every impersonated vendor host.
    """
    certfile, keyfile = (str(tls[0]), str(tls[1])) if tls else (None, None)
    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        interface="asgi3",
        proxy_headers=False,
        server_header=False,
        date_header=False,
        # typed int upstream, but it only reaches asyncio.wait_for: a float is fine
        timeout_graceful_shutdown=grace_s,  # type: ignore[arg-type]
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


async def watch_parent(on_orphan: Callable[[], None], parent: int | None = None) -> None:
    """Call ``on_orphan`` once the parent process is gone (``os.getppid()`` changed)."""
    parent = os.getppid() if parent is None else parent
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_POLL_S)
    on_orphan()
