"""The plain (non-sharded) conformance cases written by the reference crate, and helpers to read them."""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from pathlib import Path

from ironwal_cli.spec.codec import HEADER_SIZE, FrameHeader, decode_index, unpack_header

CONFORMANCE = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance"


def load_case(name: str) -> dict:
    return json.loads((CONFORMANCE / name / "case.json").read_text())


PLAIN_CASES = sorted(p.name for p in CONFORMANCE.iterdir() if load_case(p.name)["kind"] == "plain")


def streams_of(root: Path) -> list[str]:
    """Every subdirectory of a root is a stream, in byte order of its name (the dump's order)."""
    return sorted((p.name for p in root.iterdir() if p.is_dir()), key=os.fsencode)


def expected_by_stream(name: str) -> dict[str, dict]:
    """{stream: {"entries": [(id, bytes)], "error": {"error", "next_id"} or None}} from expected.jsonl."""
    out: dict[str, dict] = {}
    for line in (CONFORMANCE / name / "expected.jsonl").read_text().splitlines():
        rec = json.loads(line)
        slot = out.setdefault(rec["stream"], {"entries": [], "error": None})
        if "error" in rec:
            slot["error"] = rec
        else:
            slot["entries"].append((rec["id"], bytes.fromhex(rec["hex"])))
    return out


def first_read_id(stream_dir: Path) -> int:
    """The dump rule: a stream whose segments.idx starts above 0 (truncated) is read from that id."""
    try:
        ids = decode_index((stream_dir / "segments.idx").read_bytes())
    except (FileNotFoundError, ValueError):
        return 0
    return ids[0] if ids and ids[0] > 0 else 0


def walk_headers(data: bytes) -> list[tuple[int, FrameHeader, bool]]:
    """(offset, header, crc_ok) of each frame, walked by disk_size alone: independent of the scanner."""
    out, pos = [], 0
    while pos + HEADER_SIZE <= len(data):
        h = unpack_header(data, pos)
        payload = data[pos + HEADER_SIZE:pos + HEADER_SIZE + h.disk_size]
        ok = len(payload) == h.disk_size and zlib.crc32(payload, zlib.crc32(data[pos + 8:pos + 25])) == h.crc
        out.append((pos, h, ok))
        pos += HEADER_SIZE + h.disk_size
    return out


def root_digests(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``root`` (the form of case.json's root_sha256)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
