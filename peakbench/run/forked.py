"""A child forked from this process instead of started as a new interpreter.

A process that starts many short children of one Python entry (an advise worker starts a virtual
world per run) imports the entry's modules once (:func:`preload`) and forks for each child, which
then skips the interpreter's start and the imports (about half a second of CPU a world). To the
run that watches it (:class:`peakbench.run.children.Child`) a forked child is a subprocess:

- it leads its own session (``os.setsid``): a Ctrl-C at the terminal reaches only the parent, and
  a group kill (``os.killpg``) ends it with anything it started;
- its standard output and error append to its log file, its standard input is a pipe (or
  ``/dev/null``) on file descriptor 0 that ``sys.stdin`` reads;
- the environment it is given (the run's secrets) goes into its own ``os.environ`` only;
- it starts with a new interpreter's signal handling: a Python handler of the parent's is gone
  (SIGINT raises KeyboardInterrupt again, any other signal its default), and what the parent
  ignores stays ignored, as it would across ``exec``;
- it ends with ``os._exit`` once its streams are flushed: it never returns into the parent's code
  and runs none of the parent's ``atexit`` handlers; its exit status reads like a subprocess's
  (a signal that ended it is ``-signum``).

The parent's objects are frozen out of the collector across the fork (``gc.freeze``): the child
never scans or touches them, so they stay shared with the parent instead of being copied.

Fork only a single-threaded process (:func:`can_fork`): a thread that holds a lock at the fork
leaves it held forever in the child. (Native thread pools that register ``pthread_atfork``
handlers, like OpenBLAS's under numpy, stop themselves across the fork and start again later.)
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, NoReturn, TextIO

from peakbench.run.children import Child

Entry = Callable[[Sequence[str], Mapping[str, str]], int]
"""A child's ``main(argv, environ)``: its exit code."""

_preloaded: dict[str, Entry] = {}


def preload(module: str, name: str = "main") -> Entry:
    """Import ``module`` (with everything it imports) now and keep its entry ``name`` for
    :func:`preloaded`: a process that preloads an entry means to fork children of it."""
    entry: Entry = getattr(importlib.import_module(module), name)
    _preloaded[module] = entry
    return entry


def preloaded(module: str) -> Entry | None:
    """The entry :func:`preload` kept for ``module`` in this process, else ``None``."""
    return _preloaded.get(module)


def can_fork() -> bool:
    """Whether this process may fork a child: it can, and no other Python thread runs."""
    return hasattr(os, "fork") and threading.active_count() == 1


class ForkedProcess:
    """What :class:`~peakbench.run.children.Child` uses of a :class:`subprocess.Popen`, for a
    child forked from this process: ``pid``, ``stdin``, ``returncode``, :meth:`poll`,
    :meth:`wait` and :meth:`send_signal` (``os.waitpid``, ``os.kill``, a pidfd to wait on)."""

    def __init__(self, pid: int, stdin: BinaryIO | None, args: Sequence[str]) -> None:
        self.pid = pid
        self.stdin = stdin
        self.args = list(args)
        self.returncode: int | None = None
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # Linux 5.3+: wait without polling
            self._pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        """The exit code once the child has ended (and is reaped), else ``None``."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: as Popen, count it a success
                pid, status = self.pid, 0
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self._close_pidfd()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end; :class:`subprocess.TimeoutExpired` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            if self._pidfd is not None:
                select.select([self._pidfd], [], [], left)  # readable once the child ends
            else:
                time.sleep(0.05 if left is None else min(left, 0.05))
        return code

    def send_signal(self, sig: int) -> None:
        """Signal the child unless it has ended (a reaped child's pid may be someone else's)."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            self._close_pidfd()


def fork(
    entry: Entry, argv: Sequence[str], log: Path, env: Mapping[str, str], stdin_pipe: bool = False
) -> ForkedProcess:
    """Run ``entry(argv, os.environ)`` in a child forked from this process, with ``env`` added
    to its environment, its output appended to ``log``, and a pipe on its standard input when
    ``stdin_pipe`` (else ``/dev/null``). RuntimeError when :func:`can_fork` says no."""
    if not can_fork():
        raise RuntimeError("a process with threads must not fork")
    opened: list[int] = []
    try:
        if stdin_pipe:
            child_in, parent_in = os.pipe()
        else:
            child_in, parent_in = os.open(os.devnull, os.O_RDONLY), -1
        opened += [child_in, parent_in]
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        opened.append(out)
        ready, started = os.pipe()  # the child closes `started` once it is a process of its own
        opened += [ready, started]
    except OSError:
        _close(*opened)
        raise
    for stream in (sys.stdout, sys.stderr):  # what they hold must not be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        _close(*opened)
        raise
    if pid == 0:
        _close(ready)
        _run_child(entry, argv, env, child_in, parent_in, out, started)
    gc.unfreeze()
    _close(child_in, out, started)
    try:
        os.read(ready, 1)  # as Popen returns once its child runs: in its session, its signals
    finally:
        _close(ready)
    stdin = os.fdopen(parent_in, "wb") if parent_in >= 0 else None
    return ForkedProcess(pid, stdin, argv)


class ForkedChild(Child):
    """A :class:`~peakbench.run.children.Child` forked from this process to run
    ``entry(argv, environ)`` (see :func:`fork`) instead of a new interpreter running ``argv``."""

    def __init__(
        self,
        name: str,
        entry: Entry,
        argv: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        stdin_pipe: bool = False,
    ) -> None:
        super().__init__(name, argv, log, env, stdin_pipe=stdin_pipe)
        self.entry = entry

    def start(self) -> None:
        self.proc = fork(self.entry, self.argv, self.log, self.env or {}, self.stdin_pipe)


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _run_child(
    entry: Entry, argv: Sequence[str], env: Mapping[str, str], child_in: int, parent_in: int,
    out: int, started: int,
) -> NoReturn:  # fmt: skip
    """The forked child: become a process of its own (then close ``started``, which the parent
    waits on), run the entry, exit with its code."""
    code = 1
    try:
        os.setsid()
        _new_interpreter_signals()
        _close(parent_in)  # else the child would never read the end of its own input
        os.dup2(child_in, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        _close(*({child_in, out} - {0, 1, 2}))
        sys.stdin, sys.stdout, sys.stderr = _standard_streams()
        os.environ.update(env)
        _close(started)
        started = -1
        code = entry(list(argv), os.environ)
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        code = -signal.SIGINT
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
        code = 1
    finally:
        _close(started)  # (when the set-up failed: the parent waits no longer)
        _exit(code)


def _standard_streams() -> tuple[TextIO, TextIO, TextIO]:
    """New ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` on file descriptors 0, 1 and 2, as a
    new interpreter makes them when they are no terminal (nothing the parent buffered)."""
    return (
        open(0, closefd=False),
        open(1, "w", closefd=False),
        open(2, "w", buffering=1, errors="backslashreplace", closefd=False),
    )


def _new_interpreter_signals() -> None:
    """Signal handling as a new interpreter starts with (see the module's docstring)."""
    signal.set_wakeup_fd(-1)
    for sig in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError):
            if callable(signal.getsignal(sig)):
                default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
                signal.signal(sig, default)


def _exit_code(code: object) -> int:
    """An interpreter's exit code for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(BaseException):
        print(code, file=sys.stderr)
    return 1


def _exit(code: int) -> NoReturn:
    """Flush the child's streams and end it; a negative code ends it with that signal."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    if code < 0:
        with contextlib.suppress(BaseException):
            signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
        code = 128 - code
    os._exit(code & 0xFF)
