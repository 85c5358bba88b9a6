"""Planning the repair of one stream directory (see ``format/RECOVERY.md``).

Segments: the scanner finds each damaged range and the next intact frame after it. A
damaged range is quarantined. When ids are missing after it, the segment is split there:
the intact frames after the damage move to a new segment named by the first id they hold,
so no reader can take a later entry for a lost one, and the gap lies between segments,
where every reader of ours reports it. A torn tail of the active segment is cut off (it was
never acknowledged). ``segments.idx`` and ``head.state`` are then rebuilt from the segment
files when they are missing, unreadable or disagree; stray ``*.tmp`` files are removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from itertools import pairwise

from ..errors import FormatError
from ..spec.codec import FRAME_MAGIC, FRAME_RAW, HEADER_SIZE, FrameHeader, encode_head_state, encode_index
from . import seals
from .files import TEMP_SUFFIX, read_file
from .layout import StreamLayout
from .lost_ids import LOST_NAME, covers, encode_lost, merge
from .names import HEAD_STATE_NAME, INDEX_NAME, parse_segment_name, segment_name
from .repair_plan import CREATE, DELETE, KEEP, METADATA, SHRINK, FileChange, Note, Piece, Plan, Removal
from .repair_scan import Patched, repair_items
from .scan import BAD_CRC, TORN_HEADER, TORN_PAYLOAD, Problem, map_file, map_or_none


@dataclass
class _Output:
    """A segment file as it will be: runs of the original segment's bytes, and repaired headers."""

    start_id: int
    pieces: list[Piece] = field(default_factory=list)
    end_id: int = -1  # one past its last id (its start id while it is empty)

    def __post_init__(self) -> None:
        self.end_id = max(self.end_id, self.start_id)

    def add(self, source: str, offset: int, end: int) -> None:
        last = self.pieces[-1] if self.pieces else None
        if last is not None and last.source == source and last.offset + last.length == offset:
            self.pieces[-1] = Piece(source, last.offset, end - last.offset)
        else:
            self.pieces.append(Piece(source, offset, end - offset))


def _reservable(header: FrameHeader | None, expected: int) -> bool:
    """A complete frame with a bad CRC that names the expected id: its ids were probably
    acknowledged once, so they are kept out of reach of the next append."""
    if header is None or header.magic != FRAME_MAGIC or header.start_id != expected or header.entry_count < 1:
        return False
    size = header.disk_size if header.frame_type == FRAME_RAW else header.uncompressed_size
    return header.entry_count <= size // 4


