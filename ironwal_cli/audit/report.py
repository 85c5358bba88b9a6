"""What a verification finds: located problems and per-stream totals, as plain data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .replay import StreamReplay


@dataclass(frozen=True)
class Problem:
    """One finding. ``offset`` is where the damaged frame or record starts, None for a whole file."""

    path: str  # relative to the root, with "/" separators
    offset: int | None
    kind: str
    message: str
    omitted: int = 0  # > 0: this line stands for that many more problems of its kind in its file

    def to_dict(self) -> dict:
        found = {"path": self.path, "offset": self.offset, "kind": self.kind, "message": self.message}
        if self.omitted:
            found["omitted"] = self.omitted
        return found

    def __str__(self) -> str:
        where = self.path if self.offset is None else f"{self.path}@{self.offset}"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class StreamTotals:
    segments: int = 0
    frames: int = 0
    entries: int = 0
    bytes: int = 0
    lz4_frames: int = 0
    lz4_disk: int = 0  # payload bytes of the LZ4 frames
    lz4_raw: int = 0  # their uncompressed_size

    def merge(self, other: StreamTotals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def lz4_ratio(self) -> float | None:
        """Uncompressed over compressed size of the LZ4 frames; None without any."""
        return round(self.lz4_raw / self.lz4_disk, 3) if self.lz4_disk else None

    def to_dict(self) -> dict:
        return {"segments": self.segments, "frames": self.frames, "entries": self.entries, "bytes": self.bytes,
                "lz4_frames": self.lz4_frames, "lz4_ratio": self.lz4_ratio}


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    streams: dict[str, StreamTotals] = field(default_factory=dict)
    replays: dict[str, StreamReplay] = field(default_factory=dict)  # stream -> what the crate's replay sees

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem_count(self) -> int:
        """Every problem found, the ones summarised by a count line included."""
        return sum(p.omitted or 1 for p in self.problems)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "problems": [p.to_dict() for p in self.problems],
                "streams": {name: t.to_dict() for name, t in self.streams.items()},
                "replay": {name: r.to_dict() for name, r in self.replays.items() if r.describe() is not None}}


REPEAT_LIMIT = 20  # problems of one kind listed per file; the rest are counted on one line


class Recorder:
    """Collects problems with paths made relative to ``root``; shared by every check of one run."""

    def __init__(self, root: Path, problems: list[Problem]):
        self.root = root
        self.problems = problems
        self._seen: dict[tuple[str, str], int] = {}  # (path, kind) -> how many were added
        self._summary_at: dict[tuple[str, str], int] = {}  # (path, kind) -> index of its count line

    def rel(self, path: Path) -> str:
        rel = os.path.relpath(path, self.root)
        return rel.replace(os.sep, "/")

    def child(self) -> Recorder:
        """A recorder of its own, for a check that runs on another thread (merged in order later)."""
        return Recorder(self.root, [])

    def add(self, path: Path, offset: int | None, kind: str, message: str) -> None:
        """Record a problem; past ``REPEAT_LIMIT`` of one kind in one file, only count it (one line
        says how many more), so a garbage file gives a short report in bounded memory."""
        rel = self.rel(path)
        key = (rel, kind)
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        if seen <= REPEAT_LIMIT:
            self.problems.append(Problem(rel, offset, kind, message))
            return
        more = seen - REPEAT_LIMIT
        line = Problem(rel, None, kind, f"{more} more {kind} problem{'s' if more > 1 else ''} in this file "
                       f"(the first {REPEAT_LIMIT} are listed)", omitted=more)
        if more == 1:
            self._summary_at[key] = len(self.problems)
            self.problems.append(line)
        else:
            self.problems[self._summary_at[key]] = line

    def drop_last(self, kinds: tuple[str, ...]) -> None:
        """Take back the problem just added, when it is one of ``kinds`` and was listed (not counted)."""
        if self.problems and self.problems[-1].kind in kinds and not self.problems[-1].omitted:
            gone = self.problems.pop()
            self._seen[(gone.path, gone.kind)] -= 1
