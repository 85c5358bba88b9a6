"""Planning the repair of one stream directory (see ``format/RECOVERY.md``).

Segments: the scanner finds each damaged range and the next intact frame after it. A
damaged range is quarantined. Where ids are lost (after damage, or skipped by a frame cut
cleanly out), a filler frame takes their place in the same segment (``spec`` ``lost_filler``:
a frame with a bad CRC by construction), and a gap between segments (a segment deleted, the
first one gone, a split left by an older recover, ids reserved beyond the data) becomes a
filler segment named by its first lost id. So the crate's iterator fails loudly at the first
lost id instead of ending silently, its count of the active segment's ids stays right, and
our readers report the ids as lost. A torn tail of the active segment is cut off (it was never
acknowledged). ``segments.idx`` and ``head.state`` are then rebuilt from the segment files
when they are missing, unreadable or disagree; stray ``*.tmp`` files are removed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from ...errors import FormatError
from ...spec.codec import (
    FRAME_MAGIC,
    FRAME_RAW,
    HEADER_SIZE,
    FrameHeader,
    encode_head_state,
    encode_index,
    encode_lost_fillers,
)
from ..frames.scan import BAD_CRC, LOST_FILLER, TORN_PAYLOAD, Problem, map_file, map_or_none
from ..store import seals
from ..store.files import TEMP_SUFFIX, read_file
from ..store.listing import StreamListing
from ..store.lost_ids import LOST_NAME, encode_lost, merge
from ..store.names import HEAD_STATE_NAME, INDEX_NAME, parse_segment_name, segment_name
from .items import Patched, repair_items
from .plan import CREATE, DELETE, KEEP, METADATA, SHRINK, FileChange, Note, Piece, Plan, Removal

# The most ids one gap may hold for recover to fill it (256 filler frames, 8 KiB): more than 10^12
# entries never vanish with one segment, so a larger gap is a damaged name or index (a segment
# called 18446744073709551613.wal, a flipped high bit), and filling it would write gigabytes of
# fillers for a number a planted file claims (issue 17: bounds grow with the data, not the claim).
MAX_FILLED_GAP = 1 << 40


@dataclass
class _Output:
    """A segment file as it will be: runs of the original segment's bytes, repaired headers and fillers."""

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


@dataclass(frozen=True)
class TornTail:
    """The torn final write cut off the active segment: never acknowledged, so its ids are taken again."""

    first_id: int  # the next append's id
    end_id: int | None  # one past the ids the torn frame's header named, when a header was whole
    length: int  # bytes cut


