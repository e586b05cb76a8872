"""Journals as size-bounded segments: the writer every journal uses and the reader of them all.

A journal named ``carrier-ups.jsonl`` is written as segments ``carrier-ups.jsonl`` (segment 0),
then ``carrier-ups.1.jsonl``, ``carrier-ups.2.jsonl``, … Each segment holds whole lines and at
most ``max_bytes`` (a single longer line gets a segment of its own). Segments are never renamed:
a file, once started, keeps its name and only grows until the next one starts, so a reader that
tails files one by one (the live progress) counts every line exactly once, and a position
``(segment, byte offset)`` stays valid for the journal's life. Reading a journal means reading
its segments in index order (:func:`segment_files`, :func:`read_lines`).

Retention (``keep``: the long-lived standalone fleet) deletes the oldest segments once more than
``keep`` exist; a journal may then start at segment 5. A run's journals are never trimmed.

``PEAKBENCH_JOURNAL_SEGMENT_BYTES`` (parsed by :func:`parse_size` in the entry points) sets the
size for a run's children; the default is :data:`DEFAULT_SEGMENT_BYTES`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, Literal

from peakbench.measure.sizes import parse_bytes

DEFAULT_SEGMENT_BYTES = 16 << 20
"""16 MiB: about 100,000 carrier-journal lines, a size an editor or ``grep`` handles well."""
MIN_SEGMENT_BYTES = 256
"""Smaller segments are refused: a file per line helps nobody (tests use a few KiB)."""
SEGMENT_BYTES_ENV = "PEAKBENCH_JOURNAL_SEGMENT_BYTES"
"""Environment variable the entry points read for the segment size (bytes, or ``64KiB``...)."""

Position = tuple[int, int]
"""Where a journal is: (segment index, byte offset in that segment)."""


def parse_size(text: str, what: str = SEGMENT_BYTES_ENV) -> int:
    """Bytes from ``"4096"``, ``"64KiB"``, ``"16MiB"``
    (:func:`~peakbench.measure.sizes.parse_bytes`);
    ValueError naming ``what`` when it is not a size of at least :data:`MIN_SEGMENT_BYTES`."""
    try:
        size = parse_bytes(text)
    except ValueError:
        raise ValueError(f"{what}: expected a size like 16MiB or 65536, got {text!r}") from None
    if size < MIN_SEGMENT_BYTES:
        raise ValueError(f"{what}: a segment must hold at least {MIN_SEGMENT_BYTES} bytes")
    return size


def segment_bytes_from_env(environ: Mapping[str, str]) -> int:
    """The segment size ``PEAKBENCH_JOURNAL_SEGMENT_BYTES`` asks for, or the default;
    ValueError naming the variable when it is not a size (:func:`parse_size`)."""
    text = environ.get(SEGMENT_BYTES_ENV)
    return parse_size(text) if text else DEFAULT_SEGMENT_BYTES


def segment_path(path: Path, index: int) -> Path:
    """Segment ``index`` of the journal ``path`` (0 is ``path`` itself)."""
    return path if index == 0 else path.with_name(f"{path.stem}.{index}{path.suffix}")


def split_segment(path: Path) -> tuple[Path, int]:
    """(journal path, segment index) of a segment file: ``x.3.jsonl`` → (``x.jsonl``, 3)."""
    stem, dot, tail = path.stem.rpartition(".")
    if dot and tail.isdigit() and stem:
        return path.with_name(stem + path.suffix), int(tail)
    return path, 0


def segments(path: Path) -> list[tuple[int, Path]]:
    """The existing segments of journal ``path``, oldest first, with their indexes."""
    found = [(0, path)] if path.is_file() else []
    if path.parent.is_dir():
        for candidate in path.parent.glob(f"{path.stem}.*{path.suffix}"):
            base, index = split_segment(candidate)
            if index > 0 and base == path:
                found.append((index, candidate))
    return sorted(found)


def segment_files(path: Path) -> list[Path]:
    """The existing segment files of journal ``path``, in the order they were written."""
    return [p for _, p in segments(path)]


def journals_in(folder: Path, pattern: str) -> list[Path]:
    """The journals (segment-0 names) whose segments match ``pattern`` in ``folder``
    (e.g. ``carrier-*.jsonl``), sorted by name; a journal whose first segments were deleted
    by retention is listed by its segment-0 name all the same."""
    if not folder.is_dir():
        return []
    return sorted({split_segment(p)[0] for p in folder.glob(pattern)})


def read_lines(path: Path, start: Position = (0, 0)) -> Iterator[bytes]:
    """Every line of journal ``path`` from ``start`` on, across its segments, in order
    (raw bytes with their newline; a torn last line comes without one)."""
    first, offset = start
    for index, file in segments(path):
        if index < first:
            continue
        with file.open("rb") as fh:
            if index == first and offset:
                fh.seek(offset)
            yield from fh


def end_position(path: Path) -> Position:
    """Where the next line of journal ``path`` would go: its last segment and that size."""
    found = segments(path)
    if not found:
        return (0, 0)
    index, file = found[-1]
    return (index, file.stat().st_size)


class SegmentWriter:
    """Append whole lines to journal ``path`` in segments of at most ``max_bytes``.

    ``mode``: ``a`` continues the newest segment (a torn last line left by a killed writer is
    ended first, so it stays one unreadable line rather than spoiling the next); ``w`` starts
    over, deleting the journal's segments. ``keep``: at most this many segments stay on disk,
    the oldest deleted as new ones start (None: all). :meth:`write` buffers in the file object;
    :meth:`flush` hands the bytes to the OS. OSError propagates: callers count what they lose.
    """

    def __init__(
        self,
        path: Path,
        max_bytes: int = DEFAULT_SEGMENT_BYTES,
        *,
        mode: Literal["a", "w"] = "a",
        keep: int | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if keep is not None and keep < 1:
            raise ValueError("keep must be at least 1")
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "w":
            for _, file in segments(path):
                file.unlink(missing_ok=True)
        self.index, size = end_position(path)
        self._fh: BinaryIO | None = segment_path(path, self.index).open("ab")
        self.size = size
        if size and not _ends_with_newline(segment_path(path, self.index)):
            self._fh.write(b"\n")
            self.size += 1

    @property
    def position(self) -> Position:
        """Where the next line goes (segment index, byte offset), counting buffered bytes."""
        return (self.index, self.size)

    @property
    def closed(self) -> bool:
        return self._fh is None

    def write(self, text: str) -> None:
        """Append ``text``: whole lines, each ending in a newline."""
        fh = self._fh
        if fh is None:
            raise ValueError("write to a closed journal")
        data = text.encode()
        if self.size + len(data) <= self.max_bytes:
            fh.write(data)
            self.size += len(data)
            return
        chunk: list[bytes] = []
        chunk_size = 0
        for line in data.splitlines(keepends=True):
            if self.size + chunk_size + len(line) > self.max_bytes and self.size + chunk_size:
                if chunk:
                    fh.write(b"".join(chunk))
                    self.size += chunk_size
                    chunk, chunk_size = [], 0
                fh = self._rotate()
            chunk.append(line)
            chunk_size += len(line)
        if chunk:
            fh.write(b"".join(chunk))
            self.size += chunk_size

    def move_to(self, path: Path) -> None:
        """Go on writing at ``path``, a copy of this journal's segments made after a
        :meth:`flush` (a process forked from the writer leaves the original to its parent)."""
        if self._fh is not None:
            self._fh.close()  # nothing buffered: it was flushed before the copy
        self.path = path
        self._fh = segment_path(path, self.index).open("ab")

    def _rotate(self) -> BinaryIO:
        """Close the full segment, start the next one, and apply the retention."""
        assert self._fh is not None
        self._fh.close()
        self._fh = None
        self.index += 1
        self._fh = segment_path(self.path, self.index).open("ab")
        self.size = 0
        if self.keep is not None:
            for index, file in segments(self.path):
                if index <= self.index - self.keep:
                    file.unlink(missing_ok=True)
        return self._fh

    def flush(self) -> None:
        """Hand the written bytes to the OS."""
        if self._fh is not None:
            self._fh.flush()

    def fsync(self) -> None:
        """Flush and ask the OS to put the current segment on disk."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush and close (idempotent)."""
        if self._fh is not None:
            try:
                self._fh.close()
            finally:
                self._fh = None


