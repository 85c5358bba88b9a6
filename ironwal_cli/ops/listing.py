"""What streams a root holds, and how big each is."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from ..engine.reader.reader import StreamReader
from ..engine.store.roots import is_foreign_stream, require_wal_root


@dataclass
class StreamInfo:
    name: str
    segments: int
    first_id: int
    next_id: int
    bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


def stream_names(root: str | os.PathLike) -> list[str]:
    """The streams of a root, in byte order of name: every subdirectory (as the crate sees it)
    except one holding only other files (engine/store/roots.py). NotFoundError when ``root`` does
    not exist or is not an IronWal root (``ls -r /etc``)."""
    root = require_wal_root(root)
    names = [e.name for e in os.scandir(root)
             if e.is_dir(follow_symlinks=False) and not is_foreign_stream(os.listdir(e.path))]
    return sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))


def stream_info(root: str | os.PathLike, name: str) -> StreamInfo:
    """The size of the stream in directory ``name`` (a directory name, not a key to sanitize):
    segments, first id, next id (one past the last intact entry) and bytes of its segments."""
    reader = StreamReader(root, name, name_is_dir=True)
    segs = reader.layout.segment_ids
    size = sum(os.path.getsize(reader.layout.segment_path(s)) for s in segs)
    return StreamInfo(name, len(segs), reader.first_id, reader.next_id(), size)


def list_streams(root: str | os.PathLike) -> list[StreamInfo]:
    """One StreamInfo per stream of ``root`` (see ``stream_names``), what ``ironwal ls`` prints.

    Reads headers only (no CRC): cheap on big roots; ``verify_root`` is the check of the data.
    Raises NotFoundError when ``root`` is missing or not an IronWal root.
    """
    return [stream_info(root, name) for name in stream_names(root)]
