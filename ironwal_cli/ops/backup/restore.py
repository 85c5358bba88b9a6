"""``ironwal restore DEST ROOT``: a root rebuilt from a generation, whole or cut at a point.

- The point: the latest generation, a chosen one, a checkpoint of a sharded root (every shard
  cut at that checkpoint's offsets; the log keeps the records up to it, HEAD names it), or an
  id per stream (``to_ids``: the last id to keep, inclusive; a cut inside a batch is refused,
  since a batch is written whole). Checkpoint records whose offsets lie past a cut are left
  out of the restored log.
- Every piece is checked against its sha256, every segment walked frame by frame (CRC, ids)
  as it is written; ``segments.idx``, ``head.state`` and ``lost.idx`` are written for what
  was restored.
- It is built in a temporary directory beside ROOT, every file and directory fsync'd, checked
  with ``verify_root`` (``check=True``), then renamed to ROOT. ROOT must be absent or empty;
  with ``force`` a non-empty ROOT is renamed aside (``ROOT.before-restore-G``), never deleted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ...engine.store.files import fsync_dir, fsync_fd, make_dirs, open_for_write, write_all
from ...engine.store.lost_ids import encode_lost
from ...engine.store.names import HEAD_NAME, HEAD_STATE_NAME, INDEX_NAME, LOG_NAME
from ...errors import FormatError, NotFoundError, RefusedError, UsageError
from ...spec.codec import encode_head, encode_head_state, encode_index
from .destinations import Destination, open_destination
from .generations import resolve_generation
from .pieces import FrameWalk, read_pieces


@dataclass
class RestoreResult:
    generation: str
    root: str
    streams: dict[str, list[int]]  # name -> [first_id, next_id] as restored
    bytes: int
    checkpoint: str | None
    moved_aside: str | None  # where a non-empty ROOT went (force)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_to_ids(items: list[str]) -> dict[str, int]:
    """``["STREAM=ID", ...]`` as {stream: id}; UsageError naming a bad one."""
    out = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep or not name or not value.isdigit():
            raise UsageError(f"--to-id {item!r}: give STREAM=ID (the last id to keep)")
        out[name] = int(value)
    return out


def restore(dest: str | os.PathLike | Destination, root: str | os.PathLike, *, generation: str | None = None,
            checkpoint: bytes | None = None, to_ids: dict[str, int] | None = None, force: bool = False,
            check: bool = True, on_progress: Callable[[int, int], None] | None = None) -> RestoreResult:
    """Restore ``generation`` (default: the latest) of ``dest`` into ``root`` (see the module)."""
    destination = open_destination(dest)
    gen = resolve_generation(destination, generation)
    body = gen.manifest
    streams = {s["name"]: s for s in body["streams"]}
    cuts, records_kept, head = _cuts(body, streams, checkpoint, to_ids or {})
    target = Path(root).absolute()
    _refuse_target(target, force)
    tmp = target.with_name(f".{target.name}.restore-{gen.id}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)  # a restore killed before its rename: ours, never anyone's data
    total = sum(seg["size"] for s in body["streams"] for seg in s["segments"])
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if on_progress is not None:
            on_progress(done[0], total)

    restored: dict[str, list[int]] = {}
    try:
        make_dirs(tmp)
        for name, stream in streams.items():
            restored[name] = _restore_stream(destination, tmp, stream, cuts.get(name), progress)
        _restore_files(destination, tmp, body, records_kept, head)
        fsync_dir(tmp)
        if check:
            from ..verify import verify_root

            report = verify_root(tmp)
            if not report.ok:
                first = report.problems[0]
                raise FormatError(f"{gen.id}: {first.path}", first.offset, f"the restored root does not verify "
                                  f"clean: {first.kind}: {first.message}", kind=first.kind)
        moved = _clear_target(target, force, gen.id)
        os.rename(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    cp = None if checkpoint is None else checkpoint.decode("utf-8", "backslashreplace")
    return RestoreResult(gen.id, os.fspath(target), restored, done[0], cp, moved)


def _cuts(body: dict, streams: dict, checkpoint: bytes | None, to_ids: dict[str, int]):
    """({stream: next id to restore up to}, the checkpoint records to keep (None: all), HEAD id or None)."""
    cuts: dict[str, int] = {}
    records = body.get("checkpoints", [])
    head = None
    if checkpoint is not None:
        if to_ids:
            raise UsageError("--checkpoint and --to-id: give one of them")
        chosen = [i for i, r in enumerate(records) if bytes.fromhex(r["id_hex"]) == checkpoint]
        if not chosen:
            what = "holds no checkpoint" if records else "is not of a sharded root with checkpoints"
            raise NotFoundError(f"generation {body['generation']} {what} "
                                f"{checkpoint.decode('utf-8', 'backslashreplace')!r}")
        index = chosen[-1]
        rec = records[index]
        for shard, offset in enumerate(rec["offsets"]):
            cuts[f"shard_{shard:02d}"] = offset
        head = checkpoint
    for name, last in to_ids.items():
        if name not in streams:
            raise NotFoundError(f"generation {body['generation']} holds no stream {name!r}")
        cuts[name] = last + 1
    for name, stop in list(cuts.items()):
        stream = streams.get(name)
        if stream is None and stop == 0:  # a shard never written to: nothing to cut
            del cuts[name]
            continue
        if stream is None:
            raise NotFoundError(f"generation {body['generation']} holds no stream {name!r}")
        if stop > stream["next_id"]:
            raise NotFoundError(f"{name}: generation {body['generation']} holds ids up to {stream['next_id'] - 1}, "
                                f"not {stop - 1}")
        if stop < stream["first_id"]:
            raise NotFoundError(f"{name}: generation {body['generation']} holds ids from {stream['first_id']} "
                                f"(pruned before), not up to {stop - 1}")
    if not cuts:
        return cuts, None, None
    keep = []
    for i, rec in enumerate(records):
        fits = all(off <= cuts.get(f"shard_{s:02d}", streams.get(f"shard_{s:02d}", {}).get("next_id", 0))
                   for s, off in enumerate(rec["offsets"]))
        if checkpoint is not None:
            fits = i <= index
        if fits:
            keep.append(i)
    return cuts, keep, head


def _refuse_target(target: Path, force: bool) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise RefusedError(f"{target}: exists and is not a directory; refusing to restore over it")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise RefusedError(f"{target}: not empty; refusing to restore into it (--force moves it aside first)")


def _clear_target(target: Path, force: bool, gen: str) -> str | None:
    if not target.exists():
        return None
    if not any(target.iterdir()):
        target.rmdir()
        return None
    if not force:  # filled while the restore ran
        raise RefusedError(f"{target}: not empty; refusing to restore into it (--force moves it aside first)")
    aside = target.with_name(f"{target.name}.before-restore-{gen}")
    os.rename(target, aside)
    return os.fspath(aside)


def _write(path: Path, chunks) -> int:
    fd = open_for_write(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    size = 0
    try:
        for chunk in chunks:
            write_all(fd, chunk)
            size += len(chunk)
        fsync_fd(fd)
    finally:
        os.close(fd)
    return size


def _restore_stream(dest: Destination, tmp: Path, stream: dict, cut: int | None,
                    progress: Callable[[int], None]) -> list[int]:
    directory = tmp / stream["name"]
    directory.mkdir()
    stop = stream["next_id"] if cut is None else cut
    written = []
    for seg in stream["segments"]:
        if cut is not None and seg["start_id"] >= stop:
            break
        inside = seg["start_id"] < stop < seg["next_id"]
        walk = FrameWalk(f"{stream['name']}/{seg['name']}", seg["start_id"], stop if inside else None)
        path = directory / seg["name"]

        def checked(seg=seg, walk=walk):
            for data in read_pieces(dest, seg):
                walk.feed(data)
                progress(len(data))
                yield data
            walk.finish()

        _write(path, checked())
        if walk.expected != seg["next_id"]:
            raise FormatError(path, None, f"frames end at id {walk.expected}, the manifest says {seg['next_id']}",
                              kind="bad_ids")
        if inside:
            _cut(path, walk.cut_offset)
        written.append(seg["start_id"])
    first = stream["first_id"]
    _write(directory / INDEX_NAME, [encode_index(written or [first])])  # [0] alone: a stream created, empty
    if written and stream["head_state"]:
        _write(directory / HEAD_STATE_NAME, [encode_head_state(stream["segments"][len(written) - 1]["name"])])
    lost = [(a, min(b, stop)) for a, b in stream["lost"] if a < stop]
    if lost:
        from ...engine.store.lost_ids import LOST_NAME

        _write(directory / LOST_NAME, [encode_lost(lost)])
    fsync_dir(directory)
    return [first, stop]


def _cut(path: Path, offset: int | None) -> None:
    """Shorten a restored segment (ours, in the temporary root, not yet renamed in) to a frame end."""
    if offset is None:
        raise FormatError(path, None, "the cut id is not at a frame boundary", kind="inside_batch")
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, offset)
        fsync_fd(fd)
    finally:
        os.close(fd)


def _restore_files(dest: Destination, tmp: Path, body: dict, records_kept: list[int] | None,
                   head: bytes | None) -> None:
    from ...sharded.checkpoints import parse_records
    from ...spec.codec import decode_head

    files = {file["name"]: b"".join(read_pieces(dest, file)) for file in body["files"]}
    if records_kept is not None and LOG_NAME in files:  # a cut: the records up to it, HEAD naming one of them
        records = [r for r in parse_records(files[LOG_NAME]) if hasattr(r, "raw")]
        kept = [records[i] for i in records_kept if i < len(records)]
        files[LOG_NAME] = b"".join(r.raw for r in kept)
        ids = {r.checkpoint_id for r in kept}
        if head is None and HEAD_NAME in files:
            try:
                head = decode_head(files[HEAD_NAME])
            except ValueError:
                head = None
        if head not in ids:
            head = max(kept, key=lambda r: r.checkpoint.timestamp_ns).checkpoint_id if kept else None
        files.pop(HEAD_NAME, None)
        if head is not None:
            files[HEAD_NAME] = encode_head(head)
    for name, data in files.items():
        _write(tmp / name, [data])
