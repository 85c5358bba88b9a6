"""Planning the repair of a sharded root's ``checkpoints.log`` and ``HEAD``.

Records are walked like frames: an intact record (magic, length within the file, CRC of the
payload, a payload that decodes) is kept; anything else is quarantined, and the walk
resynchronises on the next intact record, so records after a corrupt one survive. ``HEAD``
is rewritten to the newest intact checkpoint when it is missing, unreadable, or names a
checkpoint that is no longer in the log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

from ..engine.files import read_file
from ..engine.repair_plan import DELETE, METADATA, SHRINK, FileChange, Piece, Plan, Removal
from ..engine.scan import find_in_windows, map_or_none
from ..spec.codec import CHECKPOINT_MAGIC, Checkpoint, decode_head, encode_head
from .checkpoints import HEAD_LIMIT, HEAD_NAME, LOG_NAME, parse_records
from .routing import shard_name


class Span(NamedTuple):
    offset: int
    length: int
    checkpoint: Checkpoint | None  # None: damaged bytes up to the next intact record
    message: str = ""


def _record_at(data: bytes, pos: int):
    """The intact record starting at ``pos`` (offsets relative to it), or the (offset, problem) found there."""
    return next(parse_records(data, pos))  # from pos, not a slice: a mapped log's pages are dropped as walked


def scan_log(data: bytes) -> Iterator[Span]:
    """Every intact record and every damaged range, resynchronising after damage on the next intact record."""
    pos, end = 0, len(data)
    while pos < end:
        item = _record_at(data, pos)
        if not isinstance(item, tuple):
            yield Span(pos, len(item.raw), item.checkpoint)
            pos += len(item.raw)
            continue
        nxt = find_in_windows(data, CHECKPOINT_MAGIC, pos + 1, end)  # bytes or a map: never read whole
        while nxt >= 0 and isinstance(_record_at(data, nxt), tuple):
            nxt = find_in_windows(data, CHECKPOINT_MAGIC, nxt + 1, end)
        nxt = end if nxt < 0 else nxt
        yield Span(pos, nxt - pos, None, item[1])
        pos = nxt


def checkpoint_floors(root: str | os.PathLike) -> dict[str, int]:
    """Per shard directory, the highest offset an intact checkpoint records for it.

    The ids below it were handed out and a consumer may have acted on the checkpoint, so a repair
    that loses some of them (the crate records unsynced ids in async mode) must never reuse them.
    """
    floors: dict[str, int] = {}
    for span in scan_log(map_or_none(os.path.join(root, LOG_NAME)) or b""):
        if span.checkpoint is not None:
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
