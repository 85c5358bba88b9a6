"""Checks of one stream directory: its segments in order, ``segments.idx``, ``head.state``, strays.

Segment ids must run on from one segment to the next; a gap is allowed only before the
first segment (prune removes whole leading segments) and where ``lost.idx`` records ids that
``ironwal recover`` found lost to damage. The index may repeat an id (the crate
does so for an entry too big for an empty segment) but never go down. An empty index means
"segment 0 only", as the crate reads it.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from ..engine.store.files import TEMP_SUFFIX
from ..engine.store.listing import StreamListing
from ..engine.store.lost_ids import LOST_NAME, covers, merge
from ..engine.store.names import INDEX_NAME, MAX_ID, name_overflows, parse_segment_name
from ..spec.codec import INDEX_ID
from .kinds import (
    HEAD_STATE_INVALID,
    HEAD_STATE_MISSING_SEGMENT,
    HEAD_STATE_NOT_LAST,
    ID_OVERFLOW,
    INDEX_BAD_LENGTH,
    INDEX_MISSING,
    INDEX_MISSING_ID,
    INDEX_OUT_OF_ORDER,
    INDEX_UNKNOWN_ID,
    LOST_UNRECORDED,
    REPLAY_STOPS_SILENTLY,
    SEGMENT_GAP,
    SEGMENT_OVERLAP,
    STRAY_TEMP_FILE,
    UNEXPECTED_FILE,
    UNREADABLE,
)
from .replay import STOPS_SILENTLY, ReplayEvent, StreamReplay
from .report import Recorder, StreamTotals
from .segments import SegmentEnd, audit_segment

TEMP_GRACE = 10.0  # seconds: a younger temp file may be an atomic replace in progress


def check_strays(rec: Recorder, directory: Path, names: list[str]) -> None:
    """``*.tmp`` left by an interrupted atomic replace, and anything else that does not belong.

    A temp file modified in the last ``TEMP_GRACE`` seconds is passed over: a writer replacing
    a file (head.state, segments.idx, HEAD) holds one for an instant, and a live root is no damage.
    """
    now = time.time()
    for name in sorted(names):
        if name.endswith(TEMP_SUFFIX):
            try:
                young = now - os.lstat(directory / name).st_mtime < TEMP_GRACE
            except FileNotFoundError:
                continue  # renamed into place meanwhile
            if not young:
                rec.add(directory / name, None, STRAY_TEMP_FILE, "temporary file left by an interrupted replace")
        elif name_overflows(name):
            rec.add(directory / name, None, ID_OVERFLOW, f"a segment name past the last possible id {MAX_ID} "
                    "(ids are u64): no writer makes it, and no reader reads it")
        else:
            rec.add(directory / name, None, UNEXPECTED_FILE, "does not belong here")


def _check_unsound(rec: Recorder, layout: StreamListing, name: str) -> bool:
    """Report a small file that is no regular file or is oversized (never decoded); True if it was."""
    if name not in layout.unsound:
        return False
    kind, message = layout.unsound[name]
    rec.add(layout.path / name, None, kind, message)
    return True


def _check_index(rec: Recorder, layout: StreamListing) -> None:
    path = layout.path / INDEX_NAME
    if _check_unsound(rec, layout, INDEX_NAME):
        return
    if layout.index_ids is None:
        if layout.index_error == "missing":
            rec.add(path, None, INDEX_MISSING, "no segments.idx")
        else:
            rec.add(path, None, INDEX_BAD_LENGTH, f"unreadable index: {layout.index_error}")
        return
    ids = layout.index_ids
    step = INDEX_ID.size
    for i in range(1, len(ids)):
        if ids[i] < ids[i - 1]:
            rec.add(path, i * step, INDEX_OUT_OF_ORDER, f"id {ids[i]} follows {ids[i - 1]}")
            break
    files = set(layout.segment_files)
    fresh = ids == [0] and not files  # a stream created, nothing written yet
    seen: set[int] = set()
    for i, sid in enumerate(ids):
        if sid not in files and sid not in seen and not fresh:
            rec.add(path, i * step, INDEX_UNKNOWN_ID,
                    f"lists id {sid}, but {layout.segment_path(sid).name} does not exist")
        seen.add(sid)
    # Segment 0 need not be listed: the crate finds ids below the index's first start in segment
    # 0, and leaves 0 out when the stream directory existed before its first write (FORMAT.md,
    # "segments.idx"). An empty index likewise means "segment 0 only".
    for sid in sorted(files - seen - {0}):
        rec.add(path, None, INDEX_MISSING_ID, f"does not list {layout.segment_files[sid]}")


def _check_head_state(rec: Recorder, layout: StreamListing) -> None:
    path = layout.path / "head.state"
    if _check_unsound(rec, layout, "head.state"):
        return
    if layout.head_error is not None:
        rec.add(path, None, HEAD_STATE_INVALID, layout.head_error)
        return
    name = layout.head_segment
    if name is None:
        return
    start = parse_segment_name(name)
    if start is None or layout.segment_files.get(start) != name:
        rec.add(path, None, HEAD_STATE_MISSING_SEGMENT, f"names {name!r}, which does not exist")
    elif start != max(layout.segment_files):
        rec.add(path, None, HEAD_STATE_NOT_LAST, f"names {name}, but the last segment is "
                f"{layout.segment_files[max(layout.segment_files)]}")


class PendingStream:
    """A stream whose segments are queued on the pool; ``finish`` merges their results in segment order.

    Starting the next streams before this one is finished keeps every thread busy across stream
    boundaries: a root of many one-segment streams (a sharded root) is checked side by side too.
    Nothing is recorded before ``finish``, so the report's order is that of a serial run.
    """

    def __init__(self, rec: Recorder, path: Path, pool: Executor | None):
        self.rec, self.path = rec, path
        self.replay = StreamReplay()
        self.layout: StreamListing | None = None
        self.results: Iterator[tuple[Recorder, StreamTotals, SegmentEnd]] = iter(())
        self.jobs = 0
        try:
            self.layout = StreamListing.read(path)
        except OSError as err:
            self.error = err
            return
        ids = self.layout.segment_ids
        last = ids[-1] if ids else None
        layout = self.layout

        def one(sid: int) -> tuple[Recorder, StreamTotals, SegmentEnd]:
            sub, sub_totals = rec.child(), StreamTotals()
            end = audit_segment(sub, layout.segment_path(sid), sid, sub_totals, active=sid == last)
            return sub, sub_totals, end

        self.jobs = len(ids)
        if pool is None:
            self.results = map(one, ids)  # serial: each segment is checked when its turn comes
        else:
            futures = [pool.submit(one, sid) for sid in ids]
            self.results = (f.result() for f in futures)

    def finish(self, totals: StreamTotals, on_bytes: Callable[[int], None] | None = None) -> int | None:
        """Record every problem of the stream, in order; its next id (None if unreadable)."""
        rec, layout = self.rec, self.layout
        if layout is None:
            rec.add(self.path, None, UNREADABLE,
                    f"cannot read the stream directory: {self.error.strerror or self.error}")
            return None
        ids = layout.segment_ids
        prev_end = None  # where the previous segment's ids stop, when known for sure
        next_id = ids[0] if ids else 0
        lost = [r for r in layout.lost if not ids or r[1] > ids[0]]  # ranges pruned since are history
        events: list[ReplayEvent] = []
        pruned = _Pruned(self.path)
        for sid, (sub, sub_totals, end) in zip(ids, self.results, strict=True):
            if end.vanished and pruned(sid):
                prev_end = None  # deleted by a prune since the listing: not damage, nothing to count
                continue
            seg = layout.segment_path(sid)
            if prev_end is not None and sid > prev_end.next_id:
                a = prev_end.next_id
                lost.append((a, sid))
                events.append(ReplayEvent(a, STOPS_SILENTLY, f"ids {a}..{sid - 1} missing between segments", sid))
                rec.add(seg, None, REPLAY_STOPS_SILENTLY, f"ids {a}..{sid - 1} are missing before this segment: "
                        f"the crate's iterator ends silently after id {a - 1}; `ironwal recover` makes it fail "
                        "loudly there")
                if not covers(layout.lost, a, sid):
                    rec.add(seg, None, SEGMENT_GAP, f"ids {a}..{sid - 1} are missing before this "
                            f"segment (the previous one ends at id {a - 1})")
            elif prev_end is not None and sid < prev_end.next_id:
                rec.add(seg, None, SEGMENT_OVERLAP, f"starts at id {sid}, but the previous segment holds ids up "
                        f"to {prev_end.next_id - 1}")
            for first, stop in end.fillers:
                lost.append((first, stop))
                if not covers(layout.lost, first, stop):
                    rec.add(seg, None, LOST_UNRECORDED, f"a filler frame marks ids {first}..{stop - 1} lost, but "
                            "lost.idx does not record them")
            events += end.events
            rec.problems.extend(sub.problems)
            totals.merge(sub_totals)
            if on_bytes is not None:
                on_bytes(sub_totals.bytes)
            prev_end = end if end.certain else None
            next_id = end.next_id
        if layout.index_ids:  # the crate finds segments through the index: one it does not list is out of reach,
            # except segment 0, which its lookup takes for any id below the first listed start (FORMAT.md)
            for sid in sorted(set(ids) - set(layout.index_ids) - {0}):
                events.append(ReplayEvent(sid, STOPS_SILENTLY, f"{layout.segment_files[sid]} is not in segments.idx",
                                          None))
        self.replay = StreamReplay(merge(lost), sorted(events, key=lambda e: e.at_id))
        _check_small_files(rec, layout)
        return next_id


class _Pruned:
    """Whether a segment that vanished while the stream was checked was pruned: the index, read
    again (once per stream, only when a segment vanished), no longer lists it. A segment that
    disappears while the index still lists it is reported (``unreadable``): that is data lost."""

    def __init__(self, path: Path):
        self.path = path
        self.fresh: StreamListing | None = None

    def __call__(self, sid: int) -> bool:
        if self.fresh is None or self._listed(sid):  # read again: it may have vanished after the last read
            try:
                self.fresh = StreamListing.read(self.path)
            except OSError:
                return False
        return not self._listed(sid)  # (the file is gone: the failed read said so)

    def _listed(self, sid: int) -> bool:
        ids = self.fresh.index_ids
        return ids is None or sid in ids or (not ids and sid == 0)  # an empty index means "segment 0 only"


def audit_stream(rec: Recorder, path: Path, totals: StreamTotals,
                 on_bytes: Callable[[int], None] | None = None, pool: Executor | None = None,
                 replays: dict[str, StreamReplay] | None = None) -> int | None:
    """Record every problem of the stream directory at ``path``; its next id (None if unreadable).

    With a ``pool``, segments are checked on its threads (zlib releases the GIL while it computes
    a CRC, so one thread's CRC overlaps another's batch walk); results are merged in segment order.
    ``replays`` receives what the crate's replay will see of it, under the stream's name.
    """
    stream = PendingStream(rec, path, pool)
    next_id = stream.finish(totals, on_bytes)
    if replays is not None:
        replays[path.name] = stream.replay
    return next_id


def audit_streams(rec: Recorder, paths: Iterable[Path], totals: Callable[[Path], StreamTotals],
                  on_bytes: Callable[[int], None] | None = None, pool: Executor | None = None,
                  ahead: int = 0, replays: dict[str, StreamReplay] | None = None) -> Iterator[int | None]:
    """``audit_stream`` of each path in turn (yields each next id), with the segments of the following
    streams queued on the ``pool`` until about ``ahead`` segments wait: threads never idle at a stream's end."""
    paths = iter(paths)
    pending: deque[tuple[Path, PendingStream]] = deque()
    queued = 0

    def top_up() -> None:
        nonlocal queued
        while not pending or (pool is not None and queued < ahead):
            path = next(paths, None)
            if path is None:
                return
            pending.append((path, PendingStream(rec, path, pool)))
            queued += pending[-1][1].jobs

    top_up()
    while pending:
        path, stream = pending.popleft()
        queued -= stream.jobs
        top_up()
        next_id = stream.finish(totals(path), on_bytes)
        if replays is not None:
            replays[path.name] = stream.replay
        yield next_id


