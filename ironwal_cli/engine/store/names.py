"""Stream keys to directory names, and segment file names: exactly as the crate maps them."""

from __future__ import annotations

import re

from ...errors import UsageError

SEGMENT_SUFFIX = ".wal"
SEGMENT_NAME = re.compile(r"^([0-9]{20})\.wal$")
INDEX_NAME = "segments.idx"
HEAD_STATE_NAME = "head.state"
# The two files of a sharded root (sharded/checkpoints.py reads them); here so the engine can
# tell a WAL root from another folder (engine/store/roots.py) without importing upwards.
LOG_NAME = "checkpoints.log"
HEAD_NAME = "HEAD"
COUNT_NAME = "ironwal-shards"  # ours: the shard count of a sharded root, from its first routed write
NAME_MAX = 255  # bytes of one file name on Linux file systems (ext4, xfs, btrfs, tmpfs)
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def sanitize_key(key: str) -> str:
    """Each character (not byte) outside ``[A-Za-z0-9._-]`` becomes ``_``.

    Refuses what the crate refuses (blank keys, ``.`` and ``..``), so a key can never name
    anything outside its root: the result holds no separator and is never a parent link.
    """
    if not key.strip():
        raise UsageError(f"stream key {key!r} is empty or blank")
    name = "".join(c if c in _ALLOWED else "_" for c in key)
    if name in (".", ".."):
        raise UsageError(f"stream key {key!r} would name the directory {name!r}")
    if len(name) > NAME_MAX:  # the OS would say "File name too long" (exit 5) for a bad argument
        raise UsageError(f"stream key of {len(name)} characters: a stream's directory name is at most "
                         f"{NAME_MAX} bytes")
    return name


def segment_name(start_id: int) -> str:
    return f"{start_id:020d}{SEGMENT_SUFFIX}"


MAX_ID = 2**64 - 1  # ids are u64


def parse_segment_name(name: str) -> int | None:
    """The start id a segment file's name gives; None for any other name, and for twenty digits
    past ``MAX_ID`` (``99999999999999999999.wal``: no writer can make it; see ``name_overflows``)."""
    digits = name[:_DIGITS]
    if len(name) == _NAME_LEN and name.endswith(SEGMENT_SUFFIX) and digits.isascii() and digits.isdigit():
        start = int(digits)  # the usual name, without the regex (a listing parses every name)
    else:
        m = SEGMENT_NAME.match(name)  # the rest (the pattern's $ also takes a newline after ".wal")
        if not m:
            return None
        start = int(m.group(1))
    return start if start <= MAX_ID else None


_DIGITS = 20
_NAME_LEN = _DIGITS + len(SEGMENT_SUFFIX)


def name_overflows(name: str) -> bool:
    """A segment's name whose id is past ``MAX_ID``: damage, which verify reports as such."""
    m = SEGMENT_NAME.match(name)
    return m is not None and int(m.group(1)) > MAX_ID