def _ends_with_newline(file: Path) -> bool:
    with file.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


class LineBuffer:
    """Journal lines queued in memory and written to a :class:`SegmentWriter` in batches (every
    ``max_lines`` and at each :meth:`flush`). A batch the disk refuses (full, folder removed) is
    counted in :attr:`dropped` and the writer goes on: a journal never stops its server."""

    def __init__(self, file: SegmentWriter | None, max_lines: int = 4096) -> None:
        self.file = file
        """None: nothing is written (count-only journals)."""
        self.max_lines = max_lines
        self.pending: list[str] = []
        self.dropped = 0
        """Lines lost because the file could not be written."""

    def add(self, line: str) -> None:
        """Queue one line (with its newline)."""
        self.pending.append(line)
        if len(self.pending) >= self.max_lines:
            self.flush()

    def flush(self) -> None:
        """Write the pending lines; on an I/O error count them as dropped and go on."""
        if not self.pending or self.file is None:
            return
        lines, self.pending = self.pending, []
        try:
            self.file.write("".join(lines))
            self.file.flush()
        except OSError:
            self.dropped += len(lines)

    @property
    def position(self) -> Position:
        """Where the next written line goes (segment, byte offset), pending lines flushed."""
        self.flush()
        return self.file.position if self.file is not None else (0, 0)

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        self.flush()
        if self.file is not None:
            self.file.close()
            self.file = None
