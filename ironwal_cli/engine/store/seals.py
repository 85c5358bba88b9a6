"""``seals.idx``: the segments known complete and durable, so that recover need not re-read them.

Our own file in a stream directory (the crate reads only ``*.wal``, ``segments.idx`` and
``head.state``). A crash can only damage what was not durable, and a segment our writer
closes is fdatasync'd before the next one is created, so at that moment it is complete. A
seal records that moment: the segment's ids and its (size, inode, mtime, ctime). While the
segment's stat still equals the seal's, nothing has written to it since, and ``recover``
takes its ids from the seal instead of reading it (``recover --full`` reads it anyway).

It is a cache, never a source of truth: a missing or unreadable file means "nothing
sealed", a torn or bad-CRC record is ignored, and a record counts only while the stat of
its segment matches. Damage that keeps size, inode, mtime and ctime (bit rot, or a hand
edit within one timestamp tick of the segment's last write) is not seen through it:
``verify`` never trusts seals, and ``recover --full`` repairs what it finds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from ...fdio import write_all
from ...spec.codec import SEAL_RECORD, Seal, decode_seals, encode_seal
from .files import TEMP_SUFFIX, atomic_write, fsync_fd, open_for_write, read_small
from .names import MAX_ID, segment_name

SEALS_NAME = "seals.idx"
SEALS_TEMP = SEALS_NAME + TEMP_SUFFIX  # left by a rewrite cut short: the next rewrite replaces it
SEALS_LIMIT = 16 << 20  # ~320,000 records: more than any stream's segments, and far past COMPACT_AT


def stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    """What must not have changed since the seal: size, inode, mtime, ctime."""
    return st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns


def seal_of(start_id: int, end_id: int, st: os.stat_result) -> Seal:
    return Seal(start_id, end_id, *stat_key(st))


def read_seals(directory: str | os.PathLike) -> tuple[list[Seal], int]:
    """(the intact records, how many are bad or torn); a missing or unreadable file holds none."""
    try:
        found = read_small(os.path.join(directory, SEALS_NAME), SEALS_LIMIT)
    except OSError:
        return [], 1
    if found is not None and found.oversized:
        return [], 1  # a planted 1 GiB file is not read: nothing is sealed, the segments are read instead
    return decode_seals(found.data) if found is not None and found.data else ([], 0)


def matching(seals: Iterable[Seal], segment_files: dict[int, str], directory: str | os.PathLike) -> dict[int, Seal]:
    """Start id -> seal, for each segment whose current stat equals one of its seals."""
    by_start: dict[int, list[Seal]] = {}
    for seal in seals:
        if seal.start_id in segment_files and seal.end_id >= seal.start_id:
            by_start.setdefault(seal.start_id, []).append(seal)
    found = {}
    for start, candidates in by_start.items():
        try:
            key = stat_key(os.stat(os.path.join(directory, segment_files[start])))
        except OSError:
            continue
        for seal in candidates:
            if seal[2:] == key:
                found[start] = seal
                break
    return found


RACY_NS = 3 * 10**9  # a later write may share a timestamp this recent (ticks: a jiffy, or 1-2 s on some filesystems)
COMPACT_AT = 256  # records: past this many, a new seal rewrites the file with the ones still true


def unambiguous_stat(fd: int) -> os.stat_result | None:
    """The stat to seal ``fd``'s file with: one that any later write to the file changes.

    A write in the same timestamp tick as the file's last one leaves mtime and ctime as they
    were, so a seal taken right after a write could outlive a change. When the mtime is that
    recent it is moved back by 1 ns (the filesystem stores it rounded down to its granularity):
    every later write then sets a later mtime. None when that is not allowed (not the file's
    owner): no seal then, it is only a cache.
    """
    st = os.fstat(fd)
    if time.time_ns() - st.st_mtime_ns < RACY_NS:
        try:
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns - 1))
        except OSError:
            return None
        st = os.fstat(fd)
    return st


def add_seal(directory: str | os.PathLike, seal: Seal) -> None:
    """Append one record; past COMPACT_AT records, rewrite the file with the records still true.

    The writer seals its segment at every close: without the rewrite, a shell loop of
    ``ironwal append`` would grow the file by a record per run.
    """
    try:
        size = os.stat(os.path.join(directory, SEALS_NAME)).st_size
    except FileNotFoundError:
        size = 0
    if size < COMPACT_AT * SEAL_RECORD.size:
        append_seals(directory, [seal])
        return
    records, _ = read_seals(directory)
    live = matching(records, {r.start_id: segment_name(r.start_id) for r in records}, directory)
    live[seal.start_id] = seal
    rewrite_seals(directory, live.values())


def append_seals(directory: str | os.PathLike, seals: list[Seal]) -> None:
    """Add records at the end; no fsync and no atomic replace, on purpose.

    No fsync: a record only ever describes a segment that was synced before it was written,
    so whichever records survive a power cut are true, and a lost one costs only a re-read.
    No atomic replace: an append leaves every earlier record as it was; a crash can only
    leave a torn record at the end (or zeros, after a power cut), which fails its length or
    CRC and is ignored, and is cut off here before the next record goes in.
    """
    fd = open_for_write(os.path.join(directory, SEALS_NAME), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        if size % SEAL_RECORD.size:  # a torn record: records stay aligned
            os.ftruncate(fd, size - size % SEAL_RECORD.size)
        write_all(fd, _encoded(seals))
    finally:
        os.close(fd)


def rewrite_seals(directory: str | os.PathLike, seals: Iterable[Seal]) -> None:
    """Replace the file with exactly ``seals`` (drops bad and stale records)."""
    atomic_write(os.path.join(directory, SEALS_NAME), _encoded(sorted(seals)))


def _encoded(seals: Iterable[Seal]) -> bytes:
    """The records of ``seals``, leaving out a segment that ends at id 2^64 (its end does not fit a
    u64; only a planted segment name gets there): a cache may always hold less."""
    return b"".join(encode_seal(s) for s in seals if s.end_id <= MAX_ID)


def sealable_stat(path: str | os.PathLike, read_as: tuple[int, int, int, int] | None) -> os.stat_result | None:
    """The stat to seal a file we did not write ourselves with (see ``unambiguous_stat``), after an
    fdatasync (a seal only follows a sync); None if it is no longer as it was when it was read
    (``read_as``, a ``stat_key``; None: a file the caller wrote itself)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fsync_fd(fd, data_only=True)
        if read_as is not None and stat_key(os.fstat(fd)) != read_as:
            return None
        return unambiguous_stat(fd)
    finally:
        os.close(fd)
