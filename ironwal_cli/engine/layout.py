"""What a stream directory holds: its segment files, ``segments.idx`` and ``head.state``.

Read once per operation; nothing here writes. Damage in the small files is recorded, not
raised, so a reader can fall back on the segment file names and the verifier can report it.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from ..spec.codec import decode_head_state, decode_index
from .files import read_file
from .lost_ids import LOST_NAME, decode_lost
from .names import HEAD_STATE_NAME, INDEX_NAME, parse_segment_name, segment_name
from .roots import is_foreign_stream
from .seals import SEALS_NAME, SEALS_TEMP


@dataclass
class StreamLayout:
    path: Path
    segment_files: dict[int, str] = field(default_factory=dict)  # start id -> file name
    index_ids: list[int] | None = None  # None: missing or unreadable
    index_error: str | None = None
    head_segment: str | None = None
    head_error: str | None = None
    other_files: list[str] = field(default_factory=list)
    lost: list[tuple[int, int]] = field(default_factory=list)  # ranges recover recorded in lost.idx
    lost_error: str | None = None
    foreign: bool = False  # holds files, none of them a stream's (engine/roots.py): not a stream

    @classmethod
    def read(cls, path: str | os.PathLike) -> StreamLayout:
        layout = cls(Path(path))
        names = os.listdir(path)
        layout.foreign = is_foreign_stream(names)
        for name in names:
            start = parse_segment_name(name)
            if start is not None:
                layout.segment_files[start] = name
            elif name not in (INDEX_NAME, HEAD_STATE_NAME, LOST_NAME, SEALS_NAME, SEALS_TEMP):
                layout.other_files.append(name)
        raw = read_file(layout.path / INDEX_NAME)
        if raw is None:
            layout.index_error = "missing"
        else:
            try:
                layout.index_ids = decode_index(raw)
            except ValueError as err:
                layout.index_error = str(err)
        raw = read_file(layout.path / LOST_NAME)
        if raw is not None:
            try:
                layout.lost = decode_lost(raw)
            except ValueError as err:
                layout.lost_error = str(err)
        raw = read_file(layout.path / HEAD_STATE_NAME)
        if raw is not None:
            try:
                layout.head_segment = decode_head_state(raw)
            except (ValueError, UnicodeDecodeError) as err:
                layout.head_error = str(err)
        return layout

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