class StreamPlanner:
    """Builds the Plan for one stream directory ``rel`` (relative to ``root``)."""

    def __init__(self, root, rel: str, floor: int = 0, full: bool = False,
                 on_segment: Callable[[int], None] | None = None):
        self.root = root
        self.on_segment = on_segment or (lambda size: None)  # told each segment's size once it is planned
        self.full = full  # read every segment, sealed or not
        self.floor = floor  # ids below it were handed out (a checkpoint of a sharded root covers them)
        self.rel = rel
        self.path = os.path.join(root, rel)
        self.layout = StreamListing.read(self.path)
        self.plan = Plan()
        self.gaps: list[tuple[int, int]] = []  # id ranges [a, b) this repair finds lost (now filled)
        self.lost: list[tuple[int, int]] = []  # every lost range lost.idx holds after the repair
        self.torn: TornTail | None = None
        self.ends: dict[int, int] = {}  # start id -> one past the last id, of every segment as planned
        self.seals, bad_seals = seals.read_seals(self.path)
        self.sealed = seals.matching(self.seals, self.layout.segment_files, self.path)  # start -> seal still valid
        self.seals_stale = (bad_seals > 0 or len(self.seals) > len(self.sealed)
                            or os.path.lexists(os.path.join(self.path, seals.SEALS_TEMP)))
        self.skipped: dict[int, int] = {}  # start id -> size of each sealed segment not read
        self.read_stats: dict[int, tuple] = {}  # start id -> stat key of each segment read, before reading
        self.final: dict[int, str] = {}  # start id -> file name, of the segments as the repair leaves them
        self._found: list[tuple[int, int]] = []  # lost ranges seen: fillers in place, and new ones
        self._rewrites: dict[int, FileChange] = {}  # start id -> the change rewriting that segment

    def _rel(self, name: str) -> str:
        return f"{self.rel}/{name}"

    def build(self) -> Plan:
        segments = dict(self.layout.segment_files)  # start id -> name, as it will be
        active = max(segments) if segments else None
        for start in sorted(self.layout.segment_files):
            name = self.layout.segment_files[start]
            seal = self.sealed.get(start)
            if seal is not None and not self.full:
                self.ends[start] = seal.end_id  # synced when sealed, unchanged since: not read
                self.skipped[start] = seal.size
                self.on_segment(seal.size)
                continue
            self.ends[start] = self._plan_segment(start, name, is_active=start == active)
            self.on_segment(os.path.getsize(os.path.join(self.path, name)))
        self._fill_between(segments)
        self.final = segments
        final = sorted(segments)
        self.lost = merge(self.layout.lost + self._found)
        self._plan_index(final)
        self._plan_head(final)
        self._plan_lost()
        self._plan_temp_files()
        return self.plan

    # ----- segments ---------------------------------------------------------------------

    def _lose(self, out: _Output, first: int, end: int) -> None:
        """Ids ``first..end-1`` are lost here: a filler frame stands for them in ``out``."""
        out.pieces.append(Piece(None, data=encode_lost_fillers(first, end)))
        out.end_id = max(out.end_id, end)
        self.gaps.append((first, end))
        self._found.append((first, end))

    def _plan_segment(self, start: int, name: str, is_active: bool) -> int:
        """Plan segment ``start``; one past the last id it holds after the repair."""
        rel = self._rel(name)
        path = os.path.join(self.path, name)
        self.read_stats[start] = seals.stat_key(os.stat(path))
        data = map_file(path)
        out = _Output(start)
        expected = start
        damage: Problem | None = None
        removals: list[Removal] = []
        filled = False
        for item in repair_items(data):
            if isinstance(item, Problem) and item.kind == LOST_FILLER:  # a loss filled by an earlier run
                start_id, end_id = item.header.start_id, item.header.end_id
                self._found.append((start_id, end_id))
            elif isinstance(item, Problem):
                torn = item.incomplete and item.offset + item.length == len(data)
                label = "torn tail" if torn else item.kind
                removals.append(Removal(rel, item.offset, item.length, f"{label}: {item.message}"))
                damage = item
                continue
            elif isinstance(item, Patched):
                start_id, end_id = item.start_id, item.end_id
            else:
                start_id, end_id = item.header.start_id, item.header.end_id
            if start_id > expected:  # ids lost to the damage before, or skipped by a frame cut out
                self._lose(out, expected, start_id)
                filled = True
            damage = None
            if isinstance(item, Patched):  # intact data, damaged header fields: a new header, the old saved
                removals.append(Removal(rel, item.offset, HEADER_SIZE, item.reason))
                out.pieces.append(Piece(None, data=item.header))
                out.add(rel, item.offset + HEADER_SIZE, item.end_offset)
            elif isinstance(item, Problem):  # the filler stays where it is
                out.add(rel, item.offset, item.offset + item.length)
            else:
                out.add(rel, item.offset, item.end_offset)
            expected = max(expected, end_id)
            out.end_id = max(out.end_id, end_id)
        if not removals and not filled:
            return out.end_id
        if damage is not None and is_active:
            if damage.kind == BAD_CRC and _reservable(damage.header, expected):
                # The last frame was complete and is damaged: it may have been acknowledged, its ids stay taken.
                self._lose(out, expected, damage.header.end_id)
            else:
                h = damage.header
                whole = damage.kind == TORN_PAYLOAD and h is not None and h.start_id == expected
                self.torn = TornTail(expected, h.end_id if whole else None, damage.length)
        self.plan.originals[rel] = data
        self.plan.removals += removals
        self._rewrites[start] = FileChange(rel, SHRINK, out.pieces, self._describe(removals, out))
        self.plan.changes.append(self._rewrites[start])
        return out.end_id

    def _describe(self, removals: list[Removal], out: _Output) -> str:
        parts = [f"quarantined {r.length} bytes at offset {r.offset} ({r.reason.split(':')[0]})" for r in removals]
        lost = [g for g in self.gaps if out.start_id <= g[0] < out.end_id]
        if lost:
            parts.append(f"filler frames for lost ids {_ranges(lost)}")
        return "; ".join(parts)

    def _claimed_top(self, next_id: int) -> tuple[int, str]:
        """The id below which ids were handed out, by the evidence beyond the segment files.

        segments.idx and head.state each name the active segment, and a rotation writes both. A
        single file naming an id beyond the data (one flipped bit turns 10 into 4.6e18) is not
        evidence of entries: only both agreeing on it, or a checkpoint of a sharded root (whose
        offsets a consumer may have acted on), keeps the ids below it reserved."""
        head = parse_segment_name(self.layout.head_segment or "")
        index = self.layout.index_ids or []
        top, why = next_id, ""
        if head is not None and index and self.layout.index_is_sorted and index[-1] == head and head > top:
            top, why = head, "segments.idx and head.state name it"
        for claim, what in ((index[-1] if index else None, "segments.idx"), (head, "head.state")):
            if claim is not None and claim > top and claim not in self.layout.segment_files:
                self.plan.notes.append(Note(self.rel, f"{what} names segment {claim} beyond the data (which ends "
                                            f"at id {next_id}) and nothing else supports it: not taken as evidence "
                                            "of entries"))
        if self.floor > top:
            top, why = self.floor, f"a checkpoint covers the ids below {self.floor}"
        return top, why

    def _fill_between(self, segments: dict[int, str]) -> None:
        """Every gap between segments (a segment deleted, the first one gone while segments.idx still
        names it, an older recover's split, ids claimed beyond the data) becomes a filler segment named
        by its first lost id, so the crate's iterator fails there instead of ending silently.

        A gap of more than ``MAX_FILLED_GAP`` ids is no loss of entries but a damaged name or index:
        claimed by segments.idx or head.state alone, it is noted and not taken as evidence; between
        two segment files, recover refuses the stream (exit 3) rather than write fillers for it."""
        starts = sorted(segments)
        if not starts:
            return
        wanted: list[tuple[int, int, str, str | None]] = []  # (first, stop, why, the file beyond: None if a claim)
        index = self.layout.index_ids or []
        if self.layout.index_is_sorted and index and index[0] < starts[0]:
            wanted.append((index[0], starts[0], f"segments.idx names segment {index[0]}, whose file is gone", None))
        for a, b in pairwise(starts):
            if self.ends[a] < b:
                wanted.append((self.ends[a], b, f"ids {self.ends[a]}..{b - 1} lie between {segments[a]} and "
                               f"{segments[b]}", segments[b]))
        end = self.ends[starts[-1]]
        top, why = self._claimed_top(end)
        if top > end:
            wanted.append((end, top, f"{why}; ids {end}..{top - 1} stay reserved", None))
        for first, stop, why, beyond in wanted:
            if stop - first <= MAX_FILLED_GAP:
                self._fill_after(segments, first, stop, why)
            elif beyond is None:
                self.plan.notes.append(Note(self.rel, f"{why.split(';')[0]}: {stop - first} ids, more than any "
                                            "stream holds (a damaged small file, not lost entries): not filled"))
            else:
                raise FormatError(Path(self.path) / beyond, None, f"{why}: a gap of {stop - first} ids, more than "
                                  "any stream holds (a damaged segment name, not lost entries); recover will not "
                                  "fill it: move the segment aside by hand", kind="gap_too_large")

    def _fill_after(self, segments: dict[int, str], first: int, stop: int, why: str) -> None:
        """Filler frames for ``first..stop-1``: at the end of the segment ending at ``first`` when this
        repair rewrites it or it is empty (an older recover left the first segment of a split empty),
        else in a new segment named ``first``."""
        before = max((s for s in segments if s <= first), default=None)
        filler = Piece(None, data=encode_lost_fillers(first, stop))
        what = f"filler frames for lost ids {first}..{stop - 1} ({why})"
        if before is not None and self.ends[before] == first and (before in self._rewrites or before == first):
            change = self._rewrites.get(before)
            if change is None:
                rel = self._rel(segments[before])
                self.plan.originals[rel] = read_file(os.path.join(self.path, segments[before])) or b""
                change = self._rewrites[before] = FileChange(rel, SHRINK, [], "")
                self.plan.changes.append(change)
            change.pieces.append(filler)
            change.what = f"{change.what}; {what}" if change.what else what
        else:
            name = segment_name(first)
            self.plan.changes.append(FileChange(self._rel(name), CREATE, [filler], f"new segment: {what}"))
            segments[first] = name
            before = first
        self.ends[before] = stop
        self.gaps.append((first, stop))
        self._found.append((first, stop))

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
        wanted = final or [0]  # no segment at all: an empty stream (a first append failed, or was killed)
        if ids is not None:
            if not ids and set(final) <= {0}:
                return  # an empty index means "segment 0 only"
            if layout.index_is_sorted and set(ids) in (set(wanted), set(wanted) - {0}):
                return  # duplicates the crate itself writes are harmless; 0 need not be listed
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
        wanted = self.lost
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
        for a, b in merge(self.gaps):
            self.plan.notes.append(Note(self.rel, f"ids {a}..{b - 1} are lost; the crate's iterator fails at id {a}, "
                                        f"readers report them lost; replay resumes at id {b}"))
        if self.torn is not None:
            t = self.torn
            ids = f"ids {t.first_id}..{t.end_id - 1}" if t.end_id else f"the write of ids from {t.first_id}"
            self.plan.notes.append(Note(self.rel, f"torn tail cut ({t.length} bytes): {ids}, never acknowledged; "
                                        f"the next append takes id {t.first_id} again"))

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


def plan_stream(root, rel: str, floor: int = 0, full: bool = False,
                on_segment: Callable[[int], None] | None = None) -> StreamPlanner:
    """The planner of stream directory ``rel``, its plan built: ``.plan``, ``.gaps`` (the id ranges
    it leaves missing), ``.skipped`` (the sealed segments it did not read).

    ``floor``: ids below it were handed out (by a checkpoint of a sharded root) and are never reused.
    ``full``: read every segment, ignoring seals. ``on_segment``: told each segment's size once
    planned (recover's progress bar).
    """
    planner = StreamPlanner(root, rel, floor, full, on_segment)
    plan = planner.build()
    if not plan.empty:
        planner.notes()
    return planner
