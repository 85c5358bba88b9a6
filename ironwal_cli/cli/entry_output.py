"""Writing entries to stdout in each ``--format``, a batch at a time, as bytes."""

from __future__ import annotations

from collections.abc import Callable

# base64 and json are imported by the renderers that use them: `tail` in the default format, like
# every one-shot command, starts without them.

FORMATS = ("line", "raw", "null", "jsonl", "hex", "base64")
FORMAT_HELP = ("Output format: line (entry bytes + newline), raw (bytes only), null (bytes + NUL), "
               "jsonl ({id, len, b64, text}), hex, base64 (one entry per line).")


def entry_object(entry_id: int, entry: bytes) -> dict:
    """{id, len, b64, text}: the jsonl shape of one entry (``text`` only when it is UTF-8)."""
    import base64

    obj = {"id": entry_id, "len": len(entry), "b64": base64.b64encode(entry).decode("ascii")}
    try:
        obj["text"] = entry.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return obj


def _jsonl(first: int, entries: list[bytes]) -> bytes:
    import json

    lines = [json.dumps(entry_object(i, e), ensure_ascii=False) for i, e in enumerate(entries, first)]
    lines.append("")
    return "\n".join(lines).encode("utf-8")


def _per_line(encode: Callable[[bytes], bytes]) -> Callable[[int, list[bytes]], bytes]:
    return lambda first, entries: b"\n".join(map(encode, entries)) + b"\n" if entries else b""


def _base64(first: int, entries: list[bytes]) -> bytes:
    import base64

    return _per_line(base64.b64encode)(first, entries)


RENDERERS: dict[str, Callable[[int, list[bytes]], bytes]] = {
    "line": lambda first, entries: b"\n".join(entries) + b"\n" if entries else b"",
    "raw": lambda first, entries: b"".join(entries),
    "null": lambda first, entries: b"\0".join(entries) + b"\0" if entries else b"",
    "hex": _per_line(lambda e: e.hex().encode("ascii")),
    "base64": _base64,
    "jsonl": _jsonl,
}


def renderer(fmt: str) -> Callable[[int, list[bytes]], bytes]:
    return RENDERERS[fmt]


class BatchedOutput:
    """Rendered batches to a binary stream, about 1 MiB per write (each batch at once when following).

    Big writes (one ``writev`` of several batches, no copy) into a big pipe buffer (``grow_pipe``)
    are what lets ``tail`` keep up with ``cat``; when following, each batch is flushed at once so a
    reader sees it without delay. Once a full-size write shows the output is bulk, freed buffers are
    kept for reuse (``heap.keep_freed_memory``): one-shot commands never pay for setting that up.
    """

    SIZE = 1 << 20
    MAX_PARTS = 512  # writev takes at most IOV_MAX (1024 on Linux) buffers

    def __init__(self, stream, hold: bool = True):
        from ..fdio import grow_pipe

        self.stream, self.hold = stream, hold
        self.parts: list[bytes] = []
        self.size = 0
        self.bulk = False  # set by the first full-size write
        try:
            self.fd: int | None = stream.fileno()
            grow_pipe(self.fd)
        except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer)
            self.fd = None

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if not self.hold or self.size >= self.SIZE or len(self.parts) >= self.MAX_PARTS:
            if self.hold and not self.bulk:
                from .heap import keep_freed_memory

                self.bulk = True
                keep_freed_memory()
            self.flush()

    def flush(self) -> None:
        parts = self.parts
        if parts:
            self.parts, self.size = [], 0
            if self.fd is not None and len(parts) > 1:
                from ..fdio import writev_all

                self.stream.flush()  # whatever went through the stream's own buffer comes first
                writev_all(self.fd, parts)
            else:
                self.stream.write(parts[0] if len(parts) == 1 else b"".join(parts))
        self.stream.flush()
