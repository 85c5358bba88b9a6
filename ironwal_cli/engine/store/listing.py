"""What a stream directory holds: its segment files, ``segments.idx`` and ``head.state``.

Read once per operation; nothing here writes. Damage in the small files is recorded, not
raised, so a reader can fall back on the segment file names and the verifier can report it.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from itertools import pairwise
from pathlib import Path

from ...spec.codec import HEAD_STATE_PREFIX, INDEX_ID, decode_head_state, decode_index
from .files import NOT_REGULAR_FILE, NotRegularFileError, read_small
from .lost_ids import LOST_NAME, decode_lost
from .names import HEAD_STATE_NAME, INDEX_NAME, parse_segment_name, segment_name
from .roots import is_foreign_stream
from .seals import SEALS_NAME, SEALS_TEMP

OVERSIZED_FILE = "oversized_file"  # the problem kind of a small file larger than it can sensibly be

# The most each small file can sensibly hold, given the segment files there are (``files``): the
# crate lists each segment once (twice after an entry too big for an empty segment), recover
# records at most one lost range per gap between segments, and a name is at most 255 bytes.
# Generous floors keep a stream whose files were pruned or lost from ever tripping them.
HEAD_STATE_LIMIT = HEAD_STATE_PREFIX.size + 255


def index_limit(files: int) -> int:
    return INDEX_ID.size * (2 * files + 64)


def lost_limit(files: int) -> int:
    return 2 * INDEX_ID.size * (2 * files + 1024)


class StreamListing:
    """One look at a stream directory (``read``). A plain class rather than a dataclass: importing
    ``dataclasses`` (it imports ``inspect``) costs ~8 ms of the start of every command that lists a
    stream. Listings compare equal when they found the same (``audit`` re-reads to see a change)."""

    FIELDS = ("path", "segment_files", "index_ids", "index_error", "head_segment", "head_error",
              "other_files", "lost", "lost_error", "foreign", "unsound")

    def __init__(self, path: Path):
        self.path = path
        self.segment_files: dict[int, str] = {}  # start id -> file name
        self.index_ids: list[int] | None = None  # None: missing or unreadable
        self.index_error: str | None = None
        self.head_segment: str | None = None
        self.head_error: str | None = None
        self.other_files: list[str] = []
        self.lost: list[tuple[int, int]] = []  # ranges recover recorded in lost.idx
        self.lost_error: str | None = None
        self.foreign = False  # holds files, none of them a stream's (engine/store/roots.py): not a stream
        # small file name -> (problem kind, message) when it is no regular file or is oversized: then it
        # is not decoded at all (its *_error says so) and verify reports that kind instead
        self.unsound: dict[str, tuple[str, str]] = {}
        self._present: frozenset[str] = frozenset()  # the small files the listing showed: only those are read

    def _found(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return self._found() == other._found() if isinstance(other, StreamListing) else NotImplemented

    __hash__ = None  # mutable while read

    def __repr__(self) -> str:
        return f"StreamListing({', '.join(f'{name}={getattr(self, name)!r}' for name in self.FIELDS)})"

    @classmethod
    def read(cls, path: str | os.PathLike) -> StreamListing:
        layout = cls(Path(path))
        names = os.listdir(path)
        layout._present = frozenset(n for n in (INDEX_NAME, LOST_NAME, HEAD_STATE_NAME) if n in names)
        layout.foreign = is_foreign_stream(names)
        for name in names:
            start = parse_segment_name(name)
            if start is not None:
                layout.segment_files[start] = name
            elif name not in (INDEX_NAME, HEAD_STATE_NAME, LOST_NAME, SEALS_NAME, SEALS_TEMP):
                layout.other_files.append(name)
        files = len(layout.segment_files)
        raw = layout._small(INDEX_NAME, index_limit(files), "an index of these segment files")
        if raw is None:
            layout.index_error = layout._error(INDEX_NAME, "missing")
        else:
            try:
                layout.index_ids = decode_index(raw)
            except ValueError as err:
                layout.index_error = str(err)
        raw = layout._small(LOST_NAME, lost_limit(files), "a lost.idx of these segment files")
        if raw is not None:
            try:
                layout.lost = decode_lost(raw)
            except ValueError as err:
                layout.lost_error = str(err)
        elif LOST_NAME in layout.unsound:
            layout.lost_error = layout._error(LOST_NAME, "")
        raw = layout._small(HEAD_STATE_NAME, HEAD_STATE_LIMIT, "a head.state")
        if raw is None and HEAD_STATE_NAME in layout.unsound:
            layout.head_error = layout._error(HEAD_STATE_NAME, "")
        elif raw is not None:
            try:
                layout.head_segment = decode_head_state(raw)
            except (ValueError, UnicodeDecodeError) as err:
                layout.head_error = str(err)
        return layout

    def _small(self, name: str, limit: int, what: str) -> bytes | None:
        """The bytes of small file ``name``; None when it is absent, oversized or no regular file
        (recorded in ``unsound``, so it is reported as such and never decoded). One the listing did not
        show is not looked for (a ``get`` lists a stream, then reads only what is there)."""
        if name not in self._present:
            return None
        try:
            found = read_small(self.path / name, limit)
        except NotRegularFileError as err:
            self.unsound[name] = (NOT_REGULAR_FILE, err.detail)
            return None
        if found is not None and found.oversized:
            self.unsound[name] = (OVERSIZED_FILE, found.excess(what))
            return None
        return None if found is None else found.data

    def _error(self, name: str, otherwise: str) -> str:
        return self.unsound[name][1] if name in self.unsound else otherwise

    @property
    def index_is_sorted(self) -> bool:
        ids = self.index_ids or []
        return all(a <= b for a, b in pairwise(ids))

    @property
    def segment_ids(self) -> list[int]:
        """Start ids of the segments that exist, ascending: what readers walk."""
        return sorted(self.segment_files)

    def active_id(self) -> int | None:
        """The segment a writer appends to: the latest named by the index, head.state or a file.

        The crate takes the later of head.state and the index; a segment file beyond both
        (a crash between creating it and indexing it) is taken too, so no id is ever reused.
        """
        candidates = list(self.segment_files)
        if self.index_ids:
            candidates.append(self.index_ids[-1])
        if self.head_segment is not None:
            start = parse_segment_name(self.head_segment)
            if start is not None:
                candidates.append(start)
        return max(candidates) if candidates else None

    def segment_for(self, entry_id: int) -> int | None:
        """Start id of the segment that would hold ``entry_id`` (the last start <= id)."""
        ids = self.segment_ids
        i = bisect_right(ids, entry_id)
        return ids[i - 1] if i else None

    def segment_path(self, start_id: int) -> Path:
        return self.path / self.segment_files.get(start_id, segment_name(start_id))
