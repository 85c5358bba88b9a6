"""Checks of a sharded root's own files: ``checkpoints.log``, ``HEAD`` and the shard directory names.

The shard count is stored only in the checkpoint records, so they must all agree on it, and
the shard directories must fit it. Checkpoints are read BEFORE the shards are scanned: shards
only grow while a writer works, so an offset beyond a shard's next id is real damage (or a
checkpoint that named ids a power cut lost), never a race with the writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..engine.files import read_file
from ..sharded.checkpoints import HEAD_NAME, LOG_NAME, display_id
from ..sharded.routing import parse_shard_name, shard_name
from ..sharded.shard_count import COUNT_NAME
from ..spec.codec import decode_head
from .checkpoints import Record, walk_records
from .kinds import (
    CHECKPOINT_OFFSET_BEYOND_END,
    CHECKPOINT_TORN,
    HEAD_INVALID,
    HEAD_UNKNOWN_CHECKPOINT,
    SHARD_COUNT_MISMATCH,
    SHARD_DIR_BAD_NAME,
    SHARD_DIR_OUT_OF_RANGE,
)
from .report import Recorder

SHARDED_FILES = (HEAD_NAME, LOG_NAME, COUNT_NAME)  # COUNT_NAME: the count ironwal remembers (shard_count)


def is_sharded(root: Path) -> bool:
    """A sharded root holds the checkpoint log (the crate creates it on open) or a HEAD."""
    return any((root / name).is_file() for name in SHARDED_FILES)


@dataclass
class ShardedState:
    records: list[Record] = field(default_factory=list)
    shard_count: int | None = None


def audit_checkpoints(rec: Recorder, root: Path) -> ShardedState:
    """Every record of checkpoints.log, agreement on the shard count, and HEAD.

    HEAD is read before the log: a checkpoint is appended to the log before HEAD names it, so
    a HEAD read first never names a record the log read after it lacks. A torn record at the
    end is dropped when the log has grown since (a checkpoint was being appended).
    """
    state = ShardedState()
    head = read_file(root / HEAD_NAME)
    log = root / LOG_NAME
    data = read_file(log) or b""
    problems = []
    for item in walk_records(data):
        if isinstance(item, Record):
            state.records.append(item)
        else:
            problems.append(item)
    if problems and problems[-1].kind == CHECKPOINT_TORN and _size(log) > len(data):
        problems.pop()
    for p in problems:
        rec.add(log, p.offset, p.kind, p.message)
    head_id = _check_head(rec, root, head, {r.checkpoint.checkpoint_id for r in state.records})
    named = [r for r in state.records if r.checkpoint.checkpoint_id == head_id]
    reference = (named or state.records)[-1:] if state.records else []
    if reference:
        state.shard_count = reference[0].checkpoint.shard_count
        for r in state.records:
            if r.checkpoint.shard_count != state.shard_count:
                rec.add(log, r.offset, SHARD_COUNT_MISMATCH,
                        f"checkpoint {display_id(r.checkpoint.checkpoint_id)} has {r.checkpoint.shard_count} shards, "
                        f"checkpoint {display_id(reference[0].checkpoint.checkpoint_id)} has {state.shard_count}")
    return state


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _check_head(rec: Recorder, root: Path, raw: bytes | None, known: set[bytes]) -> bytes | None:
    if raw is None:
        return None
    try:
        head_id = decode_head(raw)
    except ValueError as err:
        rec.add(root / HEAD_NAME, None, HEAD_INVALID, str(err))
        return None
    if head_id not in known:
        rec.add(root / HEAD_NAME, None, HEAD_UNKNOWN_CHECKPOINT,
                f"names checkpoint {display_id(head_id)}, which checkpoints.log does not hold")
    return head_id


def audit_shard_dirs(rec: Recorder, root: Path, names: list[str], shard_count: int | None) -> None:
    """Every directory is ``shard_NN`` (two digits at least, as the crate formats it) below the count."""
    for name in names:
        number = parse_shard_name(name)
        if number is None:
            rec.add(root / name, None, SHARD_DIR_BAD_NAME, "a sharded root holds only shard_NN directories")
        elif shard_count is not None and number >= shard_count:
            rec.add(root / name, None, SHARD_DIR_OUT_OF_RANGE,
                    f"shard {number}, but the checkpoints say there are {shard_count} shards")


def audit_offsets(rec: Recorder, root: Path, state: ShardedState, next_ids: dict[str, int | None]) -> None:
    """No checkpoint may cover ids beyond what its shard holds."""
    for r in state.records:
        cp = r.checkpoint
        for i, offset in enumerate(cp.offsets):
            name = shard_name(i)
            have = next_ids.get(name, 0)
            if have is not None and offset > have:
                rec.add(root / LOG_NAME, r.offset, CHECKPOINT_OFFSET_BEYOND_END,
                        f"checkpoint {display_id(cp.checkpoint_id)} covers {name} up to id {offset - 1}, "
                        f"but the shard's next id is {have}")
