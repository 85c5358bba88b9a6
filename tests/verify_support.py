"""Helpers for the verify and inspect tests: build roots with the writer, damage them, check nothing changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.verify import verify_root

CONFORMANCE = Path(__file__).resolve().parent.parent / "format" / "samples" / "conformance"


def write_stream(root: Path, name: str, batches: list[list[bytes]], **options) -> Path:
    """Append each batch with StreamWriter (async: the tests are about reading); the stream's directory."""
    with StreamWriter(root, name, WriteOptions(sync="async", **options)) as writer:
        for batch in batches:
            writer.append_batch(batch)
    return root / name


def segments(stream: Path) -> list[Path]:
    return sorted(stream.glob("*.wal"))


def frames(path: Path) -> list[Frame]:
    items = list(scan(map_file(path)))
    assert all(isinstance(i, Frame) for i in items), items
    return items


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))


def stray(path: Path, data: bytes = b"") -> None:
    """A temp file left by a replace interrupted a minute ago (younger ones may be in progress)."""
    path.write_bytes(data)
    old = time.time() - 60
    os.utime(path, (old, old))


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under ``root``: what a read-only command must leave alone."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        else:
            out[str(p.relative_to(root)) + "/"] = ("dir", 0)
    return out


def verify(root: Path, *targets, jobs: int | None = None):
    """verify_root, asserting that it changed no byte, file or directory under the root."""
    before = tree_digest(root)
    report = verify_root(root, list(targets) or None, jobs=jobs)
    assert tree_digest(root) == before, "verify changed the root"
    return report


def found(report) -> list[tuple[str, int | None, str]]:
    return [(p.path, p.offset, p.kind) for p in report.problems]


def copy_case(case: str, dest: Path) -> Path:
    """A private copy of a conformance root, safe to damage."""
    target = dest / case
    shutil.copytree(CONFORMANCE / case / "root", target)
    return target


EDITS = ("flip", "zero", "cut", "insert")


def damage_bytes(data: bytes, edits_) -> bytes:
    """``data`` after each (op, offset, blob) of ``edits_``; ops are EDITS, offsets wrap around."""
    buf = bytearray(data)
    for op, at, blob in edits_:
        at %= max(len(buf), 1)
        if op == "flip" and buf:
            buf[at] ^= blob[0] or 1
        elif op == "zero":
            end = min(at + len(blob) * 50, len(buf))
            buf[at:end] = bytes(end - at)
        elif op == "cut":
            del buf[at:]
        else:
            buf[at:at] = blob
    return bytes(buf)
