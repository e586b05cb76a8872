"""A world that forks at its first refusal into the runs of the other ``on_throttle`` policies.

The sandbox plugin reads ``on_throttle`` in one place: when a carrier refuses one of its polls
(:func:`mocks.store.policy.on_refusal`). Runs that differ only in that policy are therefore the
same run, call for call, up to the first refusal that reaches the plugin
(:mod:`peakbench.advise.sharing`). A world given branches (``--branch POLICY=DIR``) runs its
own policy, and at that instant, before the policy is read, it forks one process per branch:

- the world first commits the store's group and writes its journals out, then copies its state
  into each branch's folder (the store's database through SQLite's backup, every journal
  segment as it is on disk);
- the forked process takes the copy for its own: it writes its journals, its database, its
  progress, its log and ``world.done.json`` in the branch folder, never in the parent's; it
  reads the branch's policy from then on, and goes on from the same instant.

What the branch folder then holds is what a world started from the beginning with the branch's
policy would have written (the world is deterministic; ``tests/test_world_branch.py`` compares
them). The world waits for its branches before it ends, so the run that started it is over only
once they are. A branch is in the world's process group: stopping the run stops them too.

A world with push loops (aggregators) does not branch: those loops keep journals of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from mocks.journal import Journal
from mocks.recovery import journal_path
from mocks.store.db import StoreDB
from mocks.store.plugin import Plugin
from mocks.virtual.replay import ScheduleReplay
from peakbench.config.store import PluginSpec
from peakbench.run.forked import can_fork

POLICIES: tuple[str, ...] = get_args(PluginSpec.model_fields["on_throttle"].annotation)
"""The ``on_throttle`` policies a branch may take."""

_ABANDONED: list[sqlite3.Connection] = []
"""A branch's inherited connection to its parent's database: kept, never used, never closed
(closing it would checkpoint and remove the parent's write-ahead log)."""


@dataclass(frozen=True, slots=True)
class Branch:
    """``--branch POLICY=DIR``: the run of ``policy``, written in the folder ``folder``."""

    policy: str
    folder: Path

    @classmethod
    def parse(cls, text: str) -> Branch:
        """``POLICY=DIR``; ValueError naming what is wrong."""
        policy, sep, folder = text.partition("=")
        if not sep or not folder:
            raise ValueError(f"--branch {text!r}: expected POLICY=DIR")
        if policy not in POLICIES:
            raise ValueError(
                f"--branch {text!r}: on_throttle is one of {', '.join(POLICIES)}, not {policy!r}"
            )
        return cls(policy, Path(folder))


@dataclass(slots=True)
class Where:
    """Where this process of the world writes, and whose child it is (a branch changes both)."""

    root: Path
    parent: int
    """The process whose end orphans this world (it then stops)."""
    branched_at: float | None = None
    """Store seconds at which this world was forked from another; None for the first world."""


class Brancher:
    """Forks the world into its branches at the plugin's first refusal (see the module)."""

    def __init__(
        self,
        branches: Sequence[Branch],
        where: Where,
        db: StoreDB,
        journals: Sequence[Journal],
        replay: ScheduleReplay,
        plugin: Plugin,
        now: Callable[[], float],
    ) -> None:
        self.branches = tuple(branches)
        self.where = where
        self.db = db
        self.journals = list(journals)
        self.replay = replay
        self.plugin = plugin
        self.now = now
        self.children: list[int] = []
        if self.branches:
            plugin.before_refusal = self.fork

    def fork(self) -> None:
        """Fork one process per branch, each on its own copy of this instant's state. In a
        branch this returns with the branch's policy in force; here, with nothing changed."""
        branches, self.branches = self.branches, ()
        if not can_fork():  # a thread holding a lock would hold it forever in the fork
            print("world: not branching (a thread is running)", file=sys.stderr, flush=True)
            return
        loop = asyncio.get_running_loop()
        try:
            self._write_out()
        except OSError as exc:  # the branches then run from the start, elsewhere
            print(f"world: not branching ({exc})", file=sys.stderr, flush=True)
            return
        for branch in branches:
            try:
                self._stage(branch.folder)
                pid = os.fork()
            except OSError as exc:
                print(f"world: branch {branch.policy} not started ({exc})", file=sys.stderr)
                continue
            if pid == 0:
                # asyncio knows its running loop per process: this one's is the parent's
                asyncio.events._set_running_loop(loop)
                try:
                    self._become(branch)
                except BaseException:  # half a branch must not go on as its parent's copy
                    with contextlib.suppress(BaseException):
                        traceback.print_exc()
                        sys.stderr.flush()
                    os._exit(1)
                return
            self.children.append(pid)

    def wait(self, stop: bool = False) -> None:
        """Wait for every branch to end (the run that started this world ends after them).
        ``stop``: this world was stopped early, so first tell them to stop too (SIGTERM: each
        stops where it is, as this one did). A SIGTERM or SIGINT this world gets while it
        waits is passed on to them."""
        children = list(self.children)

        def forward(signum: int, frame: object) -> None:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if stop:
                forward(signal.SIGTERM, None)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.children.clear()

    # -- the parent ---------------------------------------------------------------------------

    def _write_out(self) -> None:
        """Hand everything buffered to the files: the copies are made from the files, and a
        branch must not write its parent's buffers again."""
        for journal in self.journals:
            journal.flush()
        self.replay.publish()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()

    def _stage(self, folder: Path) -> None:
        """Copy this instant's journals and database into ``folder``."""
        journals = folder / "journals"
        journals.mkdir(parents=True, exist_ok=True)
        for file in sorted((self.where.root / "journals").iterdir()):
            if file.is_file():
                shutil.copyfile(file, journals / file.name)
        self.db.copy_to(folder / "store.sqlite")

    # -- the branch ---------------------------------------------------------------------------

    def _become(self, branch: Branch) -> None:
        """Take the branch folder for this process's own, and the branch's policy."""
        folder = branch.folder
        self.children = []  # the siblings forked before it are its parent's
        logs = folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = os.open(logs / "world.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        quiet = os.open(os.devnull, os.O_RDONLY)
        os.dup2(quiet, 0)
        os.close(quiet)
        _ABANDONED.append(self.db.reopen(folder / "store.sqlite"))
        for journal in self.journals:
            journal.move_to(journal_path(folder / "journals", journal.carrier))
        self.replay.move_to(folder / "journals" / "replay.jsonl", folder / "progress.json")
        self.where.root = folder
        self.where.parent = os.getppid()
        self.where.branched_at = self.now()
        renew = getattr(asyncio.get_running_loop(), "renew_self_pipe", None)
        if renew is not None:  # a signal to this process must wake this loop, not the parent's
            renew()
        self.plugin.spec = self.plugin.spec.model_copy(update={"on_throttle": branch.policy})
