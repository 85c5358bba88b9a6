"""Checks of a sharded root's own files: ``checkpoints.log``, ``HEAD`` and the shard directory names.

The shard count is stored only in the checkpoint records, so they must all agree on it, and
the shard directories must fit it. Checkpoints are read BEFORE the shards are scanned: shards
only grow while a writer works, so an offset beyond a shard's next id is real damage (or a
checkpoint that named ids a power cut lost), never a race with the writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..engine.frames.scan import map_file
from ..engine.store.files import NOT_REGULAR_FILE, NotRegularFileError, read_small
from ..engine.store.listing import OVERSIZED_FILE
from ..sharded.checkpoints import HEAD_LIMIT, HEAD_NAME, LOG_NAME, display_id
from ..sharded.log_walk import IntactRecord, walk_records
from ..sharded.routing import parse_shard_name, shard_name
from ..spec.codec import decode_head
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


@dataclass
class ShardedState:
    records: list[IntactRecord] = field(default_factory=list)
    shard_count: int | None = None


def audit_checkpoints(rec: Recorder, root: Path) -> ShardedState:
    """Every record of checkpoints.log, agreement on the shard count, and HEAD.

    HEAD is read before the log: a checkpoint is appended to the log before HEAD names it, so
    a HEAD read first never names a record the log read after it lacks. A torn record at the
    end is dropped when the log has grown since (a checkpoint was being appended).
    """
    state = ShardedState()
    head = _read_head(rec, root)
    log = root / LOG_NAME
    try:
        data = map_file(log)
    except FileNotFoundError:
        data = b""
    except NotRegularFileError as err:
        rec.add(log, None, NOT_REGULAR_FILE, err.detail)
        data = b""
    problems = []
    for item in walk_records(data):
        if isinstance(item, IntactRecord):
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


def _read_head(rec: Recorder, root: Path) -> bytes | None:
    """HEAD's bytes (None when absent); a HEAD that is no regular file or is longer than a u16 length
    and its 65535 bytes is reported and not decoded."""
    path = root / HEAD_NAME
    try:
        found = read_small(path, HEAD_LIMIT)
    except NotRegularFileError as err:
        rec.add(path, None, NOT_REGULAR_FILE, err.detail)
        return None
    if found is not None and found.oversized:
        rec.add(path, None, OVERSIZED_FILE, found.excess("a HEAD"))
        return None
    return None if found is None else found.data


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
