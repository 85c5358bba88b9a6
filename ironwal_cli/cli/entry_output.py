"""Writing entries to stdout in each ``--format``, a batch at a time, as bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

FORMATS = ("line", "raw", "null", "jsonl", "hex", "base64")
FORMAT_HELP = ("Output format: line (entry bytes + newline), raw (bytes only), null (bytes + NUL), "
               "jsonl ({id, len, b64, text}), hex, base64 (one entry per line).")


def entry_object(entry_id: int, entry: bytes) -> dict:
    """{id, len, b64, text}: the jsonl shape of one entry (``text`` only when it is UTF-8)."""
    obj = {"id": entry_id, "len": len(entry), "b64": base64.b64encode(entry).decode("ascii")}
    try:
        obj["text"] = entry.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return obj


def _jsonl(first: int, entries: list[bytes]) -> bytes:
    lines = [json.dumps(entry_object(i, e), ensure_ascii=False) for i, e in enumerate(entries, first)]
    lines.append("")
    return "\n".join(lines).encode("utf-8")


def _per_line(encode: Callable[[bytes], bytes]) -> Callable[[int, list[bytes]], bytes]:
    return lambda first, entries: b"\n".join(map(encode, entries)) + b"\n" if entries else b""


RENDERERS: dict[str, Callable[[int, list[bytes]], bytes]] = {
    "line": lambda first, entries: b"\n".join(entries) + b"\n" if entries else b"",
    "raw": lambda first, entries: b"".join(entries),
    "null": lambda first, entries: b"\0".join(entries) + b"\0" if entries else b"",
    "hex": _per_line(lambda e: e.hex().encode("ascii")),
    "base64": _per_line(base64.b64encode),
    "jsonl": _jsonl,
}


def renderer(fmt: str) -> Callable[[int, list[bytes]], bytes]:
    return RENDERERS[fmt]
