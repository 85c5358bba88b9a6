"""``ironwal backup``: one generation of a live root into a destination, incremental.

What a run copies, and why it is a state the root was in:

- A sharded root's ``checkpoints.log`` (its intact records), ``HEAD`` and ``ironwal-shards``
  are read first, the shards after: every checkpoint then names offsets the copied shards hold.
- Each stream's segments are read in order, each through one descriptor opened and
  ``fstat``'d once: a segment other than the last never changes again, and of the last one
  only the intact frames up to the size seen are taken (the engine's scanner with every CRC;
  a torn or half-written frame at its end is left out). No lock is taken, so appends never
  wait; a prune or rotation while the run reads changes nothing it copies.
- Damage anywhere else (a bad frame with intact frames after it, a gap in ids) is refused,
  exit 3: ``ironwal verify`` and ``ironwal recover`` are the tools for it.
- Incremental: a file is stored as pieces of up to PART_SIZE bytes named by their sha256,
  and a piece the destination holds is never sent again. A segment whose stat (device,
  inode, size, mtime, ctime) is what the previous generation recorded is not even read;
  the active segment, grown on the same inode (segments are only ever appended to while
  their inode lives: every rewrite is a new file renamed over the old), is read from the
  start of its last piece, its earlier pieces taken from the previous manifest.
  ``checksum=True`` reads and hashes everything (pieces already stored are still not sent).
- The manifest is written last; a run killed before it leaves only unreferenced objects,
  which the next retention removes.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ...engine.frames.scan import LOST_FILLER, Frame, pread_scan
from ...engine.store.files import open_regular
from ...engine.store.listing import StreamListing
from ...engine.store.names import COUNT_NAME, HEAD_NAME, LOG_NAME
from ...errors import FormatError, StorageError, UsageError
from ..listing import stream_names
from .destinations import Destination, DirectoryDestination, open_destination
from .generations import (
    FORMAT,
    GENERATIONS,
    MANIFEST_SUFFIX,
    OBJECTS,
    PART_SIZE,
    PENDING,
    Retention,
    apply_retention,
    digest_of_key,
    encode_manifest,
    generation_ids,
    init_destination,
    load_generation,
    new_generation_id,
    object_key,
    pending_marker,
    sha256,
)

Progress = Callable[[int, int], None]


@dataclass
class BackupResult:
    generation: str
    streams: dict[str, list[int]]  # name -> [first_id, next_id]
    bytes: int  # of the root, as this generation holds it
    read_bytes: int  # read from the root by this run
    sent_bytes: int  # sent to the destination
    sent_objects: int
    reused_bytes: int  # taken from the previous generation without reading
    seconds: float
    retention: Retention | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class _Run:
    """The state of one run: what the destination holds, what was sent."""

    def __init__(self, dest: Destination, previous: dict | None, part_size: int, checksum: bool,
                 on_progress: Progress | None, total: int):
        self.dest, self.part_size, self.checksum = dest, part_size, checksum
        self.present = {digest_of_key(o.key) for o in dest.list(OBJECTS)}
        self.previous = _previous_segments(previous) if previous and not checksum else {}
        self.read_bytes = self.sent_bytes = self.sent_objects = self.reused_bytes = 0
        self.on_progress, self.total, self.done = on_progress, total, 0

    def store(self, data: bytes) -> list:
        """Store ``data`` (one piece); its [sha256, size]."""
        digest = sha256(data)
        if digest not in self.present:
            self.dest.put(object_key(digest), data)
            self.present.add(digest)
            self.sent_bytes += len(data)
            self.sent_objects += 1
        return [digest, len(data)]

    def advance(self, n: int) -> None:
        self.done += n
        if self.on_progress is not None:
            self.on_progress(self.done, max(self.total, self.done))

    def store_file(self, path: Path, fd: int, start: int, end: int, parts: list) -> list:
        """``parts`` (pieces of [0, start)) plus the pieces of bytes [start, end) of ``fd`` (``path``)."""
        pos = start
        while pos < end:
            data = os.pread(fd, min(self.part_size, end - pos), pos)
            if not data:
                raise FormatError(path, pos, "the file shrank while it was copied (cut in place by another "
                                  "program); run the backup again", kind="busy")
            parts.append(self.store(data))
            self.read_bytes += len(data)
            pos += len(data)
            self.advance(len(data))
        return parts


def _previous_segments(body: dict) -> dict:
    return {(s["name"], seg["name"]): seg for s in body.get("streams", []) for seg in s["segments"]}


def _small_file(run: _Run, path: Path, name: str,
                keep: Callable[[bytes], bytes] | None = None) -> tuple[dict | None, bytes]:
    """A root file read whole (``keep`` picks the part of it to store) and its bytes; (None, b"")
    when it is absent."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return None, b""
    try:
        data = b""
        while chunk := os.read(fd, 1 << 20):
            data += chunk
    finally:
        os.close(fd)
    if keep is not None:
        data = keep(data)
    run.read_bytes += len(data)
    parts = [run.store(data[i:i + run.part_size]) for i in range(0, len(data), run.part_size)]
    return {"name": name, "size": len(data), "parts": parts}, data