class StreamPlanner:
    """Builds the Plan for one stream directory ``rel`` (relative to ``root``)."""

    def __init__(self, root, rel: str, floor: int = 0, full: bool = False):
        self.root = root
        self.full = full  # read every segment, sealed or not
        self.floor = floor  # ids below it were handed out (a checkpoint of a sharded root covers them)
        self.rel = rel
        self.path = os.path.join(root, rel)
        self.layout = StreamLayout.read(self.path)
        self.plan = Plan()
        self.gaps: list[tuple[int, int]] = []  # id ranges [a, b) missing between segments after the repair
        self.ends: dict[int, int] = {}  # start id -> one past the last id, of every segment as planned
        self.seals, bad_seals = seals.read_seals(self.path)
        self.sealed = seals.matching(self.seals, self.layout.segment_files, self.path)  # start -> seal still valid
        self.seals_stale = (bad_seals > 0 or len(self.seals) > len(self.sealed)
                            or os.path.lexists(os.path.join(self.path, seals.SEALS_TEMP)))
        self.skipped: dict[int, int] = {}  # start id -> size of each sealed segment not read
        self.read_stats: dict[int, tuple] = {}  # start id -> stat key of each segment read, before reading
        self.final: dict[int, str] = {}  # start id -> file name, of the segments as the repair leaves them

    def _rel(self, name: str) -> str:
        return f"{self.rel}/{name}"

    def build(self) -> Plan:
        segments = dict(self.layout.segment_files)  # start id -> name, as it will be
        active = max(segments) if segments else None
        new_files: dict[int, FileChange] = {}
        for start in sorted(self.layout.segment_files):
            name = self.layout.segment_files[start]
            seal = self.sealed.get(start)
            if seal is not None and not self.full:
                self.ends[start] = seal.end_id  # synced when sealed, unchanged since: not read
                self.skipped[start] = seal.size
                continue
            outputs = self._plan_segment(start, name, is_active=start == active)
            self.ends.update((out.start_id, out.end_id) for out in outputs)  # a segment's own scan wins
            for out in outputs[1:]:
                change = self._new_segment(out, name, segments)
                new_files[out.start_id] = change
                segments[out.start_id] = segment_name(out.start_id)
        self._reserve_claimed_ids(segments, new_files)
        self.plan.changes += new_files.values()
        self.final = segments
        final = sorted(segments)
        self.gaps = [(self.ends[a], b) for a, b in pairwise(final) if b > self.ends[a]]
        self._plan_index(final)
        self._plan_head(final)
        self._plan_lost()
        self._plan_temp_files()
        return self.plan

    # ----- segments ---------------------------------------------------------------------

    def _plan_segment(self, start: int, name: str, is_active: bool) -> list[_Output]:
        rel = self._rel(name)
        path = os.path.join(self.path, name)
        self.read_stats[start] = seals.stat_key(os.stat(path))
        data = map_file(path)
        outputs = [_Output(start)]
        expected = start
        damage: Problem | None = None
        removals: list[Removal] = []
        for item in repair_items(data):
            if isinstance(item, Problem):
                torn = item.kind in (TORN_HEADER, TORN_PAYLOAD) and item.offset + item.length == len(data)
                label = "torn tail" if torn else item.kind
                removals.append(Removal(rel, item.offset, item.length, f"{label}: {item.message}"))
                damage = item
                continue
            if isinstance(item, Patched):
                start_id, end_id = item.start_id, item.end_id
            else:
                start_id, end_id = item.header.start_id, item.header.end_id
            if damage is not None and start_id > expected:
                outputs.append(_Output(start_id))
            damage = None
            if isinstance(item, Patched):  # intact data, damaged header fields: a new header, the old saved
                removals.append(Removal(rel, item.offset, HEADER_SIZE, item.reason))
                outputs[-1].pieces.append(Piece(None, data=item.header))
                outputs[-1].add(rel, item.offset + HEADER_SIZE, item.end_offset)
            else:
                outputs[-1].add(rel, item.offset, item.end_offset)
            expected = max(expected, end_id)
            outputs[-1].end_id = max(outputs[-1].end_id, end_id)
        if not removals:
            return outputs
        if damage is not None and is_active and damage.kind == BAD_CRC and _reservable(damage.header, expected):
            # The last frame was complete and is damaged: keep its ids reserved with an empty segment.
            outputs.append(_Output(damage.header.end_id))
        self.plan.originals[rel] = data
        self.plan.removals += removals
        kept = outputs[0]
        self.plan.changes.append(FileChange(rel, SHRINK, kept.pieces, self._describe(removals, outputs)))
        return outputs

    def _describe(self, removals: list[Removal], outputs: list[_Output]) -> str:
        parts = [f"quarantined {r.length} bytes at offset {r.offset} ({r.reason.split(':')[0]})" for r in removals]
        for out in outputs[1:]:
            parts.append(f"ids from {out.start_id} continue in {segment_name(out.start_id)}")
        return "; ".join(parts)

    def _reserve_claimed_ids(self, segments: dict[int, str], new_files: dict[int, FileChange]) -> None:
        """A segment id that segments.idx or head.state names beyond the data (a rotation whose file
        is gone) means those ids were handed out: an empty segment keeps them reserved, as the
        crate and our writer would take that id as the active segment anyway."""
        claimed = list(self.layout.index_ids or [])
        head = parse_segment_name(self.layout.head_segment or "")
        if head is not None:
            claimed.append(head)
        top, why = max(claimed, default=0), "segments.idx or head.state names it"
        if self.floor > top:
            top, why = self.floor, f"a checkpoint covers the ids below {self.floor}"
        next_id = self.ends[max(segments)] if segments else 0
        if top <= next_id or top in segments:
            return
        new_files[top] = FileChange(self._rel(segment_name(top)), CREATE, [],
                                    f"new empty segment: {why}; ids {next_id}..{top - 1} stay reserved")
        segments[top] = segment_name(top)
        self.ends[top] = top

    def _new_segment(self, out: _Output, source_name: str, segments: dict[int, str]) -> FileChange:
        name = segment_name(out.start_id)
        rel = self._rel(name)
        what = (f"new segment holding ids from {out.start_id} (intact frames after damage in {source_name})"
                if out.pieces else f"new empty segment: ids below {out.start_id} stay reserved")
        change = FileChange(rel, CREATE, out.pieces, what)
        if out.start_id in segments:
            # Only a rerun after a crash finds it: it must already start with exactly these bytes.
            existing = read_file(os.path.join(self.path, name)) or b""
            if not existing.startswith(self.plan.content(change)):
                raise FormatError(os.path.join(self.path, name), None,
                                  f"recover would split {source_name} into this segment, but it exists with "
                                  "other content; repair it by hand", kind="split_conflict")
            self.plan.originals[rel] = existing
            return FileChange(rel, KEEP, out.pieces, f"already holds the intact frames of {source_name}")
        return change

    # ----- segments.idx, head.state, temp files -------------------------------------------

    def _replace_small(self, name: str, new: bytes, what: str, reason: str) -> None:
        rel = self._rel(name)
        old = map_or_none(os.path.join(self.path, name))  # mapped: a planted 1 GiB file is never read whole
        self.plan.originals[rel] = old
        if old:
            self.plan.removals.append(Removal(rel, 0, len(old), reason))
        self.plan.changes.append(FileChange(rel, METADATA, [Piece(None, data=new)], what))

    def _plan_index(self, final: list[int]) -> None:
        layout = self.layout
        ids = layout.index_ids
        if ids is None and not final:
            return  # a directory with nothing in it: nothing to index
        wanted = final or [0]
        if ids is not None:
            if not ids and set(final) <= {0}:
                return  # an empty index means "segment 0 only"
            if layout.index_is_sorted and set(ids) == set(wanted):
                return  # duplicates the crate itself writes are harmless
            problem = "out of order" if not layout.index_is_sorted else (
                f"lists {_ids(ids)}, the segment files are {_ids(wanted)}")
        else:
            problem = layout.index_error or "unreadable"
        self._replace_small(INDEX_NAME, encode_index(wanted), f"rebuilt from the segment files ({problem})",
                            f"segments.idx replaced: {problem}")

    def _plan_head(self, final: list[int]) -> None:
        layout = self.layout
        if not final:
            return
        wanted = segment_name(final[-1])
        needed = len(final) > 1 or final[-1] != 0
        if layout.head_error is not None:
            problem = f"unreadable: {layout.head_error}"
        elif layout.head_segment is None:
            if not needed:
                return
            problem = "missing"
        elif layout.head_segment != wanted:
            problem = f"stale: names {layout.head_segment}, the active segment is {wanted}"
        else:
            return
        self._replace_small(HEAD_STATE_NAME, encode_head_state(wanted), f"rewritten ({problem})",
                            f"head.state replaced: {problem}")

    def _plan_lost(self) -> None:
        """Record the ids this repair finds lost in lost.idx, so verify tells them from an unexplained gap."""
        wanted = merge(self.layout.lost + self.gaps)
        if wanted == self.layout.lost and self.layout.lost_error is None:
            return
        problem = f"unreadable: {self.layout.lost_error}" if self.layout.lost_error else "ids lost to damage"
        self._replace_small(LOST_NAME, encode_lost(wanted), f"records {_ranges(wanted)} ({problem})",
                            f"lost.idx replaced: {problem}")

    def _plan_temp_files(self) -> None:
        for name in sorted(self.layout.other_files):
            full = os.path.join(self.path, name)
            if not name.endswith(TEMP_SUFFIX) or not os.path.isfile(full) or os.path.islink(full):
                continue
            rel = self._rel(name)
            data = map_or_none(full) or b""
            self.plan.originals[rel] = data
            if data:
                self.plan.removals.append(Removal(rel, 0, len(data), "stray temp file of an interrupted rename"))
            self.plan.changes.append(FileChange(rel, DELETE, [], f"stray temp file removed ({len(data)} bytes saved)"))

    def notes(self) -> None:
        for a, b in self.gaps:
            if covers(self.layout.lost, a, b):
                continue  # recorded by an earlier run
            self.plan.notes.append(Note(self.rel, f"ids {a}..{b - 1} are lost; readers report the gap"))

    # ----- seals.idx, after a real run ------------------------------------------------------

    def record_seals(self) -> None:
        """Seal every segment this run read whole and found intact, or wrote itself.

        Called after the plan is applied, under the stream lock: the next recover then reads only
        what changed since. A segment read here is sealed only if its stat is what it was before
        it was read (nothing wrote to it meanwhile), and only after an fdatasync (the crate leaves
        some segments unsynced). seals.idx is rewritten, keeping the records of live segments
        only, when the repair changed a file or the file held bad or stale records; otherwise the
        new records are appended. Records of segments deleted later (prune) are harmless: a
        record counts only while its segment's name and stat match. The repair is done by now, so
        a failure to write this cache is a note, not an error.
        """
        try:
            self._record_seals()
        except OSError as err:
            self.plan.notes.append(Note(self.rel, f"{seals.SEALS_NAME} not updated ({err.strerror or err}): the next "
                                        "recover reads these segments again"))

    def _record_seals(self) -> None:
        still = seals.matching(self.seals, self.final, self.path)
        changed = {c.path for c in self.plan.changes if c.kind != KEEP}
        new = []
        for start in sorted(self.final):
            name = self.final[start]
            if start in still or (self._rel(name) not in changed and start not in self.read_stats):
                continue
            try:
                st = seals.sealable_stat(os.path.join(self.path, name),
                                         None if self._rel(name) in changed else self.read_stats[start])
            except FileNotFoundError:
                continue
            if st is not None:
                new.append(seals.seal_of(start, self.ends[start], st))
        if self.seals_stale or (not self.plan.empty and (self.seals or new)):
            seals.rewrite_seals(self.path, [*still.values(), *new])
        elif new:
            seals.append_seals(self.path, new)


def _ranges(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a}..{b - 1}" for a, b in ranges)


def _ids(ids: list[int]) -> str:
    return "[" + ", ".join(map(str, ids[:8])) + (", ...]" if len(ids) > 8 else "]")


def plan_stream(root, rel: str, floor: int = 0, full: bool = False) -> StreamPlanner:
    """The planner of stream directory ``rel``, its plan built: ``.plan``, ``.gaps`` (the id ranges
    it leaves missing), ``.skipped`` (the sealed segments it did not read).

    ``floor``: ids below it were handed out (by a checkpoint of a sharded root) and are never reused.
    ``full``: read every segment, ignoring seals.
    """
    planner = StreamPlanner(root, rel, floor, full)
    plan = planner.build()
    if not plan.empty:
        planner.notes()
    return planner