def _check_small_files(rec: Recorder, layout: StreamListing, settle: float = 0.05, tries: int = 5) -> None:
    """Strays, segments.idx and head.state against the segment files, from a snapshot that holds still.

    A rotation touches three files one after another (new segment, index, head.state via a
    temp file); a
    verifier reading them in between would report a mismatch on a healthy live stream. So a
    mismatch counts only when a fresh read a moment later sees the same directory. If it never
    holds still, a writer is rotating right now: its small files are in flux, not damaged, and
    nothing is reported for them. At rest (the usual case) a clean stream costs no extra read.
    """
    for _ in range(tries):
        sub = rec.child()
        check_strays(sub, layout.path, layout.other_files)
        if _check_unsound(sub, layout, LOST_NAME):
            pass
        elif layout.lost_error is not None:  # then its gaps are reported as unexplained ones
            sub.add(layout.path / LOST_NAME, None, UNEXPECTED_FILE, f"unreadable lost.idx: {layout.lost_error}")
        _check_index(sub, layout)
        _check_head_state(sub, layout)
        if not sub.problems:
            return
        time.sleep(settle)
        try:
            fresh = StreamListing.read(layout.path)
        except OSError:
            fresh = layout
        if fresh == layout:
            rec.problems.extend(sub.problems)
            return
        layout = fresh
