"""``ironwal copy``: the entries of a stream, or of a whole root, into another root at the same ids.

What it is for: re-segmenting, compressing or decompressing a log (new writer options), or
moving it, without ever changing an entry or an id. The rules that make it safe to run again:

- Every entry is read through the checked reader (CRC, ids in sequence) and written through
  the writer, so the copy is a log our writer could have written (and the crate reads).
- It resumes: entries the destination already holds are compared, entry by entry, with the
  source at the same ids, and copying goes on from the destination's next id. A destination
  that holds different entries, more entries, or starts later than the source is refused
  (``RefusedError``) before anything is written.
- Each group of batches is written only if the destination's next id is still the one the
  copy expects, checked under the writer lock (``expect_first``): a second copy or writer
  racing this one can never make it double or skip an entry.
- Source batches stay whole: consecutive batches are merged into frames of up to
  ``batch_size`` entries, never split (the writer still chunks a batch too big for a segment,
  as the crate does).
- On a sharded root, ``checkpoints.log`` and ``HEAD`` are copied after every shard (their
  offsets are ids, which the copy keeps), each replaced atomically; a destination log that is
  not a prefix of the source's is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path

from ..engine.reader.reader import StreamReader
from ..engine.store.files import atomic_write, fsync_dir, read_file
from ..engine.store.names import INDEX_NAME, sanitize_key
from ..engine.writer.writer import StreamWriter, WriteOptions
from ..errors import FormatError, NotFoundError, RefusedError, UsageError
from ..spec.codec import encode_index
from .listing import stream_names

GROUP_BYTES = 8 << 20  # entries written under one lock and (sync batch) one fdatasync


@dataclass
class CopyResult:
    stream: str
    first: int  # the source's first id
    next: int  # one past the last id copied: the destination's next id now
    kept: int  # entries the destination already held (compared equal)
    copied: int  # entries written by this run

    def to_dict(self) -> dict:
        return asdict(self)


def split_source(src: str | os.PathLike) -> tuple[Path, str | None]:
    """(root, stream) of ``SRC_ROOT[/STREAM]``: a directory holding segments is a stream."""
    path = Path(src)
    if not path.is_dir():
        raise NotFoundError(f"{path}: no such WAL root or stream")
    if (path / INDEX_NAME).exists() or any(path.glob("*.wal")):
        return path.parent, path.name
    return path, None


def copy_stream(src_root: str | os.PathLike, name: str, dst_root: str | os.PathLike,
                options: WriteOptions | None = None, *, batch_size: int = 1000,
                on_warning: Callable[[str], None] | None = None) -> CopyResult:
    """Copy stream directory ``name`` of ``src_root`` into ``dst_root`` (see the module's rules)."""
    if sanitize_key(name) != name:
        raise UsageError(f"{name!r}: not a stream directory name")
    src = StreamReader(src_root, name, name_is_dir=True)
    first, end = src.first_id, src.next_id()
    dst_dir = Path(dst_root) / name
    start = _destination_start(src, dst_dir, first, end)
    kept = start - first
    with StreamWriter(dst_root, name, options, on_warning) as writer:
        expected = start
        for group in _groups(src.batches(start), end, batch_size):
            ranges = writer.append_batches(group, expect_first=expected)
            expected = ranges[-1].stop
    return CopyResult(name, first, max(start, expected), kept, expected - start)


def _destination_start(src: StreamReader, dst_dir: Path, first: int, end: int) -> int:
    """The id copying starts at: after what the destination holds, once that is proven equal."""
    if not dst_dir.exists():
        if first > 0:  # a pruned source: the copy starts at its first id, as the source does
            _create_stream_at(dst_dir, first)
        return first
    if dst_dir.is_symlink() or not dst_dir.is_dir():
        raise RefusedError(f"{dst_dir}: not a stream directory")
    dst = StreamReader(dst_dir.parent, dst_dir.name, name_is_dir=True)
    dst_next = StreamWriter(dst_dir.parent, dst_dir.name).next_id
    if not dst.layout.segment_ids:  # created, nothing written yet (a copy stopped at its start)
        if dst_next != first:
            atomic_write(dst_dir / INDEX_NAME, encode_index([first]))
        return first
    dst_first = dst.first_id
    if dst_next == dst_first == first:
        return first
    if dst_next > end:
        raise RefusedError(f"{dst_dir}: holds ids up to {dst_next - 1}, the source only up to {end - 1}")
    if dst_first > first or dst_next < first:
        raise RefusedError(f"{dst_dir}: holds ids {dst_first}..{dst_next - 1}, which do not continue the "
                           f"source's {first}..{end - 1}")
    _compare(src, dst, first, dst_next)
    return dst_next


def _compare(src: StreamReader, dst: StreamReader, first: int, stop: int) -> None:
    """RefusedError unless ``dst`` holds the entries of ``src`` at every id in first..stop-1."""
    mine = chain.from_iterable(entries for _id, entries in src.batches(first))
    theirs = chain.from_iterable(entries for _id, entries in dst.batches(first))
    entry_id = first
    for a, b in zip(mine, theirs, strict=False):
        if entry_id >= stop:
            return
        if a != b:
            raise RefusedError(f"{dst.path}: holds a different entry at id {entry_id} than the source "
                               f"({len(b)} bytes there, {len(a)} in the source); refusing to copy over it")
        entry_id += 1
    if entry_id < stop:  # one side ended early: never taken for a match
        raise RefusedError(f"{dst.path}: its entries and the source's could be compared only up to id "
                           f"{entry_id - 1}, not {stop - 1}; refusing to copy over it")


def _create_stream_at(path: Path, first: int) -> None:
    """A new stream directory whose first segment will start at ``first`` (segments.idx says so)."""
    root = path.parent
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        fsync_dir(root.parent)
    path.mkdir()
    atomic_write(path / INDEX_NAME, encode_index([first]))
    fsync_dir(root)


def _groups(batches: Iterator[tuple[int, list[bytes]]], end: int,
            batch_size: int) -> Iterator[list[list[bytes]]]:
    """The source's batches up to ``end``, merged (never split) into batches of up to ``batch_size``
    entries, in groups of about GROUP_BYTES."""
    group: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    try:
        for first, entries in batches:
            if first >= end:
                break
            entries = entries[:end - first]
            if current and len(current) + len(entries) > batch_size:
                group.append(current)
                current = []
            current = current + entries if current else list(entries)
            size += sum(map(len, entries))
            if size >= GROUP_BYTES:
                group.append(current)
                yield group
                group, current, size = [], [], 0
    except FormatError:  # damage in the source: what was read intact before it is copied first
        if current:
            group.append(current)
        if group:
            yield group
        raise
    if current:
        group.append(current)
    if group:
        yield group


def copy_checkpoints(src_root: str | os.PathLike, dst_root: str | os.PathLike) -> list[str]:
    """Copy a sharded root's ``checkpoints.log`` and ``HEAD``; the names of the files written.

    Called after every shard is copied: a checkpoint's offsets then name ids the destination
    holds. A destination log that is not a prefix of the source's is refused.
    """
    from ..sharded.checkpoints import head_path, log_path

    written = []
    src_log, dst_log = read_file(log_path(src_root)), read_file(log_path(dst_root))
    if dst_log is not None and (src_log is None or not src_log.startswith(dst_log)):
        raise RefusedError(f"{log_path(dst_root)}: holds checkpoint records the source's log does not; "
                           "refusing to copy over it")
    for path, data in ((log_path, src_log), (head_path, read_file(head_path(src_root)))):
        target = path(dst_root)
        if data is not None and read_file(target) != data:
            atomic_write(target, data)
            written.append(target.name)
    return written


def copy_root(src: str | os.PathLike, dst_root: str | os.PathLike, options: WriteOptions | None = None, *,
              batch_size: int = 1000, on_warning: Callable[[str], None] | None = None,
              on_stream: Callable[[CopyResult], None] | None = None) -> list[CopyResult]:
    """Copy ``SRC_ROOT`` (every stream, and a sharded root's checkpoints) or ``SRC_ROOT/STREAM``."""
    root, stream = split_source(src)
    dst = Path(dst_root)
    _refuse_overlap(root, stream, dst)
    names = [stream] if stream is not None else stream_names(root)
    results = []
    for name in names:
        result = copy_stream(root, name, dst, options, batch_size=batch_size, on_warning=on_warning)
        results.append(result)
        if on_stream is not None:
            on_stream(result)
    from ..sharded.checkpoints import is_sharded_root

    if stream is None and is_sharded_root(root):
        copy_checkpoints(root, dst)
    return results


def _refuse_overlap(root: Path, stream: str | None, dst: Path) -> None:
    """A copy into its own source (or a root inside it) would read what it writes."""
    src, target = root.resolve(), dst.resolve()
    if stream is not None:
        clash = target / stream == src / stream
    else:
        clash = target == src or src in target.parents
    if clash:
        raise UsageError(f"{dst}: the destination is the source {root if stream is None else root / stream}, "
                         "or inside it")
