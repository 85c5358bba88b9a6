"""Planning the repair of a sharded root's ``checkpoints.log`` and ``HEAD``.

Records are walked like frames: an intact record (magic, length within the file, CRC of the
payload, a payload that decodes) is kept; anything else is quarantined, and the walk
resynchronises on the next intact record, so records after a corrupt one survive. An intact
record whose shard count contradicts the root (``root_shard_count``: 0, or not the count the
root shows) is quarantined too: it would make every routed append refuse for ever, and its
offsets describe no shards of this root. ``HEAD`` is rewritten to the newest intact checkpoint
when it is missing, unreadable, or names a checkpoint that is no longer in the log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

from ..engine.frames.scan import map_or_none
from ..engine.repair.plan import DELETE, METADATA, SHRINK, FileChange, Piece, Plan, Removal
from ..engine.store.files import read_file
from ..errors import FormatError
from ..spec.codec import Checkpoint, decode_head, encode_head
from .checkpoints import HEAD_LIMIT, HEAD_NAME, LOG_NAME
from .log_walk import RecordProblem, walk_records
from .routing import shard_name
from .shard_count import evident_count, read_remembered
from .shards import existing_shards


class Span(NamedTuple):
    offset: int
    length: int
    checkpoint: Checkpoint | None  # None: damaged bytes up to the next intact record
    message: str = ""


def scan_log(data: bytes) -> Iterator[Span]:
    """Every intact record and every damaged range, resynchronising after damage on the next intact record.

    One pass of ``log_walk.walk_records`` (the walk verify reports from), with the
    problems it finds back to back joined into one damaged range. Linear in the log's size: the
    walk it replaced re-sliced the rest of the log for every record (49 s for 100,000 records).
    """
    damaged: Span | None = None
    for item in walk_records(data):
        if isinstance(item, RecordProblem):
            if damaged is None:
                damaged = Span(item.offset, item.length, None, item.message)
            else:
                damaged = damaged._replace(length=item.offset + item.length - damaged.offset)
            continue
        if damaged is not None:
            yield damaged
            damaged = None
        yield Span(item.offset, item.length, item.checkpoint)
    if damaged is not None:
        yield damaged


def root_shard_count(root: str | os.PathLike, spans: list[Span]) -> int | None:
    """The shard count the root shows (``shard_count.evident_count``), weighing the intact records
    of ``spans``; None when nothing tells."""
    try:
        remembered = read_remembered(root)
    except FormatError:
        remembered = None  # a hand-edited file is no evidence; routed writes refuse it themselves
    highest = max(existing_shards(root), default=None)
    return evident_count(remembered, [s.checkpoint.shard_count for s in spans if s.checkpoint], highest)


def _contradicts(checkpoint: Checkpoint, count: int | None) -> bool:
    return checkpoint.shard_count == 0 or (count is not None and checkpoint.shard_count != count)


def checkpoint_floors(root: str | os.PathLike) -> dict[str, int]:
    """Per shard directory, the highest offset an intact checkpoint records for it (records whose
    shard count contradicts the root describe no shards of it, and are left out).

    The ids below it were handed out and a consumer may have acted on the checkpoint, so a repair
    that loses some of them (the crate records unsynced ids in async mode) must never reuse them.
    """
    floors: dict[str, int] = {}
    spans = list(scan_log(map_or_none(os.path.join(root, LOG_NAME)) or b""))  # a map: never read whole
    count = root_shard_count(root, spans)
    for span in spans:
        if span.checkpoint is not None and not _contradicts(span.checkpoint, count):
            for shard, offset in enumerate(span.checkpoint.offsets):
                name = shard_name(shard)
                floors[name] = max(floors.get(name, 0), offset)
    return floors


def plan_checkpoints(root: str | os.PathLike) -> Plan:
    plan = Plan()
    log = map_or_none(os.path.join(root, LOG_NAME))  # mapped: a planted 1 GiB log is walked, not read
    intact: list[Checkpoint] = []
    if log is not None:
        records = list(scan_log(log))
        count = root_shard_count(root, records)
        records = [r if r.checkpoint is None or not _contradicts(r.checkpoint, count) else
                   r._replace(checkpoint=None, message=f"checkpoint {r.checkpoint.checkpoint_id!r} records "
                              f"{r.checkpoint.shard_count} shards, where the root has {count}")
                   for r in records]
        intact = [r.checkpoint for r in records if r.checkpoint is not None]
        bad = [r for r in records if r.checkpoint is None]
        if bad:
            plan.originals[LOG_NAME] = log
            plan.removals += [Removal(LOG_NAME, r.offset, r.length, f"damaged checkpoint record: {r.message}")
                              for r in bad]
            kept = [Piece(LOG_NAME, r.offset, r.length) for r in records if r.checkpoint is not None]
            plan.changes.append(FileChange(LOG_NAME, SHRINK, kept, f"{len(bad)} damaged range(s) quarantined "
                                           f"({sum(r.length for r in bad)} bytes); {len(intact)} intact records kept"))
    _plan_head(root, plan, intact)
    return plan


def _sane_head(root) -> bool:
    """HEAD is absent or no longer than a HEAD can be; else it is mapped (never read whole: it is
    quarantined in steps, and its decode fails on its length alone)."""
    try:
        return os.lstat(os.path.join(root, HEAD_NAME)).st_size <= HEAD_LIMIT
    except FileNotFoundError:
        return True


def _plan_head(root, plan: Plan, intact: list[Checkpoint]) -> None:
    raw = read_file(os.path.join(root, HEAD_NAME)) if _sane_head(root) else map_or_none(os.path.join(root, HEAD_NAME))
    ids = {cp.checkpoint_id for cp in intact}
    if raw is None:
        if not intact:
            return
        problem = "missing"
    else:
        try:
            named = decode_head(raw)
        except ValueError as err:
            problem = f"unreadable: {err}"
        else:
            if named in ids:
                return
            problem = f"names checkpoint {named!r}, which is not in the log"
    plan.originals[HEAD_NAME] = raw
    if raw:
        plan.removals.append(Removal(HEAD_NAME, 0, len(raw), f"HEAD replaced: {problem}"))
    if not intact:
        plan.changes.append(FileChange(HEAD_NAME, DELETE, [], f"removed ({problem}; no intact checkpoint left)"))
        return
    newest = max(enumerate(intact), key=lambda t: (t[1].timestamp_ns, t[0]))[1]
    plan.changes.append(FileChange(HEAD_NAME, METADATA, [Piece(None, data=encode_head(newest.checkpoint_id))],
                                   f"rewritten to the newest intact checkpoint {newest.checkpoint_id!r} ({problem})"))
