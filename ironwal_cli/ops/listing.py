"""What streams a root holds, and how big each is."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..engine.reader import StreamReader
from ..errors import NotFoundError


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
    """Every subdirectory of the root is a stream (as the crate sees it), in byte order of name."""
    root = Path(root)
    if not root.is_dir():
        raise NotFoundError(f"{root}: no such WAL root")
    names = [e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    return sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))


def stream_info(root: str | os.PathLike, name: str) -> StreamInfo:
    reader = StreamReader(root, name, name_is_dir=True)
    segs = reader.layout.segment_ids
    size = sum(os.path.getsize(reader.layout.segment_path(s)) for s in segs)
    return StreamInfo(name, len(segs), reader.first_id, reader.next_id(), size)


def list_streams(root: str | os.PathLike) -> list[StreamInfo]:
    return [stream_info(root, name) for name in stream_names(root)]