def _intact_log(data: bytes) -> bytes:
    """The intact records of a checkpoint log (a record being appended is left out)."""
    from ...sharded.checkpoints import parse_records

    end = 0
    for item in parse_records(data):
        if not hasattr(item, "raw"):
            break
        end = item.offset + len(item.raw)
    return data[:end]


def _segment(run: _Run, stream: str, path: Path, start_id: int, last: bool) -> dict | None:
    """The manifest record of one segment, its new pieces stored; None when it is gone (pruned)."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        source = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        prev = run.previous.get((stream, path.name))
        usable = prev is not None and prev["start_id"] == start_id and prev["source"][:2] == source[:2] \
            and st.st_size >= prev["size"] and all(p[0] in run.present for p in prev["parts"])
        if usable and prev["source"] == source:
            run.reused_bytes += prev["size"]
            run.advance(st.st_size)
            return dict(prev)
        parts: list = []
        scan_from, expected = 0, start_id
        if usable:  # grown on the same inode: keep its whole pieces, scan what follows them
            whole = prev["parts"][:-1] if prev["parts"] and prev["parts"][-1][1] < run.part_size else prev["parts"]
            parts = [list(p) for p in whole]
            scan_from, expected = prev["size"], prev["next_id"]
            kept = sum(p[1] for p in parts)
            run.reused_bytes += kept
            run.advance(kept)
        end, next_id = _intact_end(path, fd, st.st_size, scan_from, expected, last)
        copied_from = sum(p[1] for p in parts)
        run.store_file(path, fd, copied_from, end, parts)
        run.advance(st.st_size - end)
        return {"name": path.name, "start_id": start_id, "next_id": next_id, "size": end, "parts": parts,
                "source": source}
    finally:
        os.close(fd)


def _intact_end(path: Path, fd: int, size: int, offset: int, expected: int, last: bool) -> tuple[int, int]:
    """(offset after the last intact frame, next id) of the segment from ``offset`` (a frame
    boundary) up to ``size``. FormatError on damage that is not a torn end of the last segment."""
    end = offset
    for item, _size in pread_scan(path, offset, fd=fd, size=size):
        if isinstance(item, Frame):
            h = item.header
            if h.start_id != expected:
                raise FormatError(path, item.offset, f"frame starts at id {h.start_id}, expected {expected}; "
                                  "refusing to back up a stream with a gap (see ironwal verify)", kind="id_sequence")
            expected += h.entry_count
            end = item.end_offset
            continue
        if item.kind == LOST_FILLER and item.header.start_id == expected:  # ids recover filled: kept as they are
            expected = item.header.end_id
            end = item.offset + item.length
            continue
        if last and item.offset + item.length >= size:
            break  # the end of the last segment: a frame still being written, or torn by a crash; left out
        raise FormatError(path, item.offset, f"{item.message}; refusing to back up damaged data "
                          "(run ironwal verify, then ironwal recover)", kind=item.kind)
    return end, expected


def _stream(run: _Run, root: Path, name: str) -> dict:
    for _attempt in range(5):  # a prune between the listing and the reads: read the stream again
        layout = StreamListing.read(root / name)
        ids = layout.segment_ids
        segments, gone = [], False
        for i, start in enumerate(ids):
            seg = _segment(run, name, layout.segment_path(start), start, last=i == len(ids) - 1)
            if seg is None:
                if segments:  # a segment vanished after an earlier one was read: no longer one state
                    gone = True
                    break
                continue  # pruned before it was read: the stream now starts later
            if segments and seg["start_id"] != segments[-1]["next_id"]:
                raise FormatError(layout.segment_path(start), None,
                                  f"starts at id {seg['start_id']}, but the segment before it ends at "
                                  f"{segments[-1]['next_id']}; refusing to back up a stream with a gap",
                                  kind="id_gap")
            segments.append(seg)
        if not gone:
            break
    else:
        raise FormatError(root / name, None, "its segments kept changing while they were read", kind="busy")
    index = layout.index_ids or []
    first = segments[0]["start_id"] if segments else (index[0] if index else 0)
    return {"name": name, "first_id": first, "next_id": segments[-1]["next_id"] if segments else first,
            "index": index, "head_state": layout.head_segment is not None,
            "lost": [list(r) for r in layout.lost], "segments": segments}


def _root_size(root: Path, names: list[str]) -> int:
    total = 0
    for name in names:
        try:
            total += sum(e.stat().st_size for e in os.scandir(root / name) if e.name.endswith(".wal"))
        except OSError:
            pass
    return total


def _checkpoints(data: bytes) -> list[dict]:
    from ...sharded.checkpoints import display_id, parse_records

    out = []
    for item in parse_records(data):
        if not hasattr(item, "raw"):
            break
        cp = item.checkpoint
        out.append({"id": display_id(cp.checkpoint_id), "id_hex": cp.checkpoint_id.hex(),
                    "timestamp_ns": cp.timestamp_ns, "offsets": list(cp.offsets)})
    return out


def _refuse_inside(root: Path, dest: Destination) -> None:
    if isinstance(dest, DirectoryDestination):
        r, d = root.resolve(), dest.path.resolve()
        if d == r or r in d.parents:
            raise UsageError(f"{dest.path}: the destination is the root {root} or inside it")


def backup_root(root: str | os.PathLike, dest: str | os.PathLike | Destination, *, keep: int | None = None,
                checksum: bool = False, part_size: int = PART_SIZE, on_progress: Progress | None = None,
                on_retry: Callable[[str], None] | None = None) -> BackupResult:
    """Back ``root`` up into ``dest`` as a new generation (see the module's rules); with ``keep``,
    then keep only the ``keep`` newest generations (``apply_retention``)."""
    from ...engine.store.roots import require_wal_root

    started = time.monotonic()
    root_path = require_wal_root(root)
    if keep is not None and keep < 1:
        raise UsageError(f"--keep {keep}: keep at least 1 generation")
    destination = open_destination(dest)
    destination.on_retry = on_retry
    _refuse_inside(root_path, destination)
    with destination.lock():
        init_destination(destination)
        ids = generation_ids(destination)
        previous = None
        for gen in reversed(ids):
            found = load_generation(destination, gen)
            if found.manifest is not None:
                previous = found.manifest
                break
        gen = new_generation_id(ids[-1] if ids else None)
        names = stream_names(root_path)
        run = _Run(destination, previous, part_size, checksum, on_progress, _root_size(root_path, names))
        pending = f"{PENDING}{gen}"
        destination.put(pending, pending_marker())
        files = []
        log_bytes = b""
        for name in (LOG_NAME, HEAD_NAME, COUNT_NAME):
            found, data = _small_file(run, root_path / name, name, _intact_log if name == LOG_NAME else None)
            if found is not None:
                files.append(found)
                log_bytes = data if name == LOG_NAME else log_bytes
        streams = [_stream(run, root_path, name) for name in names]
        body = {
            "format": FORMAT, "generation": gen, "created": _utc_now(), "root": os.fspath(root_path.absolute()),
            "host": socket.gethostname(), "sharded": bool(files), "streams": streams, "files": files,
            "checkpoints": _checkpoints(log_bytes),
            "bytes": sum(seg["size"] for s in streams for seg in s["segments"]) + sum(f["size"] for f in files),
            "sent_bytes": run.sent_bytes, "sent_objects": run.sent_objects,
        }
        destination.put(f"{GENERATIONS}{gen}{MANIFEST_SUFFIX}", encode_manifest(body))
        destination.delete(pending)
        retention = apply_retention(destination, keep, gen) if keep is not None else None
    return BackupResult(gen, {s["name"]: [s["first_id"], s["next_id"]] for s in streams}, body["bytes"],
                        run.read_bytes, run.sent_bytes, run.sent_objects, run.reused_bytes,
                        time.monotonic() - started, retention)


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def watch(root: str | os.PathLike, dest: str | os.PathLike | Destination, interval: float, *,
          stop: threading.Event, on_result: Callable[[BackupResult], None] | None = None,
          on_error: Callable[[str], None] | None = None, **options) -> int:
    """Back up every ``interval`` seconds until ``stop`` is set (a run under way finishes first);
    the number of runs that completed. The destination lags the root by at most ``interval``
    plus one run. A run that fails on I/O or the network (after its retries) is told to
    ``on_error`` and the next one is tried after the interval, so an outage of the destination
    does not end the watch; any other error (damage, a usage error) does."""
    if not interval > 0:
        raise UsageError(f"--interval {interval}: give a number of seconds above 0")
    runs = 0
    while not stop.is_set():
        try:
            result = backup_root(root, dest, **options)
        except StorageError as err:
            if on_error is None:
                raise
            on_error(f"{err}; trying again in {interval:g} s")
        else:
            runs += 1
            if on_result is not None:
                on_result(result)
        stop.wait(interval)
    return runs
